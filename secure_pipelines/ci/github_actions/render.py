"""A repository's deploy workflow (at the plan's ``workflow_path``) and the actionlint config that names
its runner labels."""

from __future__ import annotations

from urllib.parse import quote

from ...plan.model import Plan
from ...render.deploy_shell import JobToken, deploy_script
from ...render.pipelines import DeployJob, Pipeline, pipeline
from ...render.templating import RenderSource, Templates
from .actions import PINNED_ACTIONS
from .workflow import NAME, github_actions_plan, job_events

ACTIONLINT_PATH = ".github/actionlint.yaml"
HOSTED_RUNNER = "ubuntu-24.04"
TEMPLATES = Templates(__package__ or "secure_pipelines.ci.github_actions")


def github_expression(expression: str) -> str:
    """``${{ expression }}`` without fighting Jinja's own braces in templates."""
    return "${{ " + expression + " }}"


def job_token(audience: str) -> JobToken:
    """The job requests its OIDC token for Vault's audience (``id-token: write``), in the deploy step itself:
    neither the token nor the request credential ever leaves that step's shell."""
    fetch = f"""\
if [ -z "${{ACTIONS_ID_TOKEN_REQUEST_URL:-}}" ]; then
  echo "error: this job cannot request an OIDC token; it needs permissions: id-token: write" >&2; exit 1
fi
id_token=$(curl --silent --show-error --fail \\
  --header @<(printf 'Authorization: bearer %s\\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN") \\
  "$ACTIONS_ID_TOKEN_REQUEST_URL&audience={quote(audience, safe='')}" | jq -r '.value // empty')
if [ -z "$id_token" ]; then
  echo "error: GitHub gave this job no OIDC token for the audience {audience}" >&2; exit 1
fi"""
    return JobToken(variable="id_token", fetch=fetch,
                    minters=("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL"),
                    user_id=".actor_id // empty", user_name="GitHub user")


def deploy_step(job: DeployJob) -> str:
    """The deploy step's shell: request the token, log in, read the secrets, deploy the image by digest."""
    return deploy_script(job, job_token(job.audience), '"$IMAGE_REF"')


def github_actions_pipeline(plan: Plan, repository: str) -> Pipeline:
    """The pipeline of ``repository`` on GitHub Actions."""
    return pipeline(plan, repository, NAME)


def runs_on(job: DeployJob) -> tuple[str, ...]:
    """Runner labels: self-hosted, labelled with the environment, when Vault only admits known egress
    ranges; GitHub-hosted otherwise."""
    return (HOSTED_RUNNER,) if job.admits_any_address else ("self-hosted", job.environment)


def event_test(events: tuple[str, ...]) -> str:
    """The ``if:`` expression true on ``events`` only."""
    tests = [f"github.event_name == '{event}'" for event in events]
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"


def github_workflow(plan: Plan, repository: str, source: RenderSource) -> str:
    """The deploy workflow of ``repository``: each deploy job runs on the events its role admits (the plan's
    deploy events; a push alone per developer), and the image is built on any of them."""
    settings = github_actions_plan(plan)
    workflow = github_actions_pipeline(plan, repository)

    def events_of(job: DeployJob) -> tuple[str, ...]:
        return job_events(settings.deploy_events, job.per_developer)

    build_events = tuple(dict.fromkeys(e for job in workflow.deploy_jobs for e in events_of(job))) \
        or settings.deploy_events
    return TEMPLATES.render("deploy.yml.j2", header=source.header(), pipeline=workflow,
                            actions=PINNED_ACTIONS, gh=github_expression, runs_on=runs_on, deploy_step=deploy_step,
                            deploy_events=settings.deploy_events, event_test=event_test, events_of=events_of,
                            build_events=build_events, workflow_path=settings.workflow_path)


def github_actionlint_config(plan: Plan, repository: str, source: RenderSource) -> str:
    """actionlint's config for ``repository``: the self-hosted runner labels its workflow uses."""
    jobs = github_actions_pipeline(plan, repository).deploy_jobs
    labels = sorted({label for job in jobs for label in runs_on(job)[1:] if runs_on(job)[0] == "self-hosted"})
    return TEMPLATES.render("actionlint.yaml.j2", header=source.header(), labels=labels)
