"""The plan: every name, claim, path, policy and rule that any output needs, computed once.

``build_plan`` is a pure function of a validated declaration. Every output (Pulumi components,
rendered files, explain, rehearse) reads the plan and never re-derives a name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from . import checks
from .ci import CI_SYSTEMS, BoundClaim, ClaimValue
from .ci.circleci import CircleCISystem
from .declaration import (
    CISystemName,
    Declaration,
    Developer,
    Environment,
    ProtectionMode,
    Repository,
    RuleMode,
    Tier,
)
from .errors import InvalidDeclaration, Problem
from .vault_policies import admin_write_policy, ci_read_policy

TokenType = Literal["service", "batch"]
ClaimsMatch = Literal["string", "glob"]
ADMIN_MOUNT_PATH = "admins"


@dataclass(frozen=True)
class JwtMount:
    """One JWT auth mount per CI issuer (organisation-wide)."""

    ci: CISystemName
    path: str
    issuer: str
    oidc_discovery_url: str
    description: str

    @property
    def resource_name(self) -> str:
        return f"jwt-{self.path}"


@dataclass(frozen=True)
class SecretPath:
    """One KV v2 secret path a CI role may read."""

    environment: str
    repository: str
    developer: str | None
    mount: str
    path: str
    """Relative to the mount, e.g. ``apps/webapp``."""

    @property
    def data_path(self) -> str:
        """The API path of the secret's data (KV v2 puts ``data/`` after the mount)."""
        return f"{self.mount}/data/{self.path}"


@dataclass(frozen=True)
class VaultPolicy:
    name: str
    environment: str
    purpose: Literal["ci-read", "admin-write"]
    hcl: str

    @property
    def resource_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class CIRole:
    """One JWT role: a (repository, environment, CI system[, developer]) and exactly what it binds."""

    ci: CISystemName
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

    @property
    def resource_name(self) -> str:
        return f"{self.ci}-{self.role_name}"

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
    user_claim: str
    allowed_redirect_uris: tuple[str, ...]
    token_policies: tuple[str, ...]
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
    """A GitHub deployment environment for a repository that deploys with GitHub Actions."""

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
class CircleCIContext:
    """A CircleCI context: created in CircleCI, restricted as the plan says (not a Pulumi resource)."""

    environment: str
    tier: Tier
    name: str
    id: str
    project_ids: tuple[str, ...]
    restriction_expression: str
    """Context expression restriction, e.g. ``pipeline.git.branch == "main" and not job.ssh.enabled``."""


@dataclass(frozen=True)
class Deployment:
    """One repository deploying to one environment with one CI system."""

    repository: str
    environment: str
    tier: Tier
    ci: CISystemName
    branches: tuple[str, ...]
    roles: tuple[CIRole, ...]
    """One role, or one per developer in a per-developer environment."""
    context: str | None
    approval_hold: bool
    circleci_ip_ranges: bool
    resource_class: str | None
    """CircleCI: the self-hosted runner class the deploy job runs on (``None``: CircleCI's cloud)."""
    frozen: bool


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
    circleci_context: CircleCIContext | None
    deployments: tuple[Deployment, ...]


@dataclass(frozen=True)
class RepositoryPlan:
    name: str
    github_id: int
    default_branch: str
    ci: tuple[CISystemName, ...]
    circleci_project_id: str | None
    vcs_origin: str | None
    environments: tuple[str, ...]
    required_status_checks: tuple[str, ...]


@dataclass(frozen=True)
class PolicyProject:
    """What the CircleCI config policy knows about one project."""

    project_id: str
    repository: str
    default_branch: str
    contexts: tuple[str, ...]
    frozen: bool


@dataclass(frozen=True)
class PipelinePolicyPlan:
    """The data the CircleCI config policies are rendered from."""

    projects: tuple[PolicyProject, ...]
    production_contexts: tuple[str, ...]
    staging_contexts: tuple[str, ...]
    development_contexts: tuple[str, ...]
    approved_orbs: tuple[str, ...]
    banned_orb_versions: tuple[str, ...]
    approved_registries: tuple[str, ...]
    production_resource_class: str | None
    required_security_jobs: tuple[str, ...]
    rule_modes: tuple[tuple[str, RuleMode], ...]

    @property
    def hard_fail_rules(self) -> tuple[str, ...]:
        return tuple(rule for rule, mode in self.rule_modes if mode is RuleMode.HARD)

    @property
    def enabled_rules(self) -> tuple[str, ...]:
        return tuple(rule for rule, _ in self.rule_modes)


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

    def mount(self, ci: CISystemName) -> JwtMount:
        return next(m for m in self.jwt_mounts if m.ci == ci)


def build_plan(declaration: Declaration) -> Plan:
    """Derive the plan. Pure: the same declaration always yields an equal plan."""
    ci_in_use = tuple(ci for ci in CISystemName if any(ci in r.ci for r in declaration.repositories))
    mounts = tuple(_jwt_mount(declaration, ci) for ci in ci_in_use)
    environments = tuple(_environment_plan(declaration, env) for env in declaration.environments)
    plan = Plan(
        organization=declaration.organization.name,
        github_owner=declaration.organization.github.owner,
        github_owner_id=declaration.organization.github.owner_id,
        resources_stack=declaration.resources_stack,
        jwt_mounts=mounts,
        admin_auth=AdminAuthMount(
            path=ADMIN_MOUNT_PATH,
            oidc_discovery_url=declaration.admins.auth.oidc_discovery_url,
            default_role=None,
            description=f"{declaration.organization.name} secret admins (write-only)",
        ),
        environments=environments,
        repositories=tuple(_repository_plan(declaration, r) for r in declaration.repositories),
        branch_protections=tuple(
            _branch_protection(declaration, r) for r in declaration.repositories
        ) if declaration.organization.github.protection is ProtectionMode.PER_REPOSITORY else (),
        organization_ruleset=_organization_ruleset(declaration),
        pipeline_policy=_pipeline_policy(declaration),
        warnings=tuple(checks.warnings(declaration)),
    )
    _refuse_collisions(plan)
    return plan


def _jwt_mount(declaration: Declaration, ci: CISystemName) -> JwtMount:
    system = CI_SYSTEMS[ci]
    return JwtMount(
        ci=ci,
        path=system.mount_path,
        issuer=system.issuer(declaration),
        oidc_discovery_url=system.discovery_url(declaration),
        description=f"{ci} OIDC workload identity for {declaration.organization.name}",
    )


def _secret_path(env: Environment, repo: Repository, developer: Developer | None) -> SecretPath:
    parts = [env.secrets.prefix] + ([developer.name] if developer else []) + [repo.name]
    return SecretPath(
        environment=env.name,
        repository=repo.name,
        developer=developer.name if developer else None,
        mount=env.secret_mount,
        path="/".join(parts),
    )


def _ci_policy_name(env: Environment, repo: Repository, developer: Developer | None) -> str:
    middle = f"{developer.name}-" if developer else ""
    return f"ci-{env.name}-{middle}{repo.name}"


def _developers(declaration: Declaration, env: Environment) -> tuple[Developer | None, ...]:
    if not env.per_developer:
        return (None,)
    return tuple(declaration.developer(name) for name in env.developers)


def _environment_plan(declaration: Declaration, env: Environment) -> EnvironmentPlan:
    repos = tuple(declaration.repository(name) for name in env.repositories)
    developers = _developers(declaration, env)
    paths: list[SecretPath] = []
    policies: list[VaultPolicy] = []
    roles: list[CIRole] = []
    deployments: list[Deployment] = []
    for repo in repos:
        for developer in developers:
            path = _secret_path(env, repo, developer)
            paths.append(path)
            who = f"{repo.name} in {env.name}" + (f" for {developer.name}" if developer else "")
            policies.append(VaultPolicy(
                name=_ci_policy_name(env, repo, developer),
                environment=env.name,
                purpose="ci-read",
                hcl=ci_read_policy(f"CI read access: {who}", env.secret_mount, [path.path]),
            ))
        for ci in repo.ci:
            deployment_roles = tuple(
                _ci_role(declaration, env, repo, ci, developer, _secret_path(env, repo, developer))
                for developer in developers
            )
            roles.extend(deployment_roles)
            deployments.append(Deployment(
                repository=repo.name,
                environment=env.name,
                tier=env.tier,
                ci=ci,
                branches=declaration.deploy_branches(env, repo),
                roles=deployment_roles,
                context=_context_name(declaration, env) if ci is CISystemName.CIRCLECI else None,
                approval_hold=env.approval_hold,
                circleci_ip_ranges=env.circleci_ip_ranges,
                resource_class=_runner_class(declaration, env) if ci is CISystemName.CIRCLECI else None,
                frozen=env.tier is Tier.PRODUCTION and repo.name in declaration.pipeline_policy.code_freeze,
            ))
    admin_policy = VaultPolicy(
        name=f"admin-{env.name}",
        environment=env.name,
        purpose="admin-write",
        hcl=admin_write_policy(f"Secret admins of {env.name}: write and rotate", env.secret_mount),
    )
    policies.append(admin_policy)
    auth = declaration.admins.auth
    return EnvironmentPlan(
        name=env.name,
        tier=env.tier,
        per_developer=env.per_developer,
        ip_allowlist=env.ip_allowlist,
        secret_store=SecretStore(
            environment=env.name,
            mount=env.secret_mount,
            paths=tuple(paths),
            description=f"{env.name} secrets (KV v2), managed by secure-pipelines",
        ),
        policies=tuple(policies),
        roles=tuple(roles),
        admin_role=AdminRole(
            mount_path=ADMIN_MOUNT_PATH,
            role_name=f"admins-{env.name}",
            environment=env.name,
            bound_audiences=auth.bound_audiences,
            groups_claim=auth.groups_claim,
            admin_group=auth.admin_group,
            user_claim=auth.user_claim,
            allowed_redirect_uris=auth.allowed_redirect_uris,
            token_policies=(admin_policy.name,),
            token_ttl=min(env.token_ttl, 900),
            token_max_ttl=min(env.token_max_ttl, 1800),
        ),
        github_environments=tuple(
            _github_environment(declaration, env, repo)
            for repo in repos if CISystemName.GITHUB_ACTIONS in repo.ci
        ),
        circleci_context=_circleci_context(declaration, env, repos),
        deployments=tuple(deployments),
    )


def _ci_role(
    declaration: Declaration,
    env: Environment,
    repo: Repository,
    ci: CISystemName,
    developer: Developer | None,
    path: SecretPath,
) -> CIRole:
    system = CI_SYSTEMS[ci]
    binding = system.binding(declaration, repo, env, developer)
    suffix = f"-{developer.name}" if developer else ""
    return CIRole(
        ci=ci,
        mount_path=system.mount_path,
        role_name=f"{repo.name}-{env.name}{suffix}",
        repository=repo.name,
        environment=env.name,
        tier=env.tier,
        developer=developer.name if developer else None,
        issuer=system.issuer(declaration),
        bound_audiences=system.audiences(declaration),
        bound_claims=binding.claims,
        claims_match="glob" if binding.claims_match == "glob" else "string",
        user_claim=system.user_claim,
        token_policies=(_ci_policy_name(env, repo, developer),),
        token_bound_cidrs=env.ip_allowlist,
        token_ttl=env.token_ttl,
        token_max_ttl=env.token_max_ttl,
        token_type="service",
        secret_paths=(path,),
        ref_binding=binding.ref_binding,
        deploy_via=binding.deploy_via,
    )


def _runner_class(declaration: Declaration, env: Environment) -> str | None:
    if env.runner_resource_class:
        return env.runner_resource_class
    return declaration.pipeline_policy.production_resource_class if env.tier is Tier.PRODUCTION else None


def _context_name(declaration: Declaration, env: Environment) -> str | None:
    circleci = declaration.ci.circleci
    if circleci is None or env.name not in circleci.contexts:
        return None
    return circleci.contexts[env.name].name


def _circleci_context(
    declaration: Declaration, env: Environment, repos: tuple[Repository, ...]
) -> CircleCIContext | None:
    circleci = declaration.ci.circleci
    users = [r for r in repos if CISystemName.CIRCLECI in r.ci]
    if circleci is None or not users or env.name not in circleci.contexts:
        return None
    context = circleci.contexts[env.name]
    # No context is ever available to an SSH rerun: a per-developer role cannot bind the boolean
    # ssh-rerun claim in Vault (glob mode compares strings only), so the context refuses it instead.
    expression = "not job.ssh.enabled"
    branches = sorted({b for r in users for b in declaration.deploy_branches(env, r)})
    if "*" not in branches:
        branch_test = " or ".join(f'pipeline.git.branch == "{b}"' for b in branches)
        if len(branches) > 1:
            branch_test = f"({branch_test})"
        expression = f"{branch_test} and {expression}"
    return CircleCIContext(
        environment=env.name,
        tier=env.tier,
        name=context.name,
        id=str(context.id),
        project_ids=tuple(str(r.circleci_project_id) for r in users),
        restriction_expression=expression,
    )


def _github_environment(declaration: Declaration, env: Environment, repo: Repository) -> GitHubEnvironment:
    plan = checks.github_plan(declaration, repo)
    branches = declaration.deploy_branches(env, repo)
    return GitHubEnvironment(
        repository=repo.name,
        repository_id=repo.github_id,
        environment=env.name,
        tier=env.tier,
        reviewer_users=env.reviewers.users,
        reviewer_teams=env.reviewers.teams,
        reviewers_enforceable=checks.reviewers_enforceable(plan, repo.visibility),
        available=checks.environments_available(plan, repo.visibility),
        prevent_self_review=True,
        can_admins_bypass=env.tier is not Tier.PRODUCTION,
        deployment_branches=None if "*" in branches else branches,
    )


def _repository_plan(declaration: Declaration, repo: Repository) -> RepositoryPlan:
    circleci = CI_SYSTEMS[CISystemName.CIRCLECI]
    uses_circleci = CISystemName.CIRCLECI in repo.ci
    return RepositoryPlan(
        name=repo.name,
        github_id=repo.github_id,
        default_branch=repo.default_branch,
        ci=repo.ci,
        circleci_project_id=str(repo.circleci_project_id) if repo.circleci_project_id else None,
        vcs_origin=circleci.vcs_origin(declaration, repo)
        if uses_circleci and isinstance(circleci, CircleCISystem) else None,
        environments=tuple(e.name for e in declaration.environments if repo.name in e.repositories),
        required_status_checks=repo.required_status_checks,
    )


def _branch_protection(declaration: Declaration, repo: Repository) -> BranchProtection:
    enforceable = checks.protection_enforceable(checks.github_plan(declaration, repo), repo.visibility)
    return BranchProtection(
        repository=repo.name,
        repository_id=repo.github_id,
        branch=repo.default_branch,
        required_approvals=repo.required_approvals,
        require_code_owner_reviews=repo.code_owner_review,
        require_last_push_approval=True,
        dismiss_stale_reviews=True,
        required_status_checks=repo.required_status_checks,
        require_conversation_resolution=True,
        enforce_admins=True,
        allows_force_pushes=False,
        allows_deletions=False,
        enforceable=enforceable,
        unenforced_reason=None if enforceable else (
            f"{repo.visibility} repository on the {checks.github_plan(declaration, repo)} plan: "
            "GitHub does not enforce branch protection there"
        ),
    )


def _organization_ruleset(declaration: Declaration) -> OrganizationRuleset | None:
    github = declaration.organization.github
    if github.protection is not ProtectionMode.ORGANIZATION_RULESET:
        return None
    repos = declaration.repositories
    return OrganizationRuleset(
        name=f"{declaration.organization.name}-default-branch",
        repository_ids=tuple(r.github_id for r in repos),
        # One ruleset for all: the strictest declared setting applies to every repository.
        required_approvals=max(r.required_approvals for r in repos),
        require_code_owner_reviews=any(r.code_owner_review for r in repos),
        required_status_checks=tuple(sorted({c for r in repos for c in r.required_status_checks})),
        bypass_team_ids=github.ruleset_bypass_team_ids,
        require_last_push_approval=True,
        dismiss_stale_reviews=True,
        require_conversation_resolution=True,
    )


def _pipeline_policy(declaration: Declaration) -> PipelinePolicyPlan:
    policy = declaration.pipeline_policy
    circleci = declaration.ci.circleci
    contexts = circleci.contexts if circleci else {}

    def contexts_of(tier: Tier) -> tuple[str, ...]:
        return tuple(sorted(contexts[e.name].name for e in declaration.environments
                            if e.tier is tier and e.name in contexts))

    projects = tuple(
        PolicyProject(
            project_id=str(r.circleci_project_id),
            repository=r.name,
            default_branch=r.default_branch,
            contexts=tuple(sorted(contexts[e.name].name for e in declaration.environments
                                  if r.name in e.repositories and e.name in contexts)),
            frozen=r.name in policy.code_freeze,
        )
        for r in declaration.repositories
        if CISystemName.CIRCLECI in r.ci and r.circleci_project_id
    )
    return PipelinePolicyPlan(
        projects=projects,
        production_contexts=contexts_of(Tier.PRODUCTION),
        staging_contexts=contexts_of(Tier.STAGING),
        development_contexts=contexts_of(Tier.DEVELOPMENT),
        approved_orbs=policy.approved_orbs,
        banned_orb_versions=policy.banned_orb_versions,
        approved_registries=policy.approved_registries,
        production_resource_class=policy.production_resource_class,
        required_security_jobs=policy.required_security_jobs,
        rule_modes=tuple((rule, mode) for rule, mode in policy.rules),
    )


def _refuse_collisions(plan: Plan) -> None:
    """Two declared things must never share a Vault name: one would reach the other's secrets."""
    names = {
        "role": [f"{r.mount_path}/{r.role_name}" for r in plan.roles],
        "policy": [p.name for env in plan.environments for p in env.policies],
        "secret path": [f"{p.mount}/{p.path}" for env in plan.environments for p in env.secret_store.paths],
    }
    found = [
        Problem(f"{kind} names", name, "two declared items produce this same Vault name; rename one of them")
        for kind, values in names.items()
        for name, count in Counter(values).items() if count > 1
    ]
    if found:
        raise InvalidDeclaration(found)
