"""The shape of each repository's pipeline, read from the plan: jobs, their order, contexts, roles.

Templates lay these out as YAML; every name, role, path and branch here is read from the plan.
Job names are the one thing chosen here (``deploy-<environment>``), so that the config, the policy
tests and the rehearsal agree on them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..declaration import CISystemName, Tier
from ..errors import SecurePipelinesError
from ..plan import CIRole, Deployment, Plan, RepositoryPlan

WORKFLOW = "deliver"
TEST_JOB = "test"
BUILD_JOB = "build-image"
ANY_BRANCH = "*"
JOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
"""A job name both CircleCI and GitHub Actions accept, and safe as a ``make`` target."""


class UnrenderableDeclaration(SecurePipelinesError):
    """The declaration is valid, but a value cannot be written into a pipeline file."""


@dataclass(frozen=True)
class RoleChoice:
    """One Vault role a deploy job may log in with, and how the job knows it is the right one."""

    role: str
    developer: str | None
    secret_paths: tuple[str, ...]
    """API paths of the secrets it reads, e.g. ``kv-production/data/apps/webapp``."""
    subject_pattern: str | None
    """CircleCI, per developer: a shell ``case`` pattern equal to the role's bound ``sub`` glob."""
    actor_id: str | None
    """GitHub Actions, per developer: the ``actor_id`` the role is bound to."""


@dataclass(frozen=True)
class DeployJob:
    name: str
    environment: str
    tier: Tier
    context: str | None
    branches: tuple[str, ...] | None
    """Branches the job runs on; ``None`` means every branch."""
    requires: tuple[str, ...]
    approval_job: str | None
    """CircleCI: the manual approval job this deploy waits for."""
    resource_class: str | None
    """CircleCI: the self-hosted runner class (production), else ``None`` for a cloud container."""
    circleci_ip_ranges: bool
    mount: str
    audience: str
    roles: tuple[RoleChoice, ...]
    runs_on: tuple[str, ...]
    """GitHub Actions: runner labels (self-hosted, labelled with the environment, when Vault only
    admits known egress ranges; GitHub-hosted otherwise)."""

    @property
    def per_developer(self) -> bool:
        return any(role.developer for role in self.roles)

    @property
    def github_refs(self) -> tuple[str, ...] | None:
        return None if self.branches is None else tuple(f"refs/heads/{b}" for b in self.branches)


@dataclass(frozen=True)
class Pipeline:
    """One repository's pipeline for one CI system."""

    repository: RepositoryPlan
    ci: CISystemName
    workflow: str
    test_job: str
    security_jobs: tuple[str, ...]
    build_job: str
    deploy_jobs: tuple[DeployJob, ...]
    frozen_environments: tuple[str, ...]
    """Environments left out because the repository is under a code freeze."""


def deploy_job_name(environment: str) -> str:
    return f"deploy-{environment}"


def approval_job_name(environment: str) -> str:
    return f"approve-{environment}"


def pipeline(plan: Plan, repository: str, ci: CISystemName, *, include_frozen: bool = False) -> Pipeline:
    """The pipeline of ``repository`` on ``ci``; frozen production deploys are left out unless asked."""
    repo = plan.repository(repository)
    for job in plan.pipeline_policy.required_security_jobs:
        if not JOB_NAME.match(job):
            raise UnrenderableDeclaration(
                f"pipeline_policy.required_security_jobs: {job!r} cannot name a CI job; use letters, "
                "digits, '-' or '_', starting with a letter (it is the job name and its make target)"
            )
    deployments = [
        d for env in plan.environments for d in env.deployments
        if d.repository == repository and d.ci is ci
    ]
    kept = [d for d in deployments if include_frozen or not d.frozen]
    jobs: list[DeployJob] = []
    for deployment in kept:
        jobs.append(_deploy_job(plan, deployment, jobs))
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


def pipelines(plan: Plan, ci: CISystemName) -> tuple[Pipeline, ...]:
    return tuple(pipeline(plan, r.name, ci) for r in plan.repositories if ci in r.ci)


def _deploy_job(plan: Plan, deployment: Deployment, earlier: list[DeployJob]) -> DeployJob:
    env = plan.environment(deployment.environment)
    requires = [BUILD_JOB]
    if deployment.tier is Tier.PRODUCTION:
        # Promote what staging received: production waits for every staging deploy of this pipeline.
        requires += [job.name for job in earlier if job.tier is Tier.STAGING]
    approval = approval_job_name(deployment.environment) if (
        deployment.approval_hold and deployment.ci is CISystemName.CIRCLECI
    ) else None
    admits_any = any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in env.ip_allowlist)
    first_role = deployment.roles[0]
    return DeployJob(
        name=deploy_job_name(deployment.environment),
        environment=deployment.environment,
        tier=deployment.tier,
        context=deployment.context,
        branches=None if ANY_BRANCH in deployment.branches else deployment.branches,
        requires=tuple(requires),
        approval_job=approval,
        resource_class=deployment.resource_class,
        circleci_ip_ranges=deployment.circleci_ip_ranges,
        mount=first_role.mount_path,
        audience=first_role.bound_audiences[0],
        roles=tuple(_role_choice(role, len(deployment.roles) > 1) for role in deployment.roles),
        runs_on=("ubuntu-24.04",) if admits_any else ("self-hosted", deployment.environment),
    )


def _role_choice(role: CIRole, choose: bool) -> RoleChoice:
    claims = role.claims
    subject = claims.get("sub", ())
    actor = claims.get("actor_id", ())
    return RoleChoice(
        role=role.role_name,
        developer=role.developer,
        secret_paths=tuple(p.data_path for p in role.secret_paths),
        subject_pattern=shell_case_pattern(str(subject[0])) if choose and subject else None,
        actor_id=str(actor[0]) if choose and actor else None,
    )


def shell_case_pattern(vault_glob: str) -> str:
    """The shell ``case`` pattern that matches exactly what a Vault ``bound_claims`` glob matches.

    In Vault's glob only ``*`` is special (it spans anything, '/' included), as in ``case``;
    every other character is quoted so the shell takes it literally.
    """
    return "*".join(_single_quoted(part) if part else "" for part in vault_glob.split("*"))


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"

