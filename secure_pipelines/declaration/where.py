"""Where each id of the core sections is found (the new declaration's comments and the setup
checklist say it the same way)."""

from __future__ import annotations


def github_owner_id(owner: str) -> str:
    return f"https://api.github.com/orgs/{owner} -> id"


def github_repository_id(owner: str, repository: str) -> str:
    return f"https://api.github.com/repos/{owner}/{repository} -> id"


def github_team_id(owner: str, team: str = "<team-slug>") -> str:
    return f"https://api.github.com/orgs/{owner}/teams/{team} -> id"


def github_user_id(login: str = "<login>") -> str:
    return f"https://api.github.com/users/{login} -> id"
