"""The declaration's core sections: one typed, frozen description of the organisation.

Field-level rules (formats, ranges, unknown keys) live on the models, so pydantic reports every
structural mistake at once. Rules that relate fields to each other live in ``checks.py``.

Settings of one CI system sit under a ``ci:`` mapping at each level (organisation, repository,
environment, developer), keyed by the system's declaration key. The core holds those mappings as
:class:`Sections`; the loader validates each present section with the owning system's model and
puts the validated objects in their place, which only that system reads.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from .. import naming

GITHUB_HOST = "github"
"""The VCS host the core protects (branch protection, rulesets, deployment environments); a CI
system names the host its repositories live on (``CISystem.vcs_host``)."""

_SAFE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_SAFE_SHORT_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
JOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
"""A job name every supported CI system accepts, and safe as a ``make`` target."""


def _safe_name(value: str) -> str:
    if not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{value!r} is not a safe name for Vault paths and policy names; use lowercase letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit (Vault lowercases "
            "policy names, and '/', '*', ',' or '..' would let one name reach another's paths)"
        )
    return value


def _safe_short_name(value: str) -> str:
    if not _SAFE_SHORT_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a safe name; use 1-32 lowercase letters, digits or '-', "
            "starting with a letter (it becomes part of Vault mount, role and policy names)"
        )
    return value


def _branch_name(value: str) -> str:
    if value == "*":
        return value
    if "*" in value or "?" in value or "[" in value:
        raise ValueError(
            f"{value!r} is a glob; list exact branch names (a Vault glob '*' also spans '/' "
            "and admits look-alike branches), or use '*' alone on a development environment"
        )
    if not _BRANCH.fullmatch(value) or value.startswith(("/", "refs/")) or value.endswith("/") or ".." in value:
        raise ValueError(f"{value!r} is not a branch name; write it as it appears after refs/heads/, e.g. main")
    return value


def _job_name(value: str) -> str:
    if not JOB_NAME.fullmatch(value):
        raise ValueError(f"{value!r} cannot name a CI job; use letters, digits, '-' or '_', starting with a letter "
                         "(it is the job name and its make target)")
    return value


def _some_ci_system(sections: Sections) -> Sections:
    if not sections:
        raise ValueError("names no CI system; key each CI system that builds this repository, with its settings")
    return sections


SafeName = Annotated[str, AfterValidator(_safe_name)]
ShortName = Annotated[str, AfterValidator(_safe_short_name)]
BranchName = Annotated[str, AfterValidator(_branch_name)]
JobName = Annotated[str, AfterValidator(_job_name)]
GitHubId = Annotated[int, Field(gt=0, description="GitHub's immutable numeric id")]
OverrideReason = Annotated[str, Field(min_length=10, description="Why this risk is accepted")]


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        detail = str(error)
        if "host bits set" in detail:
            fixed = ipaddress.ip_network(value, strict=False)
            raise ValueError(f"{value!r} has host bits set; write the network, e.g. {fixed}") from None
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/48") from None


Cidr = Annotated[str, AfterValidator(_network)]


class Strict(BaseModel):
    """Base of every declaration model: unknown keys are typos, and nothing mutates after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sections(Mapping[str, object]):
    """One ``ci:`` mapping: the sections of the CI systems declared at one level, by declaration key.

    Immutable; before loading completes the values are raw data, afterwards each is the validated
    section object of its system (read through that system's typed accessors).
    """

    __slots__ = ("_sections",)

    def __init__(self, sections: Mapping[str, object] | None = None) -> None:
        self._sections: dict[str, object] = dict(sections or {})

    def __getitem__(self, key: str) -> object:
        return self._sections[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def __hash__(self) -> int:
        return hash(tuple(self._sections.items()))

    def __repr__(self) -> str:
        return f"Sections({self._sections!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema()),
            serialization=core_schema.plain_serializer_function_ser_schema(dict),
        )


class Tier(StrEnum):
    """How close an environment is to production, lowest first: each tier's limits are stricter than the
    one below (``TIER_LIMITS``)."""

    DEVELOPMENT = "development"
    TEST = "test"
    """Test, QA and demo environments: shared by the team, fed from reviewed branches, no production data."""
    STAGING = "staging"
    PRODUCTION = "production"


PROTECTED_TIERS = (Tier.STAGING, Tier.PRODUCTION)
"""Tiers that deploy from the default branch only, from closed allowlists."""
REVIEWED_TIERS = (Tier.TEST, Tier.STAGING, Tier.PRODUCTION)
"""Tiers that deploy only from branches named in the declaration (never any branch), so every role binds
the ref and the reviewed pipeline that runs on it (the pinned pipeline definition, workflow or CI config)."""


@dataclass(frozen=True)
class TierLimits:
    """What an environment of one tier may be, and why: the validation messages quote it."""

    max_token_ttl: int
    """The longest token TTL (and maximum TTL) without ``overrides.long_token_ttl``, in seconds."""
    branches: str
    """Which branches may deploy, for people."""
    open_allowlist: Literal["warned", "refused"]
    """What an allowlist admitting every address (``0.0.0.0/0``, ``::/0``) gets."""


TIER_LIMITS: Mapping[Tier, TierLimits] = {
    Tier.DEVELOPMENT: TierLimits(3600, "any branch ('*') or declared exact branch names", "warned"),
    Tier.TEST: TierLimits(1800, "the default branch, or declared exact branch names (never a glob or '*')",
                          "warned"),
    Tier.STAGING: TierLimits(1200, "the default branch only", "refused"),
    Tier.PRODUCTION: TierLimits(900, "the default branch only", "refused"),
}
"""Each tier's limits; they tighten from development to production."""


class GitHubPlan(StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"
    ENTERPRISE = "enterprise"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    INTERNAL = "internal"


class ProtectionMode(StrEnum):
    PER_REPOSITORY = "per-repository"
    ORGANIZATION_RULESET = "organization-ruleset"


class GitHubOrganization(Strict):
    owner: Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")]
    """GitHub organisation (or user) login."""
    owner_id: GitHubId
    """The owner's immutable id (``repository_owner_id`` in GitHub's OIDC token)."""
    plan: GitHubPlan
    """The GitHub plan, which decides what protection GitHub can enforce."""
    protection: ProtectionMode = ProtectionMode.PER_REPOSITORY
    """Protect default branches per repository, or with one organisation ruleset."""
    ruleset_bypass_team_ids: tuple[GitHubId, ...] = ()
    """Teams allowed to bypass the organisation ruleset (none unless you must)."""


class Organization(Strict):
    name: ShortName
    github: GitHubOrganization
    resources_stack: ShortName | None = None
    """The one stack that owns organisation-wide resources; defaults to the production environment."""


class AdminAuth(Strict):
    oidc_discovery_url: Annotated[str, Field(pattern=r"^https://[^\s*,]+$")]
    """The identity provider admins log in with."""
    bound_audiences: Annotated[tuple[str, ...], Field(min_length=1)]
    groups_claim: str = "groups"
    admin_group: str | None = None
    """Refused: one group for every environment made a dev admin a production admin (use ``admins.groups``)."""
    user_claim: str = "email"
    allowed_redirect_uris: tuple[str, ...] = ("http://localhost:8250/oidc/callback",)


class Admin(Strict):
    name: ShortName
    email: str | None = None


def _group_pairs(value: Any) -> Any:
    """``{environment: group}`` as ``((environment, group), ...)``: the declaration stays hashable."""
    return tuple(value.items()) if isinstance(value, Mapping) else value


class Admins(Strict):
    auth: AdminAuth
    groups: Annotated[tuple[tuple[ShortName, str], ...], BeforeValidator(_group_pairs)] = ()
    """``{environment: group}``: members of an environment's group may write (never read) its secrets."""
    ip_allowlist: tuple[Cidr, ...] = ()
    """Where admins log in from (office or VPN egress); admin tokens are bound to it. Required, and never
    ``0.0.0.0/0`` or ``::/0``, when any environment is production."""
    members: Annotated[tuple[Admin, ...], Field(min_length=1)]

    def group_of(self, environment: str) -> str | None:
        """The group whose members administer ``environment``'s secrets, if declared."""
        return next((group for name, group in self.groups if name == environment), None)


class Developer(Strict):
    name: ShortName
    ci: Sections = Sections()
    """The developer's identity in each CI system (e.g. a user id), by the system's declaration key."""


class RepositoryOverrides(Strict):
    unenforced_github_protection: OverrideReason | None = None
    """Accept that this repository's plan/visibility cannot enforce the declared protection."""
    self_hosted_runners_on_public_repository: OverrideReason | None = None
    """Accept that this public repository deploys through self-hosted runners, which anyone's pull
    request could reach (GitHub advises against it)."""


class Repository(Strict):
    name: SafeName
    github_id: GitHubId | None = None
    """The repository's immutable GitHub id: required when it is hosted on GitHub (its CI systems say)."""
    ci: Annotated[Sections, AfterValidator(_some_ci_system)]
    """The CI systems that build and deploy this repository (the keys) and its settings in each."""
    default_branch: BranchName = "main"
    required_approvals: Annotated[int, Field(ge=1, le=6)] = 2
    code_owner_review: bool = True
    required_status_checks: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PRIVATE
    github_plan: GitHubPlan | None = None
    """Overrides the organisation's plan (e.g. a repository owned by a Pro user)."""
    overrides: RepositoryOverrides = RepositoryOverrides()


class SecretLayout(Strict):
    mount: Annotated[str, AfterValidator(_safe_name)] | None = None
    """KV v2 mount for the environment; defaults to ``kv-<environment>``."""
    prefix: Annotated[str, AfterValidator(_safe_name)] = "apps"
    """Paths are ``<prefix>/<repository>`` (``<prefix>/<developer>/<repository>`` per developer)."""


PROMOTIONS_PREFIX = "promotions"
"""Where an environment others promote from records the image digests it deployed:
``promotions/<repository>/<digest hex>`` in its mount (only its CI roles write there; admins are denied)."""
SHARED_PREFIX = "shared"
"""Shared secrets live at ``shared/<name>`` in the environment's mount, apart from every repository's own."""


class SharedSecret(Strict):
    """A secret several repositories of one environment read (a database every service uses, say), kept once
    at ``shared/<name>`` in the environment's mount instead of copied into each repository's path."""

    name: SafeName
    repositories: Annotated[tuple[SafeName, ...], Field(min_length=1)]
    """The repositories whose CI roles read it; each must deploy to the environment. No other role can."""

    @property
    def path(self) -> str:
        """Relative to the mount, e.g. ``shared/postgres``."""
        return f"{SHARED_PREFIX}/{self.name}"


class Reviewers(Strict):
    users: tuple[GitHubId, ...] = ()
    teams: tuple[GitHubId, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.users or self.teams)


class EnvironmentOverrides(Strict):
    long_token_ttl: OverrideReason | None = None
    """Accept token TTLs above the tier's limit (``TIER_LIMITS``: one hour for development, 30 minutes for
    test, 20 for staging, 15 for production)."""


class Environment(Strict):
    name: ShortName
    tier: Tier
    repositories: tuple[SafeName, ...] = ()
    """Repositories that deploy to this environment."""
    branches: tuple[BranchName, ...] | None = None
    """Branches that may deploy (default: the default branch). Development: any (``'*'``) or exact names;
    test: exact names; staging and production: the default branch only."""
    ip_allowlist: Annotated[tuple[Cidr, ...], Field(min_length=1)]
    """Egress ranges of the runners; Vault binds tokens to them (``token_bound_cidrs``)."""
    token_ttl: Annotated[int, Field(ge=60)] = 600
    token_max_ttl: Annotated[int, Field(ge=60)] = 900
    reviewers: Reviewers = Reviewers()
    """Required reviewers of the GitHub deployment environments of this environment."""
    per_developer: bool = False
    developers: tuple[ShortName, ...] = ()
    """Per-developer environments: one role set and path set per developer."""
    secrets: SecretLayout = SecretLayout()
    promote_from: ShortName | None = None
    """The environment (of a lower or equal tier) an image must have been deployed to before it deploys here:
    the deploy step refuses a digest that environment did not record."""
    shared_secrets: tuple[SharedSecret, ...] = ()
    """Secrets several of its repositories read, each at ``shared/<name>`` (admins write them, as every secret)."""
    overrides: EnvironmentOverrides = EnvironmentOverrides()
    ci: Sections = Sections()
    """Settings of each CI system for this environment (e.g. the context or runner its jobs use)."""

    @property
    def secret_mount(self) -> str:
        return self.secrets.mount or naming.secret_mount(self.name)


class PipelinePolicy(Strict):
    """What every pipeline must respect, whichever CI system runs it."""

    approved_registries: tuple[str, ...] = ("cimg/",)
    """Image name prefixes jobs may use, e.g. ``cimg/`` or ``ghcr.io/acme/``."""
    required_security_jobs: tuple[JobName, ...] = ("security-scan",)
    code_freeze: tuple[SafeName, ...] = ()
    """Repositories that may not deploy to production, even from the default branch."""


class Infrastructure(Strict):
    """The repository that holds the stacks and deploys them: its own pipeline applies each stack through a
    JWT role holding only that stack's deployer policy."""

    repository: SafeName
    """A declared repository that deploys no application (its pipeline file is the infrastructure pipeline)."""
    ci: str
    """The key of the CI system (one the repository builds on) that runs the infrastructure pipeline."""
    ip_allowlist: Annotated[tuple[Cidr, ...], Field(min_length=1)]
    """Egress ranges of the runners that apply the stacks; never an open range (it holds every deployer)."""
    token_ttl: Annotated[int, Field(ge=60, le=TIER_LIMITS[Tier.PRODUCTION].max_token_ttl)] = 600
    token_max_ttl: Annotated[int, Field(ge=60, le=TIER_LIMITS[Tier.PRODUCTION].max_token_ttl)] = 900
    """A deployer token lives no longer than a production token (the provider's child token included)."""


class Declaration(Strict):
    """Everything secure-pipelines needs to know about one organisation."""

    version: Literal[2]
    """The format of this declaration (version 1 files are refused with the moves to make)."""
    organization: Organization
    ci: Sections = Sections()
    """Organisation-wide settings of each CI system, by the system's declaration key."""
    admins: Admins
    developers: tuple[Developer, ...] = ()
    repositories: Annotated[tuple[Repository, ...], Field(min_length=1)]
    environments: Annotated[tuple[Environment, ...], Field(min_length=1)]
    pipeline_policy: PipelinePolicy = PipelinePolicy()
    infrastructure: Infrastructure | None = None
    """The repository that deploys the stacks themselves, if it runs in CI (after bootstrap it should)."""

    def repository(self, name: str) -> Repository:
        return next(r for r in self.repositories if r.name == name)

    def environment(self, name: str) -> Environment:
        return next(e for e in self.environments if e.name == name)

    def developer(self, name: str) -> Developer:
        return next(d for d in self.developers if d.name == name)

    @property
    def resources_stack(self) -> str:
        """The stack that owns organisation-wide resources."""
        if self.organization.resources_stack:
            return self.organization.resources_stack
        production = [e.name for e in self.environments if e.tier is Tier.PRODUCTION]
        return production[0] if production else self.environments[0].name

    def promotion_sources(self) -> set[str]:
        """Environments another environment promotes from (their deploys record what they deployed)."""
        return {e.promote_from for e in self.environments if e.promote_from}

    def deploy_branches(self, environment: Environment, repository: Repository) -> tuple[str, ...]:
        """Branches of ``repository`` that may deploy to ``environment`` (``('*',)`` means any)."""
        return environment.branches or (repository.default_branch,)
