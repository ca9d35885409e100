"""The shape of each repository's pipeline, read from the plan: jobs, their order, roles, branches.

CI-neutral: each CI system's renderer lays this out in its own file format, adding what only it has.
Every name, role, path and branch here is read from the plan. Job names are the one thing chosen
here (``deploy-<environment>``), so that configs, policy tests and the rehearsal agree on them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..declaration.model import Tier
from ..plan.model import Deployment, DeveloperLookup, Plan, RepositoryPlan

WORKFLOW = "deliver"
TEST_JOB = "test"
BUILD_JOB = "build-image"
ANY_BRANCH = "*"


@dataclass(frozen=True)
class RoleChoice:
    """The one Vault role a deploy job logs in with, and what it reads."""

    role: str
    secrets: tuple[tuple[str, str], ...]
    """``(API path, file)`` of each secret it reads, e.g. ``("kv-production/data/apps/webapp", "webapp.json")``:
    its own, then the shared ones (``shared/<name>.json``)."""


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
    role: RoleChoice | None
    """The role, unless the environment is per developer (then the job finds it from its token)."""
    developer_lookup: DeveloperLookup | None = None
    """Per developer: how the job finds its role and secrets from its own token; no developer is named, so
    the rendered job is the same whoever is onboarded or leaves."""
    records: str | None = None
    """Where the job records the digest it deployed (API path prefix), when another environment promotes
    from this one."""
    promoted_from: tuple[str, str] | None = None
    """``(environment, API path prefix)`` of the records a digest must be in before the job deploys it."""

    @property
    def per_developer(self) -> bool:
        return self.developer_lookup is not None

    @property
    def role_name(self) -> str:
        """The role it logs in as, for people (per developer: ``<env>.<repo>.<user id>``)."""
        if self.role is not None:
            return self.role.role
        assert self.developer_lookup is not None
        return f"{self.developer_lookup.role_prefix}<user id>"

    @property
    def secret_files(self) -> tuple[str, ...]:
        """The files its secrets go in, in its secrets directory."""
        if self.role is not None:
            return tuple(file for _, file in self.role.secrets)
        assert self.developer_lookup is not None
        return (self.developer_lookup.secret_file, *(file for _, file in self.developer_lookup.shared))

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


def pipeline(plan: Plan, repository: str, ci: str, *, include_frozen: bool = False) -> Pipeline:
    """The pipeline of ``repository`` on the CI system named ``ci``; frozen production deploys are
    left out unless asked."""
    repo = plan.repository(repository)
    deployments = [
        d for env in plan.environments for d in env.deployments
        if d.repository == repository and d.ci == ci
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


def _deploy_job(plan: Plan, deployment: Deployment, earlier: list[DeployJob]) -> DeployJob:
    env = plan.environment(deployment.environment)
    requires = [BUILD_JOB]
    if deployment.tier is Tier.PRODUCTION:
        # Promote what staging received: production waits for every staging deploy of this pipeline.
        requires += [job.name for job in earlier if job.tier is Tier.STAGING]
    # Every role of a deployment shares its mount, audience and promotion paths; only a per-developer
    # role's name and own secret differ, and the job finds those from its token.
    first_role = deployment.roles[0]
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
        role=None if deployment.developer_lookup else RoleChoice(
            role=first_role.role_name,
            secrets=tuple((p.data_path, p.file_name) for p in first_role.secret_paths),
        ),
        developer_lookup=deployment.developer_lookup,
        records=first_role.records.data_prefix if first_role.records else None,
        promoted_from=(first_role.promoted_from.environment, first_role.promoted_from.data_prefix)
        if first_role.promoted_from else None,
    )
