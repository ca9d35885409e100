"""GitHub Actions' declaration sections (``ci.github_actions``) and typed accessors to them."""

from __future__ import annotations

from typing import cast

from pydantic import Field

from ...declaration.model import Declaration, Developer, GitHubId, OverrideReason, Repository, Strict

KEY = "github_actions"
DEFAULT_DEPLOY_EVENTS = ("push",)


class GitHubActionsOverrides(Strict):
    workflow_dispatch_deploys: OverrideReason | None = None
    """Accept ``workflow_dispatch`` among ``deploy_events``: anyone with write access may then start a
    staging or production deploy of the default branch by hand."""


class GitHubActionsOrganization(Strict):
    """``ci.github_actions`` (may be empty: ``{}``)."""

    audience: str | None = Field(default=None, min_length=1)
    """The audience deploy jobs request and Vault binds; defaults to ``vault.<organization.name>``.
    Never GitHub's default (``https://github.com/<owner>``), which every token gets unasked."""
    deploy_events: tuple[str, ...] = Field(default=DEFAULT_DEPLOY_EVENTS, min_length=1)
    """The events test, staging and production deploys run on (``event_name``, bound in Vault): events whose
    ``ref`` is the branch that was pushed; ``workflow_dispatch`` only with an override. Per-developer roles
    admit a push only, whatever this says (``workflow.DEVELOPER_DEPLOY_EVENTS``)."""
    overrides: GitHubActionsOverrides = GitHubActionsOverrides()


class GitHubActionsRepository(Strict):
    """``repositories[].ci.github_actions``: nothing to declare yet (the repository's ``github_id`` is bound)."""


class GitHubActionsDeveloper(Strict):
    """``developers[].ci.github_actions``: the developer's GitHub user."""

    user_id: GitHubId = Field(description="the developer's GitHub user id (https://api.github.com/users/<login>)")


def organization(declaration: Declaration) -> GitHubActionsOrganization:
    return cast(GitHubActionsOrganization, declaration.ci.get(KEY)) or GitHubActionsOrganization()


def developer(dev: Developer) -> GitHubActionsDeveloper | None:
    return cast(GitHubActionsDeveloper | None, dev.ci.get(KEY))


def repository_id(repo: Repository) -> int:
    """The immutable id of a repository GitHub hosts (validation requires it there)."""
    assert repo.github_id is not None, "checked by validation: GitHub Actions repositories are hosted on GitHub"
    return repo.github_id
