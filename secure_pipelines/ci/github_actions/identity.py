"""GitHub Actions' OIDC token for a job (``ACTIONS_ID_TOKEN_REQUEST_URL``), as the rehearsal mints it."""

from __future__ import annotations

from typing import Any

from ...declaration.model import Declaration
from ...plan.model import Plan
from ..base import Job, fake_numeric_id
from . import sections
from .claims import AUDIENCE_TRAIT, CALLED_WORKFLOW_TRAIT, EVENT_TRAIT, RUNNER_TRAIT, WORKFLOW_FILE_TRAIT
from .workflow import DEPLOY_WORKFLOW_PATH, GITHUB_HOSTED, SELF_HOSTED, on_self_hosted_runners, workflow_ref

ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_LIFETIME_SECONDS = 300


def github_default_audience(declaration: Declaration) -> str:
    """The audience every job's token gets when it asks for none: the owner's URL."""
    return f"https://github.com/{declaration.organization.github.owner}"


def audience(declaration: Declaration) -> str:
    """The audience deploy jobs request and roles bind: declared, or ``vault.<organization.name>``."""
    return sections.organization(declaration).audience or f"vault.{declaration.organization.name}"


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
        # A tag is pushed like a branch: GitHub names the event "push" either way.
        event = str(job.trait(EVENT_TRAIT, "pull_request" if job.event == "pull_request" else "push"))
        workflow = workflow_ref(repository, job.ref, f".github/workflows/{job.trait(WORKFLOW_FILE_TRAIT)}"
                                if job.trait(WORKFLOW_FILE_TRAIT) else DEPLOY_WORKFLOW_PATH)
        environment = next((e for e in declaration.environments if e.name == job.environment), None)
        runner = SELF_HOSTED if environment is not None and on_self_hosted_runners(environment) else GITHUB_HOSTED
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": str(job.trait(AUDIENCE_TRAIT, audience(declaration))),
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
            "event_name": event,
            "workflow_ref": workflow,
            # The job runs in the workflow itself, or in the reusable workflow it calls.
            "job_workflow_ref": str(job.trait(CALLED_WORKFLOW_TRAIT, workflow)),
            "runner_environment": str(job.trait(RUNNER_TRAIT, runner)),
        }
        if job.deploys_via is not None:
            claims["environment"] = job.deploys_via
        return claims
