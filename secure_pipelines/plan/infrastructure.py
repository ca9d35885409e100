"""The infrastructure repository's roles: one JWT role per stack, bound by its CI system to the
repository, its default branch, the reviewed pipeline file and the stack's environment, holding only
that stack's deployer policy, usable only from the infrastructure runners' egress ranges."""

from __future__ import annotations

from .. import naming
from ..ci import registry
from ..declaration.model import Declaration, Environment, Infrastructure, Repository
from .model import CIRole, Deployment, InfrastructurePlan

TOKEN_TYPE = "service"
"""A service token: the Vault provider creates its short-lived child token from it (a batch token cannot)."""


def apply_order(declaration: Declaration) -> tuple[Environment, ...]:
    """The stacks in the order the pipeline applies them: the resources stack first (it writes every
    deployer policy and the auth mounts the others' roles live in), then the rest as declared."""
    first = declaration.environment(declaration.resources_stack)
    return (first, *(env for env in declaration.environments if env.name != first.name))


def infrastructure_plan(declaration: Declaration) -> InfrastructurePlan | None:
    """The infrastructure repository's roles and deploy jobs, if the declaration names it (validated)."""
    infrastructure = declaration.infrastructure
    if infrastructure is None:
        return None
    repository = declaration.repository(infrastructure.repository)
    roles = tuple(_role(declaration, infrastructure, repository, env) for env in apply_order(declaration))
    return InfrastructurePlan(
        repository=repository.name,
        ci=roles[0].ci,
        default_branch=repository.default_branch,
        ip_allowlist=infrastructure.ip_allowlist,
        roles=roles,
        deployments=tuple(
            Deployment(repository=repository.name, environment=role.environment, tier=role.tier, ci=role.ci,
                       branches=(repository.default_branch,), roles=(role,), deploy_via=role.environment,
                       runner=None, frozen=False)
            for role in roles
        ),
    )


def _role(declaration: Declaration, infrastructure: Infrastructure, repository: Repository, env: Environment
          ) -> CIRole:
    system = registry.by_key(infrastructure.ci)
    assert system is not None and system.infrastructure is not None, "checked by validation"
    binding = system.infrastructure.binding(declaration, repository, env)
    return CIRole(
        ci=system.name,
        mount_path=system.mount_path,
        role_name=naming.deployer_role(env.name),
        repository=repository.name,
        environment=env.name,
        tier=env.tier,
        developer=None,
        issuer=system.issuer(declaration),
        bound_audiences=system.audiences(declaration),
        bound_claims=binding.claims,
        claims_match=binding.claims_match,
        user_claim=system.user_claim,
        token_policies=(naming.deployer_policy(env.name),),
        token_bound_cidrs=infrastructure.ip_allowlist,
        token_ttl=infrastructure.token_ttl,
        token_max_ttl=infrastructure.token_max_ttl,
        token_type=TOKEN_TYPE,
        secret_paths=(),
        ref_binding=binding.ref_binding,
        deploy_via=binding.deploy_via,
    )
