"""The declaration: one typed, frozen description of the organisation.

Field-level rules (formats, ranges, unknown keys) live on the models, so pydantic reports every
structural mistake at once. Rules that relate fields to each other live in ``checks.py``.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

MAX_TOKEN_TTL_SECONDS = 3600
MAX_PRODUCTION_TOKEN_TTL_SECONDS = 900

_SAFE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_SAFE_SHORT_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


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


SafeName = Annotated[str, AfterValidator(_safe_name)]
ShortName = Annotated[str, AfterValidator(_safe_short_name)]
BranchName = Annotated[str, AfterValidator(_branch_name)]
GitHubId = Annotated[int, Field(gt=0, description="GitHub's immutable numeric id")]
OverrideReason = Annotated[str, Field(min_length=10, description="Why this risk is accepted")]


class Strict(BaseModel):
    """Base of every declaration model: unknown keys are typos, and nothing mutates after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class GitHubPlan(StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"
    ENTERPRISE = "enterprise"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    INTERNAL = "internal"


class CISystemName(StrEnum):
    CIRCLECI = "circleci"
    GITHUB_ACTIONS = "github-actions"


class ProtectionMode(StrEnum):
    PER_REPOSITORY = "per-repository"
    ORGANIZATION_RULESET = "organization-ruleset"


class RuleMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"


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


class CircleCIContext(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    id: UUID


class CircleCI(Strict):
    org_id: UUID
    """CircleCI organisation id: the issuer is ``https://oidc.circleci.com/org/<org_id>``."""
    contexts: dict[ShortName, CircleCIContext] = {}
    """Context per environment name, e.g. ``production: {name: acme-production, id: ...}``."""
    vcs_origin_format: str = "github.com/{owner}/{repository}"
    """How ``oidc.circleci.com/vcs-origin`` is written; override if your tokens show another form."""

    @field_validator("vcs_origin_format")
    @classmethod
    def _origin_has_placeholders(cls, value: str) -> str:
        if "{repository}" not in value or "*" in value or "," in value:
            raise ValueError(
                f"{value!r} must contain '{{repository}}' (and usually '{{owner}}') and no '*' or ','; "
                "e.g. github.com/{owner}/{repository}"
            )
        return value


class GitHubActions(Strict):
    audience: str | None = None
    """Audience the workflows request; defaults to ``https://github.com/<owner>``."""


class CISystems(Strict):
    circleci: CircleCI | None = None
    github_actions: GitHubActions | None = None


class AdminAuth(Strict):
    oidc_discovery_url: Annotated[str, Field(pattern=r"^https://[^\s*,]+$")]
    """The identity provider admins log in with."""
    bound_audiences: Annotated[tuple[str, ...], Field(min_length=1)]
    groups_claim: str = "groups"
    admin_group: str
    """Only members of this group receive the write-only admin policy."""
    user_claim: str = "email"
    allowed_redirect_uris: tuple[str, ...] = ("http://localhost:8250/oidc/callback",)


class Admin(Strict):
    name: ShortName
    email: str | None = None


class Admins(Strict):
    auth: AdminAuth
    members: Annotated[tuple[Admin, ...], Field(min_length=1)]


class Developer(Strict):
    name: ShortName
    circleci_user_id: UUID | None = None
    github_user_id: GitHubId | None = None


class RepositoryOverrides(Strict):
    unenforced_github_protection: OverrideReason | None = None
    """Accept that this repository's plan/visibility cannot enforce the declared protection."""


class Repository(Strict):
    name: SafeName
    github_id: GitHubId
    circleci_project_id: UUID | None = None
    circleci_pipeline_definition_id: UUID | None = None
    """Pin staging and production to this pipeline definition (the reviewed config source)."""
    ci: Annotated[tuple[CISystemName, ...], Field(min_length=1)]
    """The CI systems that build and deploy this repository."""
    default_branch: BranchName = "main"
    required_approvals: Annotated[int, Field(ge=1, le=6)] = 2
    code_owner_review: bool = True
    required_status_checks: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PRIVATE
    github_plan: GitHubPlan | None = None
    """Overrides the organisation's plan (e.g. a repository owned by a Pro user)."""
    vcs_origin: str | None = None
    """Exact ``vcs-origin`` claim value, when it differs from the organisation's format."""
    overrides: RepositoryOverrides = RepositoryOverrides()


class SecretLayout(Strict):
    mount: Annotated[str, AfterValidator(_safe_name)] | None = None
    """KV v2 mount for the environment; defaults to ``kv-<environment>``."""
    prefix: Annotated[str, AfterValidator(_safe_name)] = "apps"
    """Paths are ``<prefix>/<repository>`` (``<prefix>/<developer>/<repository>`` per developer)."""


class Reviewers(Strict):
    users: tuple[GitHubId, ...] = ()
    teams: tuple[GitHubId, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.users or self.teams)


class EnvironmentOverrides(Strict):
    long_token_ttl: OverrideReason | None = None
    """Accept token TTLs above the tier's limit (1 hour; 15 minutes for production)."""


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


class Environment(Strict):
    name: ShortName
    tier: Tier
    repositories: tuple[SafeName, ...] = ()
    """Repositories that deploy to this environment."""
    branches: tuple[BranchName, ...] | None = None
    """Branches that may deploy; staging and production: the default branch only (the default)."""
    ip_allowlist: Annotated[tuple[Cidr, ...], Field(min_length=1)]
    """Egress ranges of the runners; Vault binds tokens to them (``token_bound_cidrs``)."""
    circleci_ip_ranges: bool = False
    """Jobs run with CircleCI's published IP ranges (the allowlist holds those ranges)."""
    runner_resource_class: str | None = None
    """CircleCI self-hosted runner class for this environment's deploy jobs (egress in ``ip_allowlist``);
    production defaults to ``pipeline_policy.production_resource_class``."""
    token_ttl: Annotated[int, Field(ge=60)] = 600
    token_max_ttl: Annotated[int, Field(ge=60)] = 900
    reviewers: Reviewers = Reviewers()
    approval_hold: bool = False
    """CircleCI: a manual approval job before the deploy job."""
    per_developer: bool = False
    developers: tuple[ShortName, ...] = ()
    """Per-developer environments: one role set and path set per developer."""
    secrets: SecretLayout = SecretLayout()
    overrides: EnvironmentOverrides = EnvironmentOverrides()

    @property
    def secret_mount(self) -> str:
        return self.secrets.mount or f"kv-{self.name}"


class PolicyRules(Strict):
    """Whether each CircleCI config-policy rule hard-fails (blocks) or soft-fails (warns)."""

    prod_context_only_on_default_branch: RuleMode = RuleMode.HARD
    no_ssh_rerun_with_protected_context: RuleMode = RuleMode.HARD
    orbs_from_allowlist: RuleMode = RuleMode.HARD
    banned_orb_versions: RuleMode = RuleMode.HARD
    security_jobs_before_deploy: RuleMode = RuleMode.HARD
    contexts_reserved_to_projects: RuleMode = RuleMode.HARD
    production_runner_class: RuleMode = RuleMode.HARD
    images_from_approved_registries: RuleMode = RuleMode.HARD
    code_freeze: RuleMode = RuleMode.HARD


class PipelinePolicy(Strict):
    approved_orbs: tuple[str, ...] = ()
    """Orbs by ``namespace/name`` that configs may use."""
    banned_orb_versions: tuple[str, ...] = ()
    """Exact ``namespace/name@version`` references that are refused."""
    approved_registries: tuple[str, ...] = ("cimg/",)
    """Image name prefixes jobs may use, e.g. ``cimg/`` or ``ghcr.io/acme/``."""
    production_resource_class: str | None = None
    """Self-hosted runner class (known egress addresses) production deploys must use."""
    required_security_jobs: tuple[str, ...] = ("security-scan",)
    code_freeze: tuple[SafeName, ...] = ()
    """Repositories that may not deploy to production, even from the default branch."""
    rules: PolicyRules = PolicyRules()

    @field_validator("approved_orbs")
    @classmethod
    def _orb_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for orb in value:
            if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", orb):
                raise ValueError(f"{orb!r} is not an orb name; write namespace/name without a version")
        return value

    @field_validator("banned_orb_versions")
    @classmethod
    def _orb_versions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for orb in value:
            if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+@[A-Za-z0-9.:-]+", orb):
                raise ValueError(f"{orb!r} is not an orb version; write namespace/name@version")
        return value


class Declaration(Strict):
    """Everything secure-pipelines needs to know about one organisation."""

    version: Literal[1] = 1
    organization: Organization
    ci: CISystems
    admins: Admins
    developers: tuple[Developer, ...] = ()
    repositories: Annotated[tuple[Repository, ...], Field(min_length=1)]
    environments: Annotated[tuple[Environment, ...], Field(min_length=1)]
    pipeline_policy: PipelinePolicy = PipelinePolicy()

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

    def deploy_branches(self, environment: Environment, repository: Repository) -> tuple[str, ...]:
        """Branches of ``repository`` that may deploy to ``environment`` (``('*',)`` means any)."""
        return environment.branches or (repository.default_branch,)
