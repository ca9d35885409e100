"""CircleCI's OIDC token v2 for a job, as ``$CIRCLE_OIDC_TOKEN_V2`` carries it."""

from __future__ import annotations

from typing import Any

from ...ci.circleci import (
    CONTEXT_IDS,
    ORG_ID,
    PIPELINE_DEFINITION_ID,
    PROJECT_ID,
    SSH_RERUN,
    VCS_ORIGIN,
    VCS_REF,
    CircleCISystem,
)
from ...declaration import CISystemName, Declaration
from ...plan import Plan
from .base import Job, fake_uuid

TOKEN_LIFETIME_SECONDS = 3600
_SYSTEM = CircleCISystem()


def fork_origin(origin: str) -> str:
    """The same repository name under an attacker's account: ``github.com/acme/webapp`` ->
    ``github.com/attacker-fork/webapp`` (always different from ``origin``)."""
    parts = origin.rstrip("/").split("/")
    if len(parts) >= 3:
        parts[-2] = "attacker-fork" if parts[-2] != "attacker-fork" else "attacker-fork-2"
        return "/".join(parts)
    return f"github.com/attacker-fork/{parts[-1]}"


class CircleCIIdentity:
    ci = CISystemName.CIRCLECI
    has_ssh_rerun = True
    has_pipeline_definitions = True

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return plan.environment(environment).circleci_context is not None

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        circleci = declaration.ci.circleci
        if circleci is None:
            raise ValueError("a CircleCI job needs ci.circleci in the declaration")
        org_id = str(circleci.org_id)
        if job.organization_suffix:
            org_id = fake_uuid("circleci-org", job.organization_suffix)
        repo = job.repository
        project_id = str(repo.circleci_project_id)
        origin = _SYSTEM.vcs_origin(declaration, repo)
        if job.from_fork:
            origin = fork_origin(origin)
        user_id = (
            str(job.developer.circleci_user_id)
            if job.developer and job.developer.circleci_user_id
            else fake_uuid("circleci-user", "merger")
        )
        contexts = [str(circleci.contexts[job.deploys_via].id)] if job.deploys_via in circleci.contexts else []
        claims: dict[str, Any] = {
            "iss": f"https://oidc.circleci.com/org/{org_id}",
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
            SSH_RERUN: job.ssh_rerun,
            PIPELINE_DEFINITION_ID: fake_uuid("pipeline-definition", repo.name, "another")
            if job.foreign_pipeline_definition or not repo.circleci_pipeline_definition_id
            else str(repo.circleci_pipeline_definition_id),
        }
        return claims
