"""The small protocol every CI system implements; adding one is adding a module beside this one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..declaration import CISystemName, Declaration, Developer, Environment, Repository

ClaimValue = str | bool


@dataclass(frozen=True)
class BoundClaim:
    """One ``bound_claims`` entry: the token's ``claim`` must equal one of ``values``."""

    claim: str
    values: tuple[ClaimValue, ...]


@dataclass(frozen=True)
class Binding:
    """What one CI role binds, before names and policies are attached."""

    claims: tuple[BoundClaim, ...]
    claims_match: str  # "string" (exact JSON equality) or "glob"
    ref_binding: str
    """For people: which refs may log in (e.g. ``refs/heads/main`` or ``any branch``)."""
    deploy_via: str
    """For people: the CircleCI context or GitHub environment the job must run in."""


class CISystem(Protocol):
    """One CI system's identity facts: its issuer, audience and how a role binds a job."""

    name: CISystemName
    mount_path: str
    """The JWT auth mount for this issuer (one per CircleCI org / for GitHub Actions)."""
    user_claim: str
    pipeline_template: str
    """Path under ``templates/`` of the pipeline file rendered for a repository."""

    def issuer(self, declaration: Declaration) -> str: ...

    def discovery_url(self, declaration: Declaration) -> str: ...

    def audiences(self, declaration: Declaration) -> tuple[str, ...]: ...

    def binding(
        self,
        declaration: Declaration,
        repository: Repository,
        environment: Environment,
        developer: Developer | None,
    ) -> Binding: ...
