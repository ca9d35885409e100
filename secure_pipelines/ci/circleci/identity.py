"""CircleCI's OIDC token v2 for a job, as ``$CIRCLE_OIDC_TOKEN_V2`` carries it (the rehearsal's identity)."""

from __future__ import annotations

from typing import Any

from ...declaration.model import Declaration, Repository
from ...plan.model import Plan
from ..base import Job, fake_uuid
from . import sections
from .claims import (
    CONTEXT_IDS,
    CUSTOM_WEBHOOK_TRAIT,
    FOREIGN_PIPELINE_DEFINITION_TRAIT,
    ISSUER_PREFIX,
    ORG_ID,
    PIPELINE_DEFINITION_ID,
    PROJECT_ID,
    SSH_RERUN,
    SSH_RERUN_TRAIT,
    VCS_ORIGIN,
    VCS_REF,
)
from .plan import circleci_plan

TOKEN_LIFETIME_SECONDS = 3600


def vcs_origin(declaration: Declaration, repository: Repository, name: str | None = None) -> str:
    """The ``vcs-origin`` claim of the repository's jobs: declared exactly, or by the organisation's
    format (for the repository's name, or ``name``)."""
    section = sections.repository(repository)
    if section is not None and section.vcs_origin:
        return section.vcs_origin
    return sections.organization(declaration).vcs_origin_format.format(
        owner=declaration.organization.github.owner, repository=name or repository.name
    )


def fork_origin(origin: str) -> str:
    """The same repository name under an attacker's account: ``github.com/acme/webapp`` ->
    ``github.com/attacker-fork/webapp`` (always different from ``origin``)."""
    parts = origin.rstrip("/").split("/")
    if len(parts) >= 3:
        parts[-2] = "attacker-fork" if parts[-2] != "attacker-fork" else "attacker-fork-2"
        return "/".join(parts)
    return f"github.com/attacker-fork/{parts[-1]}"


def job_project_id(job: Job) -> str:
    """The project the job runs in: the repository's, or one nobody declared."""
    if job.foreign_repository:
        return fake_uuid("project", job.repository.name, "other")
    return sections.project_id(job.repository)


class CircleCIIdentity:
    """How CircleCI describes a job in its token."""

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return circleci_plan(plan).context(environment) is not None

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        organization = sections.organization(declaration)
        org_id = str(organization.org_id)
        if job.organization_suffix:
            org_id = fake_uuid("circleci-org", job.organization_suffix)
        repo = job.repository
        project_id = job_project_id(job)
        origin = vcs_origin(declaration, repo, f"{repo.name}-other" if job.foreign_repository else None)
        if job.from_fork:
            origin = fork_origin(origin)
        developer = sections.developer(job.developer) if job.developer else None
        user_id = str(developer.user_id) if developer else fake_uuid("circleci-user", "merger")
        contexts = []
        if job.deploys_via is not None:
            context = sections.environment(declaration.environment(job.deploys_via)).context \
                if any(e.name == job.deploys_via for e in declaration.environments) else None
            contexts = [str(context.id)] if context else []
        section = sections.repository(repo)
        pinned = section.pipeline_definition_id if section else None
        foreign_definition = bool(job.trait(FOREIGN_PIPELINE_DEFINITION_TRAIT))
        claims = {
            "iss": f"{ISSUER_PREFIX}{org_id}",
            "aud": org_id,
            "sub": f"org/{org_id}/project/{project_id}/user/{user_id}/vcs-origin/{origin}/vcs-ref/{job.ref}",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            ORG_ID: org_id,
            PROJECT_ID: project_id,
            CONTEXT_IDS: contexts,
            VCS_ORIGIN: origin,
            VCS_REF: job.ref,
            SSH_RERUN: bool(job.trait(SSH_RERUN_TRAIT)),
            PIPELINE_DEFINITION_ID: fake_uuid("pipeline-definition", repo.name, "another")
            if foreign_definition or pinned is None else str(pinned),
        }
        if job.trait(CUSTOM_WEBHOOK_TRAIT):
            # No repository behind the trigger: no vcs claims, and the v1 subject.
            claims["sub"] = f"org/{org_id}/project/{project_id}/user/{user_id}"
            del claims[VCS_ORIGIN], claims[VCS_REF]
        return claims
