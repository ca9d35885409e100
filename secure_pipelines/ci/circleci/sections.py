"""CircleCI's declaration sections (``ci.circleci`` at each level) and typed accessors to them.

The loader validates each present section with these models and stores the objects in the
declaration; only CircleCI's own modules read them, through the accessors below.
"""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from pydantic import Field, field_validator

from ...declaration.model import Declaration, Developer, Environment, OverrideReason, Repository, Strict
from .policy.model import ConfigPolicySettings

KEY = "circleci"


class CircleCIOrganization(Strict):
    """``ci.circleci``: the CircleCI organisation and its config policies."""

    org_id: UUID = Field(description="the CircleCI organisation id (Organization Settings > Overview)")
    """CircleCI organisation id: the issuer is ``https://oidc.circleci.com/org/<org_id>``."""
    vcs_origin_format: str = "github.com/{owner}/{repository}"
    """How ``oidc.circleci.com/vcs-origin`` is written; override if your tokens show another form."""
    config_policy: ConfigPolicySettings = ConfigPolicySettings()

    @field_validator("vcs_origin_format")
    @classmethod
    def _origin_has_placeholders(cls, value: str) -> str:
        if "{repository}" not in value or "*" in value or "," in value:
            raise ValueError(
                f"{value!r} must contain '{{repository}}' (and usually '{{owner}}') and no '*' or ','; "
                "e.g. github.com/{owner}/{repository}"
            )
        return value


class CircleCIRepositoryOverrides(Strict):
    """Risks a repository accepts on CircleCI, each with the reason."""

    unpinned_pipeline_definition: OverrideReason | None = None
    """Accept staging and production roles that do not pin the pipeline definition."""


class CircleCIRepository(Strict):
    """``repositories[].ci.circleci``: the project that builds the repository."""

    project_id: UUID = Field(description="for CircleCI: roles bind the immutable project id "
                                         "(Project Settings > Overview)")
    pipeline_definition_id: UUID | None = None
    """Pin staging and production to this pipeline definition (the reviewed config source); required
    where the repository deploys to staging or production, unless ``overrides`` accepts the risk."""
    vcs_origin: str | None = None
    """Exact ``vcs-origin`` claim value, when it differs from the organisation's format."""
    overrides: CircleCIRepositoryOverrides = CircleCIRepositoryOverrides()


class CircleCIContext(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    id: UUID
    security_group: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,99}$")] | None = None
    """The security group (GitHub team, as CircleCI shows it) allowed to run jobs with this context: the
    user who starts the job, or who approves its hold, must be a member, else CircleCI refuses the job as
    ``Unauthorized``. Required for staging and production; set by hand in CircleCI (no provider here)."""


class CircleCIEnvironmentOverrides(Strict):
    no_security_group: OverrideReason | None = None
    """Accept a staging or production context no security group restricts (CircleCI offers security
    groups to GitHub OAuth organisations only)."""


class CircleCIEnvironment(Strict):
    """``environments[].ci.circleci``: the context, runners and approval of this environment's deploys."""

    context: CircleCIContext | None = None
    """The context deploy jobs run in (Organization Settings > Contexts): its name and id."""
    runner_resource_class: str | None = None
    """Self-hosted runner class for this environment's deploy jobs (egress in ``ip_allowlist``)."""
    ip_ranges: bool = False
    """Deploy jobs run with CircleCI's published IP ranges (the allowlist holds those ranges)."""
    approval_hold: bool = False
    """A manual approval job before the deploy job."""
    overrides: CircleCIEnvironmentOverrides = CircleCIEnvironmentOverrides()


class CircleCIDeveloper(Strict):
    """``developers[].ci.circleci``: the developer's CircleCI user."""

    user_id: UUID = Field(description="the developer's CircleCI user id (User Settings > Account)")


def organization(declaration: Declaration) -> CircleCIOrganization:
    """``ci.circleci`` (validation guarantees it where a repository builds on CircleCI)."""
    return cast(CircleCIOrganization, declaration.ci[KEY])


def repository(repo: Repository) -> CircleCIRepository | None:
    return cast(CircleCIRepository | None, repo.ci.get(KEY))


def environment(env: Environment) -> CircleCIEnvironment:
    return cast(CircleCIEnvironment, env.ci.get(KEY)) or CircleCIEnvironment()


def developer(dev: Developer) -> CircleCIDeveloper | None:
    return cast(CircleCIDeveloper | None, dev.ci.get(KEY))


def builds_on_circleci(repo: Repository) -> bool:
    return KEY in repo.ci


def project_id(repo: Repository) -> str:
    """The project id of a repository that builds on CircleCI."""
    section = repository(repo)
    assert section is not None, "checked by validation"
    return str(section.project_id)
