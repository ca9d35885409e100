"""A repository's ``.circleci/config.yml``: the CI-neutral pipeline laid out as CircleCI runs it,
with each deploy job's context, runner class, IP ranges and manual approval."""

from __future__ import annotations

from dataclasses import dataclass

from ...plan.model import Plan
from ...render.deploy_shell import JobToken, deploy_script
from ...render.pipelines import DeployJob, Pipeline, pipeline
from ...render.templating import RenderSource, Templates
from .plan import NAME, circleci_plan

CONFIG_PATH = ".circleci/config.yml"
CLOUD_IMAGE = "cimg/base:2025.01"
"""The image of the rendered cloud jobs; keep ``cimg/`` in ``pipeline_policy.approved_registries``."""
TEMPLATES = Templates(__package__ or "secure_pipelines.ci.circleci")
WORKSPACE = "/tmp/workspace"
"""Where deploy jobs attach the workspace the image build persisted its reference to."""
TOKEN = JobToken(variable="CIRCLE_OIDC_TOKEN_V2",
                 user_id='.sub // "" | capture("^org/[^/]+/project/[^/]+/user/(?<id>[^/]+)/").id',
                 user_name="CircleCI user")
"""The job's OIDC token (v2: with the vcs claims the roles bind); per developer, the user id CircleCI puts
inside ``sub`` names the role."""


@dataclass(frozen=True)
class CircleCIDeploy:
    """A deploy job as CircleCI runs it: the pipeline's job, and what only CircleCI adds to it."""

    job: DeployJob
    approval_job: str | None
    """The manual approval job this deploy waits for."""
    ip_ranges: bool
    """The job runs with CircleCI's published IP ranges."""
    script: str
    """The deploy step's shell (``deploy_shell``)."""


def circleci_pipeline(plan: Plan, repository: str, *, include_frozen: bool = False) -> Pipeline:
    """The pipeline of ``repository`` on CircleCI (frozen production deploys left out unless asked)."""
    return pipeline(plan, repository, NAME, include_frozen=include_frozen)


def approval_job_name(environment: str) -> str:
    return f"approve-{environment}"


def circleci_config_path(repository: str) -> str:
    return f"repositories/{repository}/{CONFIG_PATH}"


def circleci_config(plan: Plan, repository: str, source: RenderSource, *, include_frozen: bool = False) -> str:
    """``.circleci/config.yml`` of ``repository`` (production deploys under a code freeze left out)."""
    shape = circleci_pipeline(plan, repository, include_frozen=include_frozen)
    extra = circleci_plan(plan)
    deploys = [
        CircleCIDeploy(
            job=job,
            approval_job=approval_job_name(job.environment) if extra.environment(job.environment).approval_hold
            else None,
            ip_ranges=extra.environment(job.environment).ip_ranges,
            script=deploy_script(job, TOKEN, f'"$(cat {WORKSPACE}/image/ref)"'),
        )
        for job in shape.deploy_jobs
    ]
    return TEMPLATES.render("config.yml.j2", header=source.header(), pipeline=shape, deploys=deploys,
                            image=CLOUD_IMAGE, workspace=WORKSPACE)
