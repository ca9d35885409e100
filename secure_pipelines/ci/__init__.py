"""CI systems, one module each, behind the :class:`CISystem` protocol."""

from ..declaration import CISystemName
from .base import Binding, BoundClaim, CISystem, ClaimValue
from .circleci import CircleCISystem
from .github_actions import GitHubActionsSystem

CI_SYSTEMS: dict[CISystemName, CISystem] = {
    CISystemName.CIRCLECI: CircleCISystem(),
    CISystemName.GITHUB_ACTIONS: GitHubActionsSystem(),
}

__all__ = ["CI_SYSTEMS", "Binding", "BoundClaim", "CISystem", "CircleCISystem", "ClaimValue", "GitHubActionsSystem"]
