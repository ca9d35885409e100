"""``build_plan``: a pure function of a validated declaration, assembled from one module per target.

The same declaration always yields an equal plan; every output reads the plan and never re-derives
a name. CI systems contribute their bindings, deploy settings and extras through ``ci.registry``.
"""

from __future__ import annotations

from dataclasses import replace

from ..ci import registry
from ..declaration import checks
from ..declaration.model import Declaration, Developer, Environment, Tier
from . import deployers, github, vault
from .infrastructure import infrastructure_plan
from .model import Deployment, EnvironmentPlan, GitHubEnvironment, Plan, RepositoryPlan, SecretPath, VaultPolicy
from .pipeline_policy import pipeline_policy


def build_plan(declaration: Declaration) -> Plan:
    """Derive the plan. Pure: the same declaration always yields an equal plan."""
    in_use = registry.in_use(declaration)
    extras = tuple((system.name, extra) for system in in_use
                   if (extra := system.plan_extra(declaration)) is not None)
    plan = Plan(
        organization=declaration.organization.name,
        github_owner=declaration.organization.github.owner,
        github_owner_id=declaration.organization.github.owner_id,
        resources_stack=declaration.resources_stack,
        jwt_mounts=tuple(vault.jwt_mount(declaration, system) for system in in_use),
        admin_auth=vault.admin_auth_mount(declaration),
        environments=tuple(_environment_plan(declaration, env) for env in declaration.environments),
        repositories=tuple(_repository_plan(declaration, r.name) for r in declaration.repositories),
        branch_protections=github.branch_protections(declaration),
        organization_ruleset=github.organization_ruleset(declaration),
        pipeline_policy=pipeline_policy(declaration),
        warnings=tuple(checks.warnings(declaration)),
        extras=extras,
        infrastructure=infrastructure_plan(declaration),
    )
    vault.refuse_collisions(plan)
    return replace(plan, deployers=deployers.deployers(plan))


def _developers(declaration: Declaration, env: Environment) -> tuple[Developer | None, ...]:
    if not env.per_developer:
        return (None,)
    return tuple(declaration.developer(name) for name in env.developers)


def _environment_plan(declaration: Declaration, env: Environment) -> EnvironmentPlan:
    repos = tuple(declaration.repository(name) for name in env.repositories)
    developers = _developers(declaration, env)
    paths: list[SecretPath] = []
    policies: list[VaultPolicy] = []
    deployments: list[Deployment] = []
    for repo in repos:
        shared = vault.shared_paths_of(env, repo)
        for developer in developers:
            path = vault.secret_path(env, repo, developer)
            paths.append(path)
            policies.append(vault.ci_read(declaration, env, repo, developer, (path, *shared)))
        for system in registry.of_repository(repo):
            roles = tuple(
                vault.ci_role(declaration, env, repo, system, developer,
                              (vault.secret_path(env, repo, developer), *shared))
                for developer in developers
            )
            settings = system.deploy_settings(declaration, repo, env)
            deployments.append(Deployment(
                repository=repo.name,
                environment=env.name,
                tier=env.tier,
                ci=system.name,
                branches=declaration.deploy_branches(env, repo),
                roles=roles,
                deploy_via=settings.deploy_via,
                runner=settings.runner,
                frozen=env.tier is Tier.PRODUCTION and repo.name in declaration.pipeline_policy.code_freeze,
                developer_lookup=vault.developer_lookup(env, repo, shared) if env.per_developer else None,
            ))
    paths.extend(vault.shared_secret_path(env, shared) for shared in env.shared_secrets)
    admin_policy = vault.admin_write(declaration, env)
    policies.append(admin_policy)
    return EnvironmentPlan(
        name=env.name,
        tier=env.tier,
        per_developer=env.per_developer,
        ip_allowlist=env.ip_allowlist,
        secret_store=vault.secret_store(env, paths),
        policies=tuple(policies),
        # A repository under a code freeze has no production role: Vault itself refuses its deploys.
        roles=tuple(role for deployment in deployments if not deployment.frozen for role in deployment.roles),
        admin_role=vault.admin_role(declaration.admins, env, admin_policy),
        github_environments=tuple(
            github.github_environment(declaration, env, repo) for repo in repos
            if any(system.deploys_through_github_environments for system in registry.of_repository(repo))
        ) + _infrastructure_environments(declaration, env),
        deployments=tuple(deployments),
    )


def _infrastructure_environments(declaration: Declaration, env: Environment) -> tuple[GitHubEnvironment, ...]:
    """The infrastructure repository's deployment environment for ``env``'s stack, where its CI system
    applies stacks in GitHub deployment environments."""
    infrastructure = declaration.infrastructure
    system = registry.by_key(infrastructure.ci) if infrastructure else None
    if infrastructure is None or system is None or not system.deploys_through_github_environments:
        return ()
    return (github.infrastructure_environment(declaration, env, declaration.repository(infrastructure.repository)),)


def _repository_plan(declaration: Declaration, name: str) -> RepositoryPlan:
    repo = declaration.repository(name)
    return RepositoryPlan(
        name=repo.name,
        github_id=repo.github_id,
        default_branch=repo.default_branch,
        ci=tuple(system.name for system in registry.of_repository(repo)),
        environments=tuple(e.name for e in declaration.environments if repo.name in e.repositories),
        required_status_checks=repo.required_status_checks,
        visibility=repo.visibility,
    )
