"""GitHub Actions' declaration sections (``ci.github_actions``) and typed accessors to them."""

from __future__ import annotations

from typing import cast

from pydantic import Field

from ...declaration.model import Declaration, Developer, GitHubId, Repository, Strict

KEY = "github_actions"


class GitHubActionsOrganization(Strict):
    """``ci.github_actions`` (may be empty: ``{}``)."""

    audience: str | None = None
    """Audience the workflows request; defaults to ``https://github.com/<owner>``."""


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
