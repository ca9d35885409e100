"""The infrastructure repository on GitHub Actions: its workflow checks every change without any
credential and, on the default branch, applies each stack, each job in the stack's GitHub deployment
environment, logged in to Vault through that stack's deployer role."""

from __future__ import annotations

from dataclasses import dataclass

from ...declaration.model import Declaration, Environment, Repository
from ...plan.model import BoundClaim, CIRole, Plan
from ...render import deploy_shell
from ...render.pipelines import TEST_JOB
from ...render.templating import RenderSource
from ..base import Binding
from . import sections
from .actions import PINNED_ACTIONS
from .claims import RUNNER_TRAIT, WORKFLOW_FILE_TRAIT
from .render import ACTIONLINT_PATH, HOSTED_RUNNER, TEMPLATES, github_expression, job_token
from .workflow import SELF_HOSTED, workflow_ref

WORKFLOW_FILE = "infrastructure.yml"
WORKFLOW_PATH = f".github/workflows/{WORKFLOW_FILE}"
"""The infrastructure workflow's file: the deployer roles admit only it, at the default branch."""
RUNNER_LABEL = "infrastructure"
"""The label of the self-hosted runners that apply the stacks (egress in ``infrastructure.ip_allowlist``)."""
APPLY_EVENT = "push"


def apply_job_name(stack: str) -> str:
    return f"apply-{stack}"


@dataclass(frozen=True)
class ApplyJob:
    """One stack's apply job, after the previous stack's."""

    name: str
    stack: str
    role: CIRole
    after: str | None


def apply_step(job: ApplyJob) -> str:
    """The apply step's shell: request the OIDC token, log in through the stack's role, ``pulumi up``."""
    role = job.role
    return deploy_shell.apply_script(role.mount_path, role.role_name, job.stack, job_token(role.bound_audiences[0]))


class GitHubInfrastructure:
    """The infrastructure pipeline on GitHub Actions."""

    def binding(self, declaration: Declaration, repository: Repository, environment: Environment) -> Binding:
        owner = declaration.organization.github.owner
        ref = f"refs/heads/{repository.default_branch}"
        workflow = workflow_ref(f"{owner}/{repository.name}", ref, WORKFLOW_PATH)
        claims = (
            BoundClaim("repository_id", (str(sections.repository_id(repository)),)),
            BoundClaim("repository_owner_id", (str(declaration.organization.github.owner_id),)),
            BoundClaim("environment", (environment.name,)),
            BoundClaim("ref", (ref,)),
            BoundClaim("ref_type", ("branch",)),
            BoundClaim("event_name", (APPLY_EVENT,)),
            BoundClaim("workflow_ref", (workflow,)),
            BoundClaim("job_workflow_ref", (workflow,)),
            BoundClaim("runner_environment", (SELF_HOSTED,)),
        )
        return Binding(claims=claims, claims_match="string", ref_binding=ref,
                       deploy_via=f"environment {environment.name} of {WORKFLOW_PATH}")

    def job_traits(self, declaration: Declaration) -> tuple[tuple[str, str | bool], ...]:
        return ((WORKFLOW_FILE_TRAIT, WORKFLOW_FILE), (RUNNER_TRAIT, SELF_HOSTED))

    def files(self, plan: Plan, source: RenderSource) -> dict[str, str]:
        infrastructure = plan.infrastructure
        assert infrastructure is not None, "asked only when the declaration names it"
        jobs: list[ApplyJob] = []
        for role in infrastructure.roles:
            jobs.append(ApplyJob(apply_job_name(role.environment), role.environment, role,
                                 jobs[-1].name if jobs else None))
        workflow = TEMPLATES.render(
            "infrastructure.yml.j2", header=source.header(), infrastructure=infrastructure, jobs=jobs,
            actions=PINNED_ACTIONS, gh=github_expression, apply_step=apply_step, hosted_runner=HOSTED_RUNNER,
            runner_label=RUNNER_LABEL, workflow_path=WORKFLOW_PATH, event=APPLY_EVENT, test_job=TEST_JOB,
            security_jobs=plan.pipeline_policy.required_security_jobs)
        actionlint = TEMPLATES.render("actionlint.yaml.j2", header=source.header(), labels=[RUNNER_LABEL])
        return {WORKFLOW_PATH: workflow, ACTIONLINT_PATH: actionlint}
