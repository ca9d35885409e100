"""The infrastructure repository on GitLab CI: merge request pipelines check without any credential;
push pipelines of the protected default branch apply each stack, each job in the stack's (protected)
GitLab environment, logged in to Vault through that stack's deployer role."""

from __future__ import annotations

from ...declaration.model import Declaration, Environment, Repository
from ...plan.model import BoundClaim, CIRole, Plan
from ...render import deploy_shell
from ...render.pipelines import TEST_JOB
from ...render.templating import RenderSource
from ..base import Binding
from . import sections
from .claims import (
    BRANCH,
    CI_CONFIG_REF_URI,
    DEPLOYMENT_TIER,
    ENVIRONMENT,
    ENVIRONMENT_ACTION,
    ENVIRONMENT_PROTECTED,
    ENVIRONMENT_PROTECTED_TRAIT,
    NAMESPACE_ID,
    PIPELINE_SOURCE,
    PROJECT_ID,
    PUSH,
    REF,
    REF_PROTECTED,
    REF_TYPE,
    RUNNER_ENVIRONMENT,
    RUNNER_TRAIT,
    SELF_HOSTED,
    START,
    TRUE,
)
from .plan import ID_TOKEN_VARIABLE, deployment_tier, gitlab_plan
from .render import JOB_IMAGE, TEMPLATES, TOKEN

RUNNER_TAG = "infrastructure"
"""The tag of the self-hosted runners that apply the stacks (egress in ``infrastructure.ip_allowlist``)."""


def apply_job_name(stack: str) -> str:
    return f"apply-{stack}"


def _protects_environments(declaration: Declaration) -> bool:
    return sections.organization(declaration).plan.protects_environments


def apply_step(role: CIRole) -> str:
    """The apply job's shell: log in with the job's ID token through the stack's role, ``pulumi up``."""
    return deploy_shell.apply_script(role.mount_path, role.role_name, role.environment, TOKEN)


class GitLabInfrastructure:
    """The infrastructure pipeline on GitLab CI."""

    def binding(self, declaration: Declaration, repository: Repository, environment: Environment) -> Binding:
        project = sections.repository(repository)
        branch = repository.default_branch
        config = sections.config_ref_uri(declaration, repository, branch)
        claims = [
            BoundClaim(PROJECT_ID, (str(project.project_id),)),
            BoundClaim(NAMESPACE_ID, (str(project.namespace_id),)),
            BoundClaim(PIPELINE_SOURCE, (PUSH,)),
            BoundClaim(REF_TYPE, (BRANCH,)),
            BoundClaim(REF, (branch,)),
            BoundClaim(REF_PROTECTED, (TRUE,)),
            BoundClaim(CI_CONFIG_REF_URI, (config,)),
            BoundClaim(ENVIRONMENT, (environment.name,)),
            BoundClaim(DEPLOYMENT_TIER, (deployment_tier(environment.tier),)),
            BoundClaim(ENVIRONMENT_ACTION, (START,)),
            BoundClaim(RUNNER_ENVIRONMENT, (SELF_HOSTED,)),
        ]
        if _protects_environments(declaration):
            claims.append(BoundClaim(ENVIRONMENT_PROTECTED, (TRUE,)))
        return Binding(tuple(claims), "string", f"refs/heads/{branch}",
                       f"environment {environment.name} of {project.ci_config_path}")

    def job_traits(self, declaration: Declaration) -> tuple[tuple[str, str | bool], ...]:
        traits: tuple[tuple[str, str | bool], ...] = ((RUNNER_TRAIT, SELF_HOSTED),)
        if _protects_environments(declaration):
            traits += ((ENVIRONMENT_PROTECTED_TRAIT, True),)
        return traits

    def files(self, plan: Plan, source: RenderSource) -> dict[str, str]:
        infrastructure = plan.infrastructure
        assert infrastructure is not None, "asked only when the declaration names it"
        path = gitlab_plan(plan).project(infrastructure.repository).ci_config_path
        jobs = [(apply_job_name(role.environment), role) for role in infrastructure.roles]
        config = TEMPLATES.render(
            "infrastructure.gitlab-ci.yml.j2", header=source.header(), infrastructure=infrastructure, jobs=jobs,
            image=JOB_IMAGE, runner_tag=RUNNER_TAG, token_variable=ID_TOKEN_VARIABLE, apply_step=apply_step,
            config_path=path, deployment_tier=deployment_tier, test_job=TEST_JOB,
            security_jobs=plan.pipeline_policy.required_security_jobs)
        return {path: config}

