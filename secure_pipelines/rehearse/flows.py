"""The legitimate flows, derived from the plan: every repository deploying to every environment it
may deploy to (per developer where per-developer), from every declared network of the allowlist.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ci.base import Job
from ..declaration.model import Declaration
from ..plan import CIRole, Deployment, Plan
from .addresses import inside_address
from .probe import Firing

ANY_BRANCH_SAMPLE = "refs/heads/feature/rehearsal"
"""The branch a legitimate job uses where any branch may deploy (not the default branch: that is
the point of "any")."""


@dataclass(frozen=True)
class LegitimateLogin:
    """One legitimate login: a real job of ``role``'s repository, from inside one declared CIDR."""

    role: CIRole
    deployment: Deployment
    firing: Firing
    description: str


def role_key(role: CIRole) -> str:
    return f"{role.mount_path}/{role.role_name}"


def legitimate_job(declaration: Declaration, deployment: Deployment, role: CIRole, ref: str,
                   traits: tuple[tuple[str, str | bool], ...] = ()) -> Job:
    """A real job of ``role`` on ``ref``; ``traits``: what its CI system must know about it (the
    infrastructure pipeline's file and runners, say)."""
    developer = declaration.developer(role.developer) if role.developer else None
    return Job(
        ci=role.ci,
        repository=declaration.repository(role.repository),
        environment=role.environment,
        ref=ref,
        developer=developer,
        deploys_via=deployment.environment,
        traits=traits,
    )


def legitimate_refs(deployment: Deployment, default_branch: str) -> tuple[str, ...]:
    if "*" in deployment.branches:
        return (f"refs/heads/{default_branch}", ANY_BRANCH_SAMPLE)
    return tuple(f"refs/heads/{b}" for b in deployment.branches)


def deployments_of(plan: Plan, environments: tuple[str, ...], *, frozen: bool = False
                   ) -> list[tuple[Deployment, CIRole]]:
    """Each deployment of ``environments`` with each of its roles: those Vault has, or (``frozen``) the frozen
    production deployments', which Vault must not have."""
    return [
        (deployment, role)
        for env in plan.environments if env.name in environments
        for deployment in env.deployments if deployment.frozen == frozen
        for role in deployment.roles
    ]


def legitimate_logins(declaration: Declaration, deployment: Deployment, role: CIRole,
                      traits: tuple[tuple[str, str | bool], ...] = ()) -> list[LegitimateLogin]:
    """Each deploying ref from the first declared network, and the first ref from every other one."""
    repo = declaration.repository(role.repository)
    refs = legitimate_refs(deployment, repo.default_branch)
    cidrs = role.token_bound_cidrs
    pairs = [(ref, cidrs[0]) for ref in refs] + [(refs[0], cidr) for cidr in cidrs[1:]]
    logins: list[LegitimateLogin] = []
    for ref, cidr in pairs:
        address = inside_address(cidr)
        job = legitimate_job(declaration, deployment, role, ref, traits)
        who = f" as {role.developer}" if role.developer else ""
        logins.append(LegitimateLogin(
            role=role,
            deployment=deployment,
            firing=Firing(role.mount_path, role.role_name, job, client_address=address),
            description=f"{role.repository} -> {role.environment}{who}: {ref} via {role.deploy_via} "
                        f"from {address} ({cidr})",
        ))
    return logins
