"""CircleCI: one folder holding everything CircleCI means to secure-pipelines.

``sections`` (declaration) and ``checks``; ``claims`` and ``system`` (bindings, deploy settings);
``plan`` (contexts, config-policy data); ``render`` and ``templates/`` (the pipeline config);
``policy/`` (the config-policy package); ``identity``, ``layers`` and ``context_expression`` (the
rehearsal's token, and what stops the attacks Vault admits by design).
"""

from .system import CircleCISystem

SYSTEM = CircleCISystem()

__all__ = ["SYSTEM", "CircleCISystem"]
