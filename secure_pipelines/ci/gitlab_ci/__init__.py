"""GitLab CI: one folder holding everything GitLab CI means to secure-pipelines.

``sections`` (declaration) and ``checks``; ``claims`` and ``system`` (bindings, deploy settings);
``plan`` (the instance, projects, environments); ``render`` and ``templates/`` (``.gitlab-ci.yml``);
``identity`` and ``attacks`` (the rehearsal's ID token and GitLab's own attack matrix). It has no
contexts, no config policy and no later layers; its repositories live on GitLab, so GitHub's
protection does not apply to them (GitLab's own is set by hand: see the README).
"""

from .system import GitLabCISystem

SYSTEM = GitLabCISystem()

__all__ = ["SYSTEM", "GitLabCISystem"]
