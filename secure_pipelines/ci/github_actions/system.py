"""GitHub Actions as a :class:`~secure_pipelines.ci.base.CISystem`: one issuer for every repository,
roles bound to the immutable repository and owner ids, the deployment environment and the ref."""

from __future__ import annotations

from ...declaration.model import GITHUB_HOST, Declaration, Developer, Environment, Repository
from ...errors import Problem
from ...plan.model import BoundClaim, Plan
from ...render.templating import RenderSource
from ..base import AttackTarget, Binding, DeploySettings, JobAttack, SectionModels
from . import sections
from .identity import ISSUER, GitHubActionsIdentity, audience
from .render import ACTIONLINT_PATH, NAME, WORKFLOW_PATH, github_actionlint_config, github_workflow

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
    vcs_host = GITHUB_HOST
    deploys_through_github_environments = True
    version_1_moves = VERSION_1_MOVES

    def problems(self, declaration: Declaration) -> list[Problem]:
        return []  # its ids are the core's (github_id, the owner); the core checks developers' user ids

    def warnings(self, declaration: Declaration) -> list[Problem]:
        return []

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
        if not any_branch:
            claims.append(BoundClaim("ref", tuple(f"refs/heads/{b}" for b in branches)))
            claims.append(BoundClaim("ref_type", ("branch",)))
        if developer is not None:
            user = sections.developer(developer)
            assert user is not None, "checked by validation"
            claims.append(BoundClaim("actor_id", (str(user.user_id),)))
        return Binding(
            claims=tuple(claims),
            claims_match="string",
            ref_binding="any branch" if any_branch else ", ".join(f"refs/heads/{b}" for b in branches),
            deploy_via=f"environment {environment.name}",
        )

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings:
        return DeploySettings(deploy_via=environment.name, runner=None)

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        return False  # GitHub deployment environment reviewers are the core's (the VCS host's) concern

    def plan_extra(self, declaration: Declaration) -> None:
        return None

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        return {
            WORKFLOW_PATH: github_workflow(plan, repository, source),
            ACTIONLINT_PATH: github_actionlint_config(plan, repository, source),
        }

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        return []  # no SSH reruns, no pipeline definitions: the common attacks cover its jobs
