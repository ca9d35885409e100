"""GitLab CI as a :class:`~secure_pipelines.ci.base.CISystem`: one JWT mount for the instance, roles
bound to the project's immutable ids, the protected default branch, the pipeline source, the
protected environment and its action, the pinned CI config and, where the allowlist is closed, a
self-hosted runner; per developer, the user executing the job (``user_id``), which is also whoever retries
or plays it: no claim names who pushed the pipeline, so validate warns."""

from __future__ import annotations

from ...declaration.model import REVIEWED_TIERS, Declaration, Developer, Environment, Repository
from ...errors import Problem
from ...plan.model import BoundClaim, Plan
from ...render.templating import RenderSource
from ..base import AttackTarget, Binding, DeploySettings, JobAttack, SectionModels, refs_for_people
from . import attacks, checks, sections
from .claims import (
    BRANCH,
    CI_CONFIG_REF_URI,
    DEPLOYMENT_TIER,
    ENVIRONMENT,
    ENVIRONMENT_ACTION,
    ENVIRONMENT_PROTECTED,
    NAMESPACE_ID,
    PIPELINE_SOURCE,
    PROJECT_ID,
    REF,
    REF_PROTECTED,
    REF_TYPE,
    RUNNER_ENVIRONMENT,
    SELF_HOSTED,
    START,
    TRUE,
    USER_ID,
)
from .identity import GitLabCIIdentity
from .infrastructure import GitLabInfrastructure
from .plan import NAME, GitLabCIPlan, build, deployment_tier, gitlab_plan, requires_protected_environment
from .render import gitlab_ci_config
from .scaffold import GitLabCIScaffold
from .sections import config_ref_uri
from .setup import GitLabCISetupSteps

VCS_HOST = "gitlab"


def _jobs_run_by(developer: str) -> str:
    """For people: the jobs a per-developer role admits as ``developer``'s (``user_id`` is who executes a job)."""
    return f"jobs {developer} runs: {developer}'s pushes, and any job {developer} retries or plays, whoever pushed it"


class GitLabCISystem:
    """GitLab CI: deploy jobs run in GitLab environments named after the environment."""

    key = sections.KEY
    name = NAME
    title = "GitLab CI"
    mount_path = "gitlab-ci"
    user_claim = "sub"
    sections = SectionModels(
        organization=sections.GitLabOrganization,
        repository=sections.GitLabRepository,
        environment=sections.GitLabEnvironment,
        developer=sections.GitLabDeveloper,
        organization_hint="with the instance url (default https://gitlab.com) and plan",
    )
    identity = GitLabCIIdentity()
    contexts = None
    later_layers = None
    config_policy = None
    infrastructure = GitLabInfrastructure()
    scaffold = GitLabCIScaffold()
    setup_steps = GitLabCISetupSteps()
    vcs_host = VCS_HOST
    deploys_through_github_environments = False
    version_1_moves = ()

    def problems(self, declaration: Declaration) -> list[Problem]:
        return checks.problems(declaration)

    def warnings(self, declaration: Declaration) -> list[Problem]:
        return checks.warnings(declaration)

    def issuer(self, declaration: Declaration) -> str:
        return sections.organization(declaration).url

    def discovery_url(self, declaration: Declaration) -> str:
        return self.issuer(declaration)

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        return (sections.audience(declaration),)

    def binding(
        self, declaration: Declaration, repository: Repository, environment: Environment, developer: Developer | None
    ) -> Binding:
        """Every claim GitLab sends as a string, compared exactly (never a glob). Staging and production:
        the protected default branch, the protected environment, the pinned CI config. Development: what
        still holds when any branch may deploy (project, environment, action, source, developer)."""
        project = sections.repository(repository)
        env_section = sections.environment(environment)
        claims = [
            BoundClaim(PROJECT_ID, (str(project.project_id),)),
            BoundClaim(NAMESPACE_ID, (str(project.namespace_id),)),
            BoundClaim(PIPELINE_SOURCE, env_section.deploy_sources),
            BoundClaim(REF_TYPE, (BRANCH,)),
            BoundClaim(ENVIRONMENT, (environment.name,)),
            BoundClaim(DEPLOYMENT_TIER, (deployment_tier(environment.tier),)),
            BoundClaim(ENVIRONMENT_ACTION, (START,)),
        ]
        branches = declaration.deploy_branches(environment, repository)
        if "*" not in branches:
            claims.append(BoundClaim(REF, branches))
            claims.append(BoundClaim(CI_CONFIG_REF_URI, tuple(config_ref_uri(declaration, repository, b)
                                                              for b in branches)))
        if environment.tier in REVIEWED_TIERS:
            claims.append(BoundClaim(REF_PROTECTED, (TRUE,)))
        if requires_protected_environment(declaration, environment):
            claims.append(BoundClaim(ENVIRONMENT_PROTECTED, (TRUE,)))
        if checks.closed_allowlist(environment):
            claims.append(BoundClaim(RUNNER_ENVIRONMENT, (SELF_HOSTED,)))
        if developer is not None:
            claims.append(BoundClaim(USER_ID, (sections.user_id(developer),)))
        return Binding(tuple(claims), "string", refs_for_people(branches), f"environment {environment.name}",
                       user_id=sections.user_id(developer) if developer is not None else None,
                       developer_jobs=_jobs_run_by(developer.name) if developer is not None else None)

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings:
        tags = sections.environment(environment).runner_tags
        return DeploySettings(deploy_via=environment.name, runner=", ".join(tags) or None)

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        return False  # deployment approvals are set in GitLab by hand; the toolkit cannot see them

    def plan_extra(self, declaration: Declaration) -> GitLabCIPlan:
        return build(declaration)

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        return {gitlab_plan(plan).project(repository).ci_config_path: gitlab_ci_config(plan, repository, source)}

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        return attacks.attacks(target)
