"""GitHub Actions' OIDC token for a job (``ACTIONS_ID_TOKEN_REQUEST_URL``), as the rehearsal mints it."""

from __future__ import annotations

from typing import Any

from ...declaration.model import Declaration
from ...plan.model import Plan
from ..base import Job, fake_numeric_id
from . import sections

ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_LIFETIME_SECONDS = 300


def audience(declaration: Declaration) -> str:
    """The audience workflows request: declared, or GitHub's default for the owner."""
    return sections.organization(declaration).audience or f"https://github.com/{declaration.organization.github.owner}"


class GitHubActionsIdentity:
    """How GitHub Actions describes a job in its token."""

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return any(e.name == environment for e in plan.environments)

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        github = declaration.organization.github
        owner, owner_id = github.owner, github.owner_id
        repo_name, repo_id = job.repository.name, sections.repository_id(job.repository)
        if job.foreign_repository:
            repo_name = f"{repo_name}-other"
            repo_id = fake_numeric_id("repository", job.repository.name, "other")
        if job.organization_suffix:
            owner = f"{owner}-{job.organization_suffix}"
            owner_id = fake_numeric_id("github-owner", owner)
            repo_id = fake_numeric_id("github-repository", owner, repo_name)
        if job.from_fork:
            owner = "attacker-fork"
            owner_id = fake_numeric_id("github-owner", owner)
            repo_id = fake_numeric_id("github-repository", owner, repo_name)
        repository = f"{owner}/{repo_name}"
        developer = sections.developer(job.developer) if job.developer else None
        actor_id = str(developer.user_id) if developer else str(fake_numeric_id("github-user", "merger"))
        if job.deploys_via is not None:
            subject = f"repo:{repository}:environment:{job.deploys_via}"
        elif job.event == "pull_request":
            subject = f"repo:{repository}:pull_request"
        else:
            subject = f"repo:{repository}:ref:{job.ref}"
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience(declaration),
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "repository": repository,
            "repository_id": str(repo_id),
            "repository_owner": owner,
            "repository_owner_id": str(owner_id),
            "repository_visibility": str(job.repository.visibility),
            "actor": job.developer.name if job.developer else "merger",
            "actor_id": actor_id,
            "ref": job.ref,
            "ref_type": "tag" if job.ref.startswith("refs/tags/") else "branch",
            "event_name": job.event,
            "workflow_ref": f"{repository}/.github/workflows/deploy.yml@{job.ref}",
            "job_workflow_ref": f"{repository}/.github/workflows/deploy.yml@{job.ref}",
            "runner_environment": "github-hosted",
        }
        if job.deploys_via is not None:
            claims["environment"] = job.deploys_via
        return claims
