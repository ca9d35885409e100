"""GitHub Actions: one folder holding everything GitHub Actions means to secure-pipelines.

``sections`` (declaration), ``system`` (bindings, checks), ``render``, ``actions`` and ``templates/``
(the workflow), ``identity`` (the rehearsal's token). It has no contexts, no config policy and no
later layers; its deploy jobs run in GitHub deployment environments, which the plan declares.
"""

from .system import GitHubActionsSystem

SYSTEM = GitHubActionsSystem()

__all__ = ["SYSTEM", "GitHubActionsSystem"]
