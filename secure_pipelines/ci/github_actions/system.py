"""GitHub Actions as a :class:`~secure_pipelines.ci.base.CISystem`: one issuer for every repository,
roles bound to the immutable repository and owner ids, the deployment environment and the ref; for
test, staging and production also to the deploy workflow, its events and (where the allowlist is closed)
self-hosted runners; per developer, to the developer (``actor_id``) and a push."""

from __future__ import annotations

from ...declaration.model import GITHUB_HOST, REVIEWED_TIERS, Declaration, Developer, Environment, Repository
from ...errors import Problem
from ...plan.model import BoundClaim, Plan
from ...render.templating import RenderSource
from ..base import AttackTarget, Binding, DeploySettings, JobAttack, SectionModels
from . import attacks, checks, sections
from .identity import ISSUER, GitHubActionsIdentity, audience
from .infrastructure import GitHubInfrastructure
from .render import ACTIONLINT_PATH, github_actionlint_config, github_workflow
from .scaffold import GitHubActionsScaffold
from .setup import GitHubActionsSetupSteps
from .workflow import (
    DEVELOPER_DEPLOY_EVENTS,
    NAME,
    SELF_HOSTED,
    GitHubActionsPlan,
    build,
    deploy_events,
    github_actions_plan,
    on_self_hosted_runners,
    workflow_ref,
)

VERSION_1_MOVES = (
    ("repositories[].ci: [github-actions]", "repositories[].ci: {github_actions: {}}"),
    ("developers[].github_user_id", "developers[].ci.github_actions.user_id"),
)


class GitHubActionsSystem:
    """GitHub Actions: deploy jobs run in GitHub deployment environments named after the environment."""

    key = sections.KEY
    name = NAME
    title = "GitHub Actions"
    mount_path = "github-actions"
    user_claim = "sub"
    sections = SectionModels(
        organization=sections.GitHubActionsOrganization,
        repository=sections.GitHubActionsRepository,
        environment=None,
        developer=sections.GitHubActionsDeveloper,
        organization_hint="(it may be empty: {})",
    )
    identity = GitHubActionsIdentity()
    contexts = None
    later_layers = None
    config_policy = None
    infrastructure = GitHubInfrastructure()
    scaffold = GitHubActionsScaffold()
    setup_steps = GitHubActionsSetupSteps()
    vcs_host = GITHUB_HOST
    deploys_through_github_environments = True
    version_1_moves = VERSION_1_MOVES

    def problems(self, declaration: Declaration) -> list[Problem]:
        return checks.problems(declaration)  # the core checks its ids (github_id, owner) and developers' ids

    def warnings(self, declaration: Declaration) -> list[Problem]:
        return checks.warnings(declaration)

    def issuer(self, declaration: Declaration) -> str:
        return ISSUER

    def discovery_url(self, declaration: Declaration) -> str:
        return ISSUER

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        return (audience(declaration),)

    def binding(
        self, declaration: Declaration, repository: Repository, environment: Environment, developer: Developer | None
    ) -> Binding:
        # GitHub sends every id claim as a JSON string.
        claims = [
            BoundClaim("repository_id", (str(sections.repository_id(repository)),)),
            BoundClaim("repository_owner_id", (str(declaration.organization.github.owner_id),)),
            BoundClaim("environment", (environment.name,)),
        ]
        branches = declaration.deploy_branches(environment, repository)
        any_branch = "*" in branches
        refs = tuple(f"refs/heads/{b}" for b in branches)
        if not any_branch:
            claims.append(BoundClaim("ref", refs))
            claims.append(BoundClaim("ref_type", ("branch",)))
        if environment.tier in REVIEWED_TIERS:
            # The reviewed deploy workflow on the branches that deploy, run on the events it deploys on. For a
            # workflow that calls no other, job_workflow_ref names the workflow itself.
            owner = declaration.organization.github.owner
            workflows = tuple(workflow_ref(f"{owner}/{repository.name}", ref) for ref in refs)
            claims.append(BoundClaim("event_name", deploy_events(declaration)))
            claims.append(BoundClaim("workflow_ref", workflows))
            claims.append(BoundClaim("job_workflow_ref", workflows))
        if on_self_hosted_runners(environment):
            claims.append(BoundClaim("runner_environment", (SELF_HOSTED,)))
        user = sections.developer(developer) if developer is not None else None
        if developer is not None:
            assert user is not None, "checked by validation"
            # actor_id is whoever started the run; only a push's starter put the code there (DEVELOPER_DEPLOY_EVENTS).
            claims.append(BoundClaim("actor_id", (str(user.user_id),)))
            claims.append(BoundClaim("event_name", DEVELOPER_DEPLOY_EVENTS))
        return Binding(
            claims=tuple(claims),
            claims_match="string",
            ref_binding="any branch" if any_branch else ", ".join(refs),
            deploy_via=f"environment {environment.name}",
            user_id=str(user.user_id) if user is not None else None,
            developer_jobs=f"runs started by {developer.name}'s pushes" if developer is not None else None,
        )

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings:
        return DeploySettings(deploy_via=environment.name, runner=None)

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        return False  # GitHub deployment environment reviewers are the core's (the VCS host's) concern

    def plan_extra(self, declaration: Declaration) -> GitHubActionsPlan:
        return build(declaration)

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        return {
            github_actions_plan(plan).workflow_path: github_workflow(plan, repository, source),
            ACTIONLINT_PATH: github_actionlint_config(plan, repository, source),
        }

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        return attacks.attacks(target)
