"""How each CI system describes a job in its OIDC token: one module per CI system."""

from ...declaration import CISystemName
from .base import Job, JobIdentity
from .circleci import CircleCIIdentity
from .github_actions import GitHubActionsIdentity

IDENTITIES: dict[CISystemName, JobIdentity] = {
    CISystemName.CIRCLECI: CircleCIIdentity(),
    CISystemName.GITHUB_ACTIONS: GitHubActionsIdentity(),
}

__all__ = ["IDENTITIES", "Job", "JobIdentity"]
