"""GitLab CI's declaration sections (``ci.gitlab_ci`` at each level) and typed accessors to them.

The loader validates each present section with these models and stores the objects in the
declaration; only GitLab CI's own modules read them, through the accessors below.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, cast
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from ...declaration.model import Declaration, Developer, Environment, OverrideReason, Repository, Strict
from .claims import DEFAULT_INSTANCE, PUSH

KEY = "gitlab_ci"

GitLabId = Annotated[int, Field(gt=0, description="GitLab's immutable numeric id")]

_PATH_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_PROJECT_PATH = re.compile(rf"^{_PATH_PART}(?:/{_PATH_PART})+$")
_CONFIG_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*\.ya?ml$")
_RUNNER_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
_AUDIENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$")

DEPLOY_SOURCES = ("push", "web", "schedule")
"""Pipeline sources a deploy may come from: a push to the protected branch, and (declared) a person
pressing "Run pipeline" on it, or a pipeline schedule."""
REFUSED_SOURCES = {
    "merge_request_event": "runs the merge request's own config before review (a fork's too), and its ref is "
                           "the source branch's name, which can be your default branch's",
    "external_pull_request_event": "runs an external GitHub pull request's config before review",
    "trigger": "whoever holds a trigger token runs any ref, with variables of their choosing",
    "api": "any token with API access runs any ref, with variables of their choosing",
    "pipeline": "another project's pipeline starts it (multi-project pipelines), under that project's review",
    "parent_pipeline": "a child pipeline's config can be generated at run time or included from elsewhere",
    "chat": "a ChatOps command starts it, outside review",
    "webide": "the Web IDE starts it, outside review",
}
NOT_DEPLOY_SOURCES = ("external", "ondemand_dast_scan", "ondemand_dast_validation", "security_orchestration_policy",
                      "container_registry_push", "duo_workflow", "pipeline_execution_policy_schedule")


def _instance_url(value: str) -> str:
    parts = urlsplit(value)
    if (parts.scheme != "https" or not parts.hostname or parts.port is not None or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.username):
        raise ValueError(
            f"{value!r} is not a GitLab instance URL such as https://gitlab.com or https://gitlab.example.com "
            "(https, a lowercase host name, no port, path or query: the issuer and ci_config_ref_uri are "
            "derived from it)"
        )
    return f"https://{parts.hostname}"


def _project_path(value: str) -> str:
    if not _PROJECT_PATH.fullmatch(value) or value.endswith((".git", ".atom")):
        raise ValueError(f"{value!r} is not a GitLab project path; write it as GitLab shows it, e.g. acme/shop or "
                         "acme/team/shop (the namespace, then the project)")
    return value


def _config_path(value: str) -> str:
    if not _CONFIG_PATH.fullmatch(value) or ".." in value.split("/") or "//" in value:
        raise ValueError(
            f"{value!r} is not a CI config file of the project; give its path in the repository, e.g. .gitlab-ci.yml "
            "(a config kept in another project or at a URL has no ci_config_ref_uri to pin)"
        )
    return value


def _runner_tag(value: str) -> str:
    if not _RUNNER_TAG.fullmatch(value):
        raise ValueError(f"{value!r} is not a runner tag; use letters, digits, '-', '_', '.', ':' or '/'")
    return value


def _audience(value: str) -> str:
    if not _AUDIENCE.fullmatch(value):
        raise ValueError(f"{value!r} is not an audience; use letters, digits and . _ : / @ + - only, "
                         "e.g. https://vault.example.com")
    return value


def _some_sources(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError(f"lists no source, so nothing could deploy; list at least one of {', '.join(DEPLOY_SOURCES)} "
                         "(usually [push])")
    return values


def _deploy_source(value: str) -> str:
    if value in DEPLOY_SOURCES:
        return value
    allowed = ", ".join(DEPLOY_SOURCES)
    if value in REFUSED_SOURCES:
        raise ValueError(f"{value!r} cannot deploy: {REFUSED_SOURCES[value]}; use {allowed}")
    if value in NOT_DEPLOY_SOURCES:
        raise ValueError(f"{value!r} is a pipeline source GitLab itself starts, not a deploy; use {allowed}")
    raise ValueError(f"{value!r} is not a GitLab pipeline source; use {allowed}")


InstanceUrl = Annotated[str, AfterValidator(_instance_url)]
ProjectPath = Annotated[str, AfterValidator(_project_path)]
ConfigPath = Annotated[str, AfterValidator(_config_path)]
RunnerTag = Annotated[str, AfterValidator(_runner_tag)]
Audience = Annotated[str, AfterValidator(_audience)]
DeploySource = Annotated[str, AfterValidator(_deploy_source)]


class GitLabPlan(StrEnum):
    FREE = "free"
    PREMIUM = "premium"
    ULTIMATE = "ultimate"

    @property
    def protects_environments(self) -> bool:
        """Protected environments (and so ``environment_protected: "true"``) need Premium or Ultimate."""
        return self is not GitLabPlan.FREE


class GitLabOrganization(Strict):
    """``ci.gitlab_ci``: the GitLab instance that signs job tokens, and its plan."""

    url: InstanceUrl = DEFAULT_INSTANCE
    """The instance (``https://gitlab.com`` or your self-managed URL): the issuer and discovery URL."""
    plan: GitLabPlan = Field(description="the GitLab plan of your top-level group (free, premium, ultimate): "
                                         "protected environments need premium")
    audience: Audience | None = None
    """The ``aud`` deploy jobs request; defaults to ``secure-pipelines/<organisation>/vault``. Never the
    instance URL: other jobs ask for tokens with that audience for other services."""


class GitLabRepository(Strict):
    """``repositories[].ci.gitlab_ci``: the project that builds the repository."""

    project_id: GitLabId = Field(description="the project's immutable id (Settings > General, or "
                                             "/api/v4/projects/<url-encoded path> -> id)")
    namespace_id: GitLabId = Field(description="the immutable id of the group (or subgroup) that holds the project "
                                               "(/api/v4/projects/<url-encoded path> -> namespace.id)")
    project_path: ProjectPath = Field(description="the project's path, e.g. acme/shop; it changes when the project "
                                                  "is renamed or moved, and the staging and production roles pin "
                                                  "it (ci_config_ref_uri): update it here when it does")
    ci_config_path: ConfigPath = ".gitlab-ci.yml"
    """The project's CI/CD configuration file (Settings > CI/CD > General pipelines), as it is pinned."""


class GitLabEnvironmentOverrides(Strict):
    unprotected_environment: OverrideReason | None = None
    """Accept that GitLab Free cannot protect this environment: its roles do not require
    ``environment_protected``, so whoever may push to the default branch deploys here."""


class GitLabEnvironment(Strict):
    """``environments[].ci.gitlab_ci``: where this environment's deploy jobs run, and what starts them."""

    runner_tags: tuple[RunnerTag, ...] = ()
    """Tags of the self-hosted runners whose egress is in ``ip_allowlist`` (required where it is closed)."""
    deploy_sources: Annotated[tuple[DeploySource, ...], AfterValidator(_some_sources)] = (PUSH,)
    """Pipeline sources that may deploy: ``push`` (the default), and ``web`` or ``schedule`` if you must."""
    overrides: GitLabEnvironmentOverrides = GitLabEnvironmentOverrides()


class GitLabDeveloper(Strict):
    """``developers[].ci.gitlab_ci``: the developer's GitLab user."""

    user_id: GitLabId = Field(description="the developer's GitLab user id (/api/v4/users?username=<name> -> id)")


def organization(declaration: Declaration) -> GitLabOrganization:
    """``ci.gitlab_ci`` (validation guarantees it where a repository builds on GitLab CI)."""
    return cast(GitLabOrganization, declaration.ci[KEY])


def repository(repo: Repository) -> GitLabRepository:
    """The section of a repository that builds on GitLab CI."""
    section = cast(GitLabRepository | None, repo.ci.get(KEY))
    assert section is not None, f"{repo.name} does not build on GitLab CI"
    return section


def environment(env: Environment) -> GitLabEnvironment:
    return cast(GitLabEnvironment, env.ci.get(KEY)) or GitLabEnvironment()


def developer(dev: Developer) -> GitLabDeveloper | None:
    return cast(GitLabDeveloper | None, dev.ci.get(KEY))


def user_id(dev: Developer) -> str:
    """The GitLab user id of a developer of a per-developer environment (validation requires it there)."""
    section = developer(dev)
    assert section is not None, "checked by validation: per-developer environments name each developer's id"
    return str(section.user_id)


def builds_on_gitlab(repo: Repository) -> bool:
    return KEY in repo.ci


def audience(declaration: Declaration) -> str:
    """The audience deploy jobs request: declared, or one that names this organisation's Vault."""
    return organization(declaration).audience or f"secure-pipelines/{declaration.organization.name}/vault"


def host(declaration: Declaration) -> str:
    """The instance's host name, as ``ci_config_ref_uri`` writes it (no scheme)."""
    return organization(declaration).url.removeprefix("https://")


def config_ref_uri(declaration: Declaration, declared: Repository, branch: str) -> str:
    """``ci_config_ref_uri`` of the project's own CI config on ``branch``: host (no scheme), project
    path, ``//``, config path, ``@`` and the ref path."""
    section = repository(declared)
    return f"{host(declaration)}/{section.project_path}//{section.ci_config_path}@refs/heads/{branch}"
