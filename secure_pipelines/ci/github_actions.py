"""GitHub Actions: OIDC tokens from ``token.actions.githubusercontent.com``."""

from __future__ import annotations

from ..declaration import CISystemName, Declaration, Developer, Environment, Repository
from .base import Binding, BoundClaim

ISSUER = "https://token.actions.githubusercontent.com"


class GitHubActionsSystem:
    name = CISystemName.GITHUB_ACTIONS
    mount_path = "github-actions"
    user_claim = "sub"
    pipeline_template = "github/deploy.yml.j2"

    def issuer(self, declaration: Declaration) -> str:
        return ISSUER

    def discovery_url(self, declaration: Declaration) -> str:
        return ISSUER

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        configured = declaration.ci.github_actions.audience if declaration.ci.github_actions else None
        return (configured or f"https://github.com/{declaration.organization.github.owner}",)

    def binding(
        self,
        declaration: Declaration,
        repository: Repository,
        environment: Environment,
        developer: Developer | None,
    ) -> Binding:
        # GitHub sends every id claim as a JSON string.
        claims = [
            BoundClaim("repository_id", (str(repository.github_id),)),
            BoundClaim("repository_owner_id", (str(declaration.organization.github.owner_id),)),
            BoundClaim("environment", (environment.name,)),
        ]
        branches = declaration.deploy_branches(environment, repository)
        any_branch = "*" in branches
        if not any_branch:
            claims.append(BoundClaim("ref", tuple(f"refs/heads/{b}" for b in branches)))
            claims.append(BoundClaim("ref_type", ("branch",)))
        if developer is not None:
            claims.append(BoundClaim("actor_id", (str(developer.github_user_id),)))
        return Binding(
            claims=tuple(claims),
            claims_match="string",
            ref_binding="any branch" if any_branch else ", ".join(f"refs/heads/{b}" for b in branches),
            deploy_via=f"environment {environment.name}",
        )
