"""What a CI job is, in terms every CI system shares, and the protocol that turns it into claims."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from ...declaration import CISystemName, Declaration, Developer, Repository
from ...plan import Plan

Event = Literal["push", "tag", "pull_request"]


@dataclass(frozen=True)
class Job:
    """One CI job asking Vault for secrets: who runs it, from where, on which ref, with what."""

    ci: CISystemName
    repository: Repository
    environment: str
    """The environment the job deploys to (the role it logs in with)."""
    ref: str
    """The git ref, e.g. ``refs/heads/main``."""
    developer: Developer | None
    """The person whose push or rerun started the job."""
    event: Event = "push"
    deploys_via: str | None = None
    """The environment whose CircleCI context / GitHub environment the job runs in (None: none)."""
    ssh_rerun: bool = False
    from_fork: bool = False
    organization_suffix: str | None = None
    """Set when the job runs in another organisation (ids derived from it)."""
    foreign_pipeline_definition: bool = False
    """Started by another pipeline definition of the same project (another config source)."""

    def but(self, **changes: Any) -> Job:
        return replace(self, **changes)

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


class JobIdentity(Protocol):
    """How one CI system describes a job in its OIDC token (one module per CI system)."""

    ci: CISystemName
    has_ssh_rerun: bool
    """Whether the CI system can rerun a job with a shell (and says so in the token)."""
    has_pipeline_definitions: bool
    """Whether one project can have several pipeline definitions (config sources) the token names."""

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        """The claims the CI system would put in this job's token, issued at ``now``."""
        ...

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        """Whether a job of this CI system can run in ``environment``'s context or environment."""
        ...


def fake_uuid(*parts: str) -> str:
    """A stable UUID-shaped id for something the declaration does not name (another org, a fork)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "securepipe-rehearsal:" + "/".join(parts)))


def fake_numeric_id(*parts: str) -> int:
    """A stable GitHub-style numeric id for something the declaration does not name."""
    return 900_000_000 + int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16) % 99_999_999

