"""The shape of each repository's pipeline, read from the plan: jobs, their order, roles, branches.

CI-neutral: each CI system's renderer lays this out in its own file format, adding what only it has.
Every name, role, path and branch here is read from the plan. Job names are the one thing chosen
here (``deploy-<environment>``), so that configs, policy tests and the rehearsal agree on them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from ..declaration.model import Tier
from ..plan.model import CIRole, Deployment, Plan, RepositoryPlan

WORKFLOW = "deliver"
TEST_JOB = "test"
BUILD_JOB = "build-image"
ANY_BRANCH = "*"

RoleSelector = Callable[[CIRole], str]
"""Per developer: the value a deploy job compares to pick this role (the CI system decides which)."""


@dataclass(frozen=True)
class RoleChoice:
    """One Vault role a deploy job may log in with, and how the job knows it is the right one."""

    role: str
    developer: str | None
    secrets: tuple[tuple[str, str], ...]
    """``(API path, file)`` of each secret it reads, e.g. ``("kv-production/data/apps/webapp", "webapp.json")``:
    its own, then the shared ones (``shared/<name>.json``)."""
    selector: str | None
    """Per developer: what the job compares to pick this role (a subject pattern, a user id...)."""


@dataclass(frozen=True)
class DeployJob:
    name: str
    environment: str
    tier: Tier
    deploy_via: str | None
    """The name of what the job runs in (a context, a deployment environment), if anything."""
    branches: tuple[str, ...] | None
    """Branches the job runs on; ``None`` means every branch."""
    requires: tuple[str, ...]
    runner: str | None
    """The self-hosted runner (class) the job runs on, where the declaration names one."""
    admits_any_address: bool
    """The environment's allowlist admits every address (so any runner's egress will do)."""
    mount: str
    audience: str
    roles: tuple[RoleChoice, ...]
    records: str | None = None
    """Where the job records the digest it deployed (API path prefix), when another environment promotes
    from this one."""
    promoted_from: tuple[str, str] | None = None
    """``(environment, API path prefix)`` of the records a digest must be in before the job deploys it."""

    @property
    def per_developer(self) -> bool:
        return any(role.developer for role in self.roles)

    @property
    def refs(self) -> tuple[str, ...] | None:
        """The git refs the job runs on (``None``: every ref)."""
        return None if self.branches is None else tuple(f"refs/heads/{b}" for b in self.branches)


@dataclass(frozen=True)
class Pipeline:
    """One repository's pipeline for one CI system."""

    repository: RepositoryPlan
    ci: str
    workflow: str
    test_job: str
    security_jobs: tuple[str, ...]
    build_job: str
    deploy_jobs: tuple[DeployJob, ...]
    frozen_environments: tuple[str, ...]
    """Environments left out because the repository is under a code freeze."""


def deploy_job_name(environment: str) -> str:
    return f"deploy-{environment}"


def pipeline(plan: Plan, repository: str, ci: str, selector: RoleSelector, *, include_frozen: bool = False
             ) -> Pipeline:
    """The pipeline of ``repository`` on the CI system named ``ci``; frozen production deploys are
    left out unless asked. ``selector`` gives, per developer, what picks each role."""
    repo = plan.repository(repository)
    deployments = [
        d for env in plan.environments for d in env.deployments
        if d.repository == repository and d.ci == ci
    ]
    kept = [d for d in deployments if include_frozen or not d.frozen]
    jobs: list[DeployJob] = []
    for deployment in kept:
        jobs.append(_deploy_job(plan, deployment, jobs, selector))
    return Pipeline(
        repository=repo,
        ci=ci,
        workflow=WORKFLOW,
        test_job=TEST_JOB,
        security_jobs=plan.pipeline_policy.required_security_jobs,
        build_job=BUILD_JOB,
        deploy_jobs=tuple(jobs),
        frozen_environments=tuple(d.environment for d in deployments if d not in kept),
    )


def _deploy_job(plan: Plan, deployment: Deployment, earlier: list[DeployJob], selector: RoleSelector) -> DeployJob:
    env = plan.environment(deployment.environment)
    requires = [BUILD_JOB]
    if deployment.tier is Tier.PRODUCTION:
        # Promote what staging received: production waits for every staging deploy of this pipeline.
        requires += [job.name for job in earlier if job.tier is Tier.STAGING]
    first_role = deployment.roles[0]
    choose = len(deployment.roles) > 1
    return DeployJob(
        name=deploy_job_name(deployment.environment),
        environment=deployment.environment,
        tier=deployment.tier,
        deploy_via=deployment.deploy_via,
        branches=None if ANY_BRANCH in deployment.branches else deployment.branches,
        requires=tuple(requires),
        runner=deployment.runner,
        admits_any_address=any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in env.ip_allowlist),
        mount=first_role.mount_path,
        audience=first_role.bound_audiences[0],
        roles=tuple(
            RoleChoice(
                role=role.role_name,
                developer=role.developer,
                secrets=tuple((p.data_path, p.file_name) for p in role.secret_paths),
                selector=selector(role) if choose else None,
            )
            for role in deployment.roles
        ),
        records=first_role.records.data_prefix if first_role.records else None,
        promoted_from=(first_role.promoted_from.environment, first_role.promoted_from.data_prefix)
        if first_role.promoted_from else None,
    )


def shell_case_pattern(vault_glob: str) -> str:
    """The shell ``case`` pattern that matches exactly what a Vault ``bound_claims`` glob matches.

    In Vault's glob only ``*`` is special (it spans anything, '/' included), as in ``case``;
    every other character is quoted so the shell takes it literally.
    """
    return "*".join(_single_quoted(part) if part else "" for part in vault_glob.split("*"))


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
