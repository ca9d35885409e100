"""A repository's deploy workflow (at the plan's ``workflow_path``) and the actionlint config that names
its runner labels."""

from __future__ import annotations

from ...plan.model import CIRole, Plan
from ...render import deploy_shell
from ...render.pipelines import DeployJob, Pipeline, pipeline
from ...render.templating import RenderSource, Templates
from .actions import PINNED_ACTIONS
from .workflow import NAME, github_actions_plan

ACTIONLINT_PATH = ".github/actionlint.yaml"
HOSTED_RUNNER = "ubuntu-24.04"
TEMPLATES = Templates(__package__ or "secure_pipelines.ci.github_actions")


def github_expression(expression: str) -> str:
    """``${{ expression }}`` without fighting Jinja's own braces in templates."""
    return "${{ " + expression + " }}"


def actor_id(role: CIRole) -> str:
    """Per developer: the ``actor_id`` the role is bound to."""
    return str(role.claims["actor_id"][0])


def github_actions_pipeline(plan: Plan, repository: str) -> Pipeline:
    """The pipeline of ``repository`` on GitHub Actions."""
    return pipeline(plan, repository, NAME, actor_id)


def runs_on(job: DeployJob) -> tuple[str, ...]:
    """Runner labels: self-hosted, labelled with the environment, when Vault only admits known egress
    ranges; GitHub-hosted otherwise."""
    return (HOSTED_RUNNER,) if job.admits_any_address else ("self-hosted", job.environment)


def github_workflow(plan: Plan, repository: str, source: RenderSource) -> str:
    """The deploy workflow of ``repository``: it deploys on the plan's deploy events only."""
    return TEMPLATES.render("deploy.yml.j2", header=source.header(), pipeline=github_actions_pipeline(plan, repository),
                            actions=PINNED_ACTIONS, gh=github_expression, runs_on=runs_on, shell=deploy_shell,
                            deploy_events=github_actions_plan(plan).deploy_events,
                            workflow_path=github_actions_plan(plan).workflow_path)


def github_actionlint_config(plan: Plan, repository: str, source: RenderSource) -> str:
    """actionlint's config for ``repository``: the self-hosted runner labels its workflow uses."""
    jobs = github_actions_pipeline(plan, repository).deploy_jobs
    labels = sorted({label for job in jobs for label in runs_on(job)[1:] if runs_on(job)[0] == "self-hosted"})
    return TEMPLATES.render("actionlint.yaml.j2", header=source.header(), labels=labels)
