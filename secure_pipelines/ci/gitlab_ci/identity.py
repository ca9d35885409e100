"""GitLab CI's ID token for a job (``id_tokens:``), as the rehearsal mints it.

Shaped from GitLab's documentation and token code (doc/ci/secrets/id_token_authentication.md,
lib/gitlab/ci/jwt.rb, jwt_v2.rb): ids and boolean-likes are JSON strings, ``runner_id`` an integer,
the environment claims only present when the job has an environment, ``nbf`` five seconds before
``iat``, and a lifetime equal to the job's timeout (an hour by default). Where the attacker controls
a value (a fork's protection settings, a tag's protection), the token carries the attacker's best case.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ...declaration.model import REVIEWED_TIERS, Declaration
from ...plan.model import Plan
from ..base import Job, fake_numeric_id
from . import sections
from .checks import closed_allowlist, protected_branches
from .claims import (
    ANOTHER_CONFIG_FILE,
    ANOTHER_PROJECT_CONFIG,
    AUDIENCE_TRAIT,
    BRANCH,
    CI_CONFIG_REF_URI,
    CI_CONFIG_TRAIT,
    DEPLOYMENT_TIER,
    DEPLOYMENT_TIER_TRAIT,
    ENVIRONMENT,
    ENVIRONMENT_ACTION,
    ENVIRONMENT_ACTION_TRAIT,
    ENVIRONMENT_PROTECTED,
    ENVIRONMENT_PROTECTED_TRAIT,
    FALSE,
    FORK_CLAIMS_BEFORE_18_2_2,
    FORK_MERGE_REQUEST_TRAIT,
    GITLAB_HOSTED,
    INSTANCE_URL_AUDIENCE,
    JOB_USER_TRAIT,
    MERGE_REQUEST_EVENT,
    NAMESPACE_ID,
    PIPELINE_SOURCE,
    PIPELINE_SOURCE_TRAIT,
    PROJECT_ID,
    PUSH,
    REF,
    REF_PROTECTED,
    REF_PROTECTED_TRAIT,
    REF_TYPE,
    RUNNER_ENVIRONMENT,
    RUNNER_TRAIT,
    SELF_HOSTED,
    START,
    TAG,
    TRUE,
    USER_ID,
)
from .plan import deployment_tier

TOKEN_LIFETIME_SECONDS = 3600
"""GitLab sets ``exp`` to the job's timeout: one hour unless the project or job says otherwise."""
NOT_BEFORE_SECONDS = 5
ANOTHER_CONFIG_PATH = ".gitlab/deploy.yml"
FORK_NAMESPACE = "attacker-fork"


def _flag(value: bool) -> str:
    return TRUE if value else FALSE


def _fake_sha(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def ref_claims(job: Job) -> tuple[str, str, str]:
    """``(ref, ref_type, ref_path)`` for the job. In a merge-request pipeline ``ref`` is the source
    branch's name; a ref GitLab has no counterpart for (``refs/pull/7/merge``) is read as a merge
    request whose source branch has that name."""
    if job.ref.startswith("refs/tags/"):
        name = job.ref.removeprefix("refs/tags/")
        return name, TAG, job.ref
    name = job.ref.removeprefix("refs/heads/") if job.ref.startswith("refs/heads/") else job.ref.removeprefix("refs/")
    return name, BRANCH, f"refs/heads/{name}"


def pipeline_source(job: Job) -> str:
    if job.trait(FORK_MERGE_REQUEST_TRAIT):
        return MERGE_REQUEST_EVENT
    chosen = job.trait(PIPELINE_SOURCE_TRAIT, "")
    if chosen:
        return str(chosen)
    return MERGE_REQUEST_EVENT if job.event == "pull_request" else PUSH


class GitLabCIIdentity:
    """How GitLab CI describes a job in its ID token."""

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return any(e.name == environment for e in plan.environments)  # any job may name any environment

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        organization = sections.organization(declaration)
        section = sections.repository(job.repository)
        project_id, namespace_id, path = section.project_id, section.namespace_id, section.project_path
        namespace, _, project_name = path.rpartition("/")
        if job.foreign_repository:
            project_id = fake_numeric_id("gitlab-project", path, "other")
            path = f"{namespace}/{project_name}-other"
        if job.organization_suffix:
            namespace = f"{namespace}-{job.organization_suffix}"
            namespace_id = fake_numeric_id("gitlab-namespace", namespace)
            project_id = fake_numeric_id("gitlab-project", namespace, project_name)
            path = f"{namespace}/{project_name}"
        runs_in = (str(project_id), str(namespace_id), path)
        fork_merge_request = job.trait(FORK_MERGE_REQUEST_TRAIT, "")
        if job.from_fork or (fork_merge_request and fork_merge_request != FORK_CLAIMS_BEFORE_18_2_2):
            namespace = FORK_NAMESPACE
            namespace_id = fake_numeric_id("gitlab-namespace", namespace)
            project_id = fake_numeric_id("gitlab-project", namespace, project_name)
            path = f"{namespace}/{project_name}"
        if job.from_fork:
            runs_in = (str(project_id), str(namespace_id), path)  # the fork's own pipeline
        ref, ref_type, ref_path = ref_claims(job)
        source = pipeline_source(job)
        # Attacker's best case: a fork's owner protects their own default branch; a tag named like a
        # protected branch may be protected too. GitLab never marks a fork's merge request protected.
        protected = ref in protected_branches(declaration, job.repository) and source != MERGE_REQUEST_EVENT
        protected = bool(job.trait(REF_PROTECTED_TRAIT, protected)) and not fork_merge_request
        # The user claims name who runs the job: who pushed, unless someone retried or played it.
        executing = declaration.developer(str(job.trait(JOB_USER_TRAIT))) if job.trait(JOB_USER_TRAIT) \
            else job.developer
        developer = sections.developer(executing) if executing else None
        user_id = str(developer.user_id) if developer else str(fake_numeric_id("gitlab-user", "merger"))
        user_login = executing.name if executing else "merger"
        retried_by = (user_login,) if job.trait(JOB_USER_TRAIT) else ()  # a new job of the same pipeline
        config = job.trait(CI_CONFIG_TRAIT, "")
        config_file = ANOTHER_CONFIG_PATH if config == ANOTHER_CONFIG_FILE else section.ci_config_path
        # The config of a fork's merge request run in the parent is named by the parent's path.
        config_uri: str | None = f"{sections.host(declaration)}/{runs_in[2]}//{config_file}@{ref_path}"
        if config == ANOTHER_PROJECT_CONFIG:
            config_uri = None
        pipeline_id = str(fake_numeric_id("gitlab-pipeline", job.repository.name, job.ref))
        sha = _fake_sha(path, job.ref)
        audience = organization.url if job.trait(AUDIENCE_TRAIT) == INSTANCE_URL_AUDIENCE \
            else sections.audience(declaration)
        claims: dict[str, Any] = {
            "iss": organization.url,
            "aud": audience,
            "sub": f"project_path:{path}:ref_type:{ref_type}:ref:{ref}",
            "jti": _fake_sha("jti", pipeline_id, str(now)),
            "iat": now,
            "nbf": now - NOT_BEFORE_SECONDS,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            NAMESPACE_ID: str(namespace_id),
            "namespace_path": path.rpartition("/")[0],
            PROJECT_ID: str(project_id),
            "project_path": path,
            "job_project_id": runs_in[0],
            "job_project_path": runs_in[2],
            "job_namespace_id": runs_in[1],
            "job_namespace_path": runs_in[2].rpartition("/")[0],
            USER_ID: user_id,
            "user_login": user_login,
            "user_email": f"{user_login}@example.com",
            "user_access_level": "developer",
            "pipeline_id": pipeline_id,
            PIPELINE_SOURCE: source,
            "job_id": str(fake_numeric_id("gitlab-job", pipeline_id, job.environment, *retried_by)),
            REF: ref,
            REF_TYPE: ref_type,
            "ref_path": ref_path,
            REF_PROTECTED: _flag(protected),
            "runner_id": fake_numeric_id("gitlab-runner", job.environment),
            RUNNER_ENVIRONMENT: str(job.trait(RUNNER_TRAIT, self._runner(declaration, job))),
            "sha": sha,
            CI_CONFIG_REF_URI: config_uri,
            "ci_config_sha": sha if config_uri else None,
            "project_visibility": "private",
        }
        if fork_merge_request == FORK_CLAIMS_BEFORE_18_2_2:
            for claim in ("job_project_id", "job_project_path", "job_namespace_id", "job_namespace_path"):
                del claims[claim]  # added in GitLab 18.4
        if job.deploys_via is not None:
            claims.update(self._environment(declaration, job))
        return claims

    @staticmethod
    def _runner(declaration: Declaration, job: Job) -> str:
        """Deploy jobs run on the environment's self-hosted runners where its allowlist is closed;
        elsewhere (and for jobs with no environment) on GitLab's own."""
        target = next((e for e in declaration.environments if e.name == (job.deploys_via or job.environment)), None)
        return SELF_HOSTED if target is not None and closed_allowlist(target) else GITLAB_HOSTED

    @staticmethod
    def _environment(declaration: Declaration, job: Job) -> dict[str, str]:
        """The environment claims of a job whose ``environment:`` names ``job.deploys_via``."""
        name = str(job.deploys_via)
        env = next((e for e in declaration.environments if e.name == name), None)
        tier = deployment_tier(env.tier) if env is not None else "other"
        protectable = sections.organization(declaration).plan.protects_environments
        protected = env is not None and env.tier in REVIEWED_TIERS and protectable
        return {
            ENVIRONMENT: name,
            ENVIRONMENT_PROTECTED: _flag(bool(job.trait(ENVIRONMENT_PROTECTED_TRAIT, protected))),
            DEPLOYMENT_TIER: str(job.trait(DEPLOYMENT_TIER_TRAIT, tier)),
            ENVIRONMENT_ACTION: str(job.trait(ENVIRONMENT_ACTION_TRAIT, START)),
        }
