"""The plan's data: every name, claim, path, policy and rule that any output needs, computed once.

Frozen dataclasses, built by :func:`secure_pipelines.plan.assembly.build_plan` from a validated
declaration. Every output (Pulumi components, rendered files, explain, rehearse) reads these and
never re-derives a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..declaration.model import Tier, Visibility
from ..errors import Problem

TokenType = Literal["service", "batch"]
ClaimsMatch = Literal["string", "glob"]
ClaimValue = str | bool


@dataclass(frozen=True)
class BoundClaim:
    """One ``bound_claims`` entry: the token's ``claim`` must equal one of ``values``."""

    claim: str
    values: tuple[ClaimValue, ...]


@dataclass(frozen=True)
class JwtMount:
    """One JWT auth mount per CI issuer (organisation-wide)."""

    ci: str
    """The CI system's name."""
    path: str
    issuer: str
    oidc_discovery_url: str
    description: str

    @property
    def resource_name(self) -> str:
        return f"jwt-{self.path}"


@dataclass(frozen=True)
class SecretPath:
    """One KV v2 secret path a CI role may read: a repository's own, or a shared one."""

    environment: str
    repository: str | None
    """The one repository that reads it; ``None`` for a shared secret."""
    developer: str | None
    mount: str
    path: str
    """Relative to the mount, e.g. ``apps/webapp`` or ``shared/postgres``."""
    shared: str | None = None
    """The shared secret's name (``environments[].shared_secrets``), else ``None``."""
    readers: tuple[str, ...] = ()
    """A shared secret's repositories (a repository's own path: that repository alone)."""

    @property
    def data_path(self) -> str:
        """The API path of the secret's data (KV v2 puts ``data/`` after the mount)."""
        return f"{self.mount}/data/{self.path}"

    @property
    def file_name(self) -> str:
        """Where a deploy step puts it in its secrets directory: ``<repository>.json``, or
        ``shared/<name>.json`` (a directory no repository name can reach)."""
        return f"shared/{self.shared}.json" if self.shared else f"{self.path.rsplit('/', 1)[-1]}.json"


@dataclass(frozen=True)
class PromotionRecords:
    """Where deploys of one repository to one environment record each image digest they deployed, one
    create-only record per digest (``<prefix>/<digest hex>``), for the environment that promotes from it."""

    environment: str
    """The environment whose deploys record (the one promoted from)."""
    repository: str
    mount: str
    prefix: str
    """Relative to the mount, e.g. ``promotions/webapp``."""

    @property
    def data_prefix(self) -> str:
        """The API path records sit under, e.g. ``kv-staging/data/promotions/webapp``."""
        return f"{self.mount}/data/{self.prefix}"

    @property
    def data_glob(self) -> str:
        """Every record's API path: what policies grant and explain shows."""
        return f"{self.data_prefix}/*"


@dataclass(frozen=True)
class VaultPolicy:
    """One ACL policy: its Vault name (``naming``), what it is for and its HCL."""

    name: str
    environment: str
    purpose: Literal["ci-read", "admin-write", "deployer"]
    hcl: str
    previous_name: str | None = None
    """Its name before the naming convention, if it had one (its old Pulumi resource name: an alias)."""

    @property
    def resource_name(self) -> str:
        return self.name

    @property
    def previous_resource_names(self) -> tuple[str, ...]:
        return (self.previous_name,) if self.previous_name else ()


ParameterValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    """One ``path`` stanza of a deployer policy."""

    path: str
    capabilities: tuple[str, ...]
    purpose: str
    """Why the stack needs it, for people (``explain``, the rendered policy's comments)."""
    allowed: tuple[tuple[str, tuple[ParameterValue, ...]], ...] = ()
    """``allowed_parameters``: each parameter with the only values it may take (empty: any value)."""
    other_parameters: bool = True
    """Parameters not in ``allowed`` may be sent (``"*" = []``); only meaningful with ``allowed``."""
    denied: tuple[str, ...] = ()
    """``denied_parameters``: parameters a request may not carry at all."""

    @property
    def pinned(self) -> bool:
        """A parameter of this stanza is pinned to planned values."""
        return any(values for _, values in self.allowed)


@dataclass(frozen=True)
class Deployer:
    """What one stack's ``pulumi up`` may do in Vault."""

    stack: str
    tier: Tier
    organization_wide: bool
    """The resources stack: it also manages the auth mounts and every deployer's policy."""
    grants: tuple[Grant, ...]
    policy: VaultPolicy

    @property
    def name(self) -> str:
        return self.policy.name


@dataclass(frozen=True)
class CIRole:
    """One JWT role: a (repository, environment, CI system[, developer]) and exactly what it binds."""

    ci: str
    """The CI system's name."""
    mount_path: str
    role_name: str
    repository: str
    environment: str
    tier: Tier
    developer: str | None
    issuer: str
    bound_audiences: tuple[str, ...]
    bound_claims: tuple[BoundClaim, ...]
    claims_match: ClaimsMatch
    user_claim: str
    token_policies: tuple[str, ...]
    token_bound_cidrs: tuple[str, ...]
    token_ttl: int
    token_max_ttl: int
    token_type: TokenType
    secret_paths: tuple[SecretPath, ...]
    ref_binding: str
    deploy_via: str
    previous_role_names: tuple[str, ...] = ()
    """Its names before renames (the naming convention; per developer, the name before roles were named by
    user id): they give its old Pulumi resource names, aliases."""
    user_id: str | None = None
    """Per developer: the developer's immutable user id on the CI system, which names the role."""
    developer_jobs: str | None = None
    """For people, per developer: which jobs log in as the developer (``Binding.developer_jobs``)."""
    records: PromotionRecords | None = None
    """Where its deploys record the digest they deployed (another environment promotes from this one)."""
    promoted_from: PromotionRecords | None = None
    """The records a digest must be in before its deploys may ship it (``promote_from``)."""

    @property
    def resource_name(self) -> str:
        return f"{self.ci}-{self.role_name}"

    @property
    def previous_resource_names(self) -> tuple[str, ...]:
        return tuple(f"{self.ci}-{name}" for name in self.previous_role_names)

    @property
    def role_type(self) -> Literal["jwt"]:
        return "jwt"

    @property
    def claims(self) -> dict[str, tuple[ClaimValue, ...]]:
        return {claim.claim: claim.values for claim in self.bound_claims}

    @property
    def has_typed_claims(self) -> bool:
        """True when a bound value is not a string (the provider's Mapping[str, str] cannot say it)."""
        return any(not isinstance(v, str) for claim in self.bound_claims for v in claim.values)


@dataclass(frozen=True)
class AdminRole:
    """The role admins log in with for one environment: write-only policy, admin group only."""

    mount_path: str
    role_name: str
    environment: str
    bound_audiences: tuple[str, ...]
    groups_claim: str
    admin_group: str
    """The identity provider group of this environment's admins (``admins.groups``)."""
    user_claim: str
    allowed_redirect_uris: tuple[str, ...]
    token_policies: tuple[str, ...]
    token_bound_cidrs: tuple[str, ...]
    """Where admins log in from (``admins.ip_allowlist``); empty: anywhere."""
    token_ttl: int
    token_max_ttl: int

    @property
    def resource_name(self) -> str:
        return f"admin-{self.environment}"


@dataclass(frozen=True)
class AdminAuthMount:
    path: str
    oidc_discovery_url: str
    default_role: str | None
    description: str

    @property
    def resource_name(self) -> str:
        return f"oidc-{self.path}"


@dataclass(frozen=True)
class SecretStore:
    """An environment's KV v2 mount and the paths seeded in it."""

    environment: str
    mount: str
    paths: tuple[SecretPath, ...]
    description: str

    @property
    def resource_name(self) -> str:
        return f"kv-{self.environment}"


@dataclass(frozen=True)
class BranchProtection:
    """Default-branch protection for one repository (classic branch protection)."""

    repository: str
    repository_id: int
    branch: str
    required_approvals: int
    require_code_owner_reviews: bool
    require_last_push_approval: bool
    dismiss_stale_reviews: bool
    required_status_checks: tuple[str, ...]
    require_conversation_resolution: bool
    enforce_admins: bool
    allows_force_pushes: bool
    allows_deletions: bool
    enforceable: bool
    unenforced_reason: str | None

    @property
    def resource_name(self) -> str:
        return f"protect-{self.repository}"


@dataclass(frozen=True)
class OrganizationRuleset:
    """One organisation ruleset protecting every repository's default branch."""

    name: str
    repository_ids: tuple[int, ...]
    branches: tuple[str, ...]
    """The refs it protects: GitHub's default branch of each repository, and each declared default branch by
    name, which the Vault roles bind (so a declaration that names another branch than GitHub's default
    does not leave the branch the roles trust unprotected)."""
    required_approvals: int
    require_code_owner_reviews: bool
    required_status_checks: tuple[str, ...]
    bypass_team_ids: tuple[int, ...]
    require_last_push_approval: bool
    dismiss_stale_reviews: bool
    require_conversation_resolution: bool

    @property
    def resource_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class GitHubEnvironment:
    """A GitHub deployment environment, for a repository whose CI system deploys through them."""

    repository: str
    repository_id: int
    environment: str
    tier: Tier
    reviewer_users: tuple[int, ...]
    reviewer_teams: tuple[int, ...]
    reviewers_enforceable: bool
    available: bool
    """GitHub offers deployment environments for this repository's plan and visibility."""
    prevent_self_review: bool
    can_admins_bypass: bool
    deployment_branches: tuple[str, ...] | None
    """Branches that may deploy (a custom branch policy); ``None`` means any branch."""

    @property
    def resource_name(self) -> str:
        return f"{self.repository}-{self.environment}"


@dataclass(frozen=True)
class DeveloperLookup:
    """How a per-developer deploy job finds its role and secrets from its own token, naming no developer.

    The job reads its CI user id from its token and logs in as ``role_prefix + <user id>`` (a role that
    is missing means the pusher has no environment there). Vault's login answer lists the role's read
    policy, ``policy_prefix + <developer>``, which gives the developer's own secret path,
    ``secret_prefix + <developer> + secret_suffix``. Adding or removing a developer changes none of this.
    """

    environment: str
    role_prefix: str
    policy_prefix: str
    secret_prefix: str
    """The API path of a developer's own secret, before the developer's name (e.g. ``kv-dev/data/apps/``)."""
    secret_suffix: str
    """... and after it (e.g. ``/webapp``)."""
    secret_file: str
    """Where the deploy step puts the developer's own secret in its secrets directory."""
    shared: tuple[tuple[str, str], ...]
    """``(API path, file)`` of each shared secret the repository reads there (the same for every developer)."""

    def secret(self, developer: str) -> str:
        """The API path of ``developer``'s own secret."""
        return f"{self.secret_prefix}{developer}{self.secret_suffix}"


@dataclass(frozen=True)
class Deployment:
    """One repository deploying to one environment with one CI system."""

    repository: str
    environment: str
    tier: Tier
    ci: str
    """The CI system's name."""
    branches: tuple[str, ...]
    roles: tuple[CIRole, ...]
    """One role, or one per developer in a per-developer environment. A frozen deployment's role is what it
    would log in with: it is in no ``EnvironmentPlan.roles`` and never written to Vault."""
    deploy_via: str | None
    """The name of what the deploy job runs in (a context, a deployment environment), if anything."""
    runner: str | None
    """The self-hosted runner (class) the deploy job runs on (``None``: the CI system's own machines)."""
    frozen: bool
    """The repository is under a code freeze and this is a production deploy: its role is not in Vault."""
    developer_lookup: DeveloperLookup | None = None
    """Per developer: how the deploy job finds its role and secrets from its own token."""


@dataclass(frozen=True)
class EnvironmentPlan:
    name: str
    tier: Tier
    per_developer: bool
    ip_allowlist: tuple[str, ...]
    secret_store: SecretStore
    policies: tuple[VaultPolicy, ...]
    roles: tuple[CIRole, ...]
    admin_role: AdminRole
    github_environments: tuple[GitHubEnvironment, ...]
    deployments: tuple[Deployment, ...]

    @property
    def live_deployments(self) -> tuple[Deployment, ...]:
        """The deployments whose roles Vault has: all but those a code freeze stops."""
        return tuple(d for d in self.deployments if not d.frozen)


@dataclass(frozen=True)
class RepositoryPlan:
    name: str
    github_id: int | None
    """Its GitHub id where GitHub hosts it (``None`` on another host)."""
    default_branch: str
    ci: tuple[str, ...]
    """The names of the CI systems it builds on."""
    environments: tuple[str, ...]
    required_status_checks: tuple[str, ...]
    visibility: Visibility
    """Who may read its code (and, public, fork it and open pull requests)."""


@dataclass(frozen=True)
class PipelinePolicyPlan:
    """What every pipeline must respect, whichever CI system runs it."""

    approved_registries: tuple[str, ...]
    required_security_jobs: tuple[str, ...]
    code_freeze: tuple[str, ...]
    """Repositories that may not deploy to production."""


@dataclass(frozen=True)
class InfrastructurePlan:
    """The infrastructure repository deploying the stacks: one JWT role per stack, in the order its
    pipeline applies them (the resources stack first), each holding only that stack's deployer policy.

    The resources stack writes these roles (they are organisation-wide, named ``secure_pipelines.``)."""

    repository: str
    ci: str
    """The CI system's name."""
    default_branch: str
    ip_allowlist: tuple[str, ...]
    roles: tuple[CIRole, ...]
    """One per stack, in apply order."""
    deployments: tuple[Deployment, ...]
    """One per stack, in apply order: the role's deploy job, as the rehearsal fires it."""

    @property
    def stacks(self) -> tuple[str, ...]:
        """The stacks, in the order the pipeline applies them."""
        return tuple(role.environment for role in self.roles)

    def role(self, stack: str) -> CIRole:
        return next(role for role in self.roles if role.environment == stack)


@dataclass(frozen=True)
class Plan:
    organization: str
    github_owner: str
    github_owner_id: int
    resources_stack: str
    jwt_mounts: tuple[JwtMount, ...]
    admin_auth: AdminAuthMount
    environments: tuple[EnvironmentPlan, ...]
    repositories: tuple[RepositoryPlan, ...]
    branch_protections: tuple[BranchProtection, ...]
    organization_ruleset: OrganizationRuleset | None
    pipeline_policy: PipelinePolicyPlan
    warnings: tuple[Problem, ...]
    extras: tuple[tuple[str, object], ...] = ()
    """Data only one CI system reads, by the system's name (its contexts, its config policy...)."""
    deployers: tuple[Deployer, ...] = ()
    """Each stack's deployer: what its ``pulumi up`` may do in Vault (``plan.deployers``)."""
    infrastructure: InfrastructurePlan | None = None
    """The infrastructure repository's roles, one per stack, if the declaration names it."""

    @property
    def infrastructure_roles(self) -> tuple[CIRole, ...]:
        """The infrastructure pipeline's roles (the resources stack writes them); none if not declared."""
        return self.infrastructure.roles if self.infrastructure else ()

    def extra(self, ci: str) -> object | None:
        """The data the CI system named ``ci`` keeps in the plan, if any."""
        return next((data for name, data in self.extras if name == ci), None)

    def environment(self, name: str) -> EnvironmentPlan:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise KeyError(f"no environment {name!r} in the declaration (known: {known})")

    def warnings_for(self, stack: str) -> tuple[Problem, ...]:
        """The warnings a stack reports: its environment's, and the organisation's in the resources stack."""
        return tuple(
            w for w in self.warnings
            if w.environment == stack or (w.environment is None and stack == self.resources_stack)
        )

    def repository(self, name: str) -> RepositoryPlan:
        return next(r for r in self.repositories if r.name == name)

    @property
    def roles(self) -> tuple[CIRole, ...]:
        return tuple(role for env in self.environments for role in env.roles)

    def deployer(self, stack: str) -> Deployer:
        return next(d for d in self.deployers if d.stack == stack)

    def mount(self, ci: str) -> JwtMount:
        return next(m for m in self.jwt_mounts if m.ci == ci)
