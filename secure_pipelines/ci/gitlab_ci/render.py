"""A repository's ``.gitlab-ci.yml``: the CI-neutral pipeline laid out as GitLab CI runs it, each
deploy job in its GitLab environment (``action: start``), with its ID token, runner tags and the
rules its Vault roles require."""

from __future__ import annotations

from dataclasses import dataclass

from ...plan.model import Plan
from ...render.deploy_shell import JobToken, deploy_script
from ...render.pipelines import DeployJob, Pipeline, pipeline
from ...render.templating import RenderSource, Templates
from .claims import USER_ID
from .plan import ID_TOKEN_VARIABLE, NAME, GitLabEnvironmentPlan, deployment_tier, gitlab_plan

JOB_IMAGE = "cimg/base:2025.01"
"""The image every job runs in (bash, curl, jq, the docker CLI)."""
DOCKER_SERVICE = "docker:27-dind"
"""The Docker daemon the image build talks to (TLS, GitLab's documented docker-in-docker setup)."""
PIPELINE_IMAGES = (("every job's image", JOB_IMAGE),
                   ("the image build's Docker-in-Docker service, a privileged container", DOCKER_SERVICE))
"""The images the rendered pipeline runs: ``pipeline_policy.approved_registries`` must cover each."""
TEMPLATES = Templates(__package__ or "secure_pipelines.ci.gitlab_ci")
TOKEN = JobToken(variable=ID_TOKEN_VARIABLE, user_id=f".{USER_ID} // empty", user_name="GitLab user")
"""The deploy job's ID token (``id_tokens:``); per developer, the id of the user who started the pipeline,
from the token, names the role."""


@dataclass(frozen=True)
class GitLabDeploy:
    """A deploy job as GitLab CI runs it: the pipeline's job, and what only GitLab adds to it."""

    job: DeployJob
    rule: str
    """The ``rules: if:`` expression: the branches and pipeline sources its roles admit."""
    tags: tuple[str, ...]
    deployment_tier: str
    script: str
    """The deploy step's shell (``deploy_shell``), run in a subshell of the job's script."""


def gitlab_pipeline(plan: Plan, repository: str) -> Pipeline:
    """The pipeline of ``repository`` on GitLab CI."""
    return pipeline(plan, repository, NAME)


def any_of(variable: str, values: tuple[str, ...]) -> str:
    """``$VAR == "a"``, or ``($VAR == "a" || $VAR == "b")`` (values are branch names or sources: no quotes)."""
    tests = [f'${variable} == "{value}"' for value in values]
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"


def deploy_rule(job: DeployJob, environment: GitLabEnvironmentPlan) -> str:
    """Run on a branch pipeline of an admitted branch, started by an admitted source; never on a
    merge request pipeline (``$CI_COMMIT_BRANCH`` is unset there) nor a tag."""
    branch = "$CI_COMMIT_BRANCH" if job.branches is None else any_of("CI_COMMIT_BRANCH", job.branches)
    return f"{branch} && {any_of('CI_PIPELINE_SOURCE', environment.deploy_sources)}"


def gitlab_ci_config(plan: Plan, repository: str, source: RenderSource) -> str:
    """``.gitlab-ci.yml`` (or the project's declared config path) of ``repository``."""
    shape = gitlab_pipeline(plan, repository)
    extra = gitlab_plan(plan)
    deploys = [
        GitLabDeploy(job=job, rule=deploy_rule(job, env), tags=env.runner_tags,
                     deployment_tier=deployment_tier(job.tier), script=deploy_script(job, TOKEN, '"$IMAGE_REF"'))
        for job in shape.deploy_jobs
        for env in (extra.environment(job.environment),)
    ]
    return TEMPLATES.render("gitlab-ci.yml.j2", header=source.header(), pipeline=shape, deploys=deploys,
                            project=extra.project(repository), audience=extra.audience,
                            token_variable=ID_TOKEN_VARIABLE, image=JOB_IMAGE, docker_service=DOCKER_SERVICE)
