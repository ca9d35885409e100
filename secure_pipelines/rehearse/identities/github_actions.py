"""GitHub Actions' OIDC token for a job (``ACTIONS_ID_TOKEN_REQUEST_URL``)."""

from __future__ import annotations

from typing import Any

from ...ci.github_actions import ISSUER, GitHubActionsSystem
from ...declaration import CISystemName, Declaration
from ...plan import Plan
from .base import Job, fake_numeric_id

TOKEN_LIFETIME_SECONDS = 300
_SYSTEM = GitHubActionsSystem()


class GitHubActionsIdentity:
    ci = CISystemName.GITHUB_ACTIONS
    has_ssh_rerun = False
    has_pipeline_definitions = False  # a workflow on a branch is that branch's (reviewed) code

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return any(e.name == environment for e in plan.environments)

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        github = declaration.organization.github
        owner, owner_id = github.owner, github.owner_id
        repo_name, repo_id = job.repository.name, job.repository.github_id
        if job.organization_suffix:
            owner = f"{owner}-{job.organization_suffix}"
            owner_id = fake_numeric_id("github-owner", owner)
            repo_id = fake_numeric_id("github-repository", owner, repo_name)
        if job.from_fork:
            owner = "attacker-fork"
            owner_id = fake_numeric_id("github-owner", owner)
            repo_id = fake_numeric_id("github-repository", owner, repo_name)
        repository = f"{owner}/{repo_name}"
        actor_id = (
            str(job.developer.github_user_id)
            if job.developer and job.developer.github_user_id else str(fake_numeric_id("github-user", "merger"))
        )
        if job.deploys_via is not None:
            subject = f"repo:{repository}:environment:{job.deploys_via}"
        elif job.event == "pull_request":
            subject = f"repo:{repository}:pull_request"
        else:
            subject = f"repo:{repository}:ref:{job.ref}"
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": _SYSTEM.audiences(declaration)[0],
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
