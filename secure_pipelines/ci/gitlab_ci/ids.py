"""Where each GitLab id the declaration names is found (the new declaration's comments and the setup
checklist say it the same way)."""

from __future__ import annotations

from urllib.parse import quote

PROJECT_ID = "GitLab > the project > Settings > General > Project ID"


def project_api(instance: str, project_path: str) -> str:
    """The project's API answer: its ``id`` and its group's ``namespace.id``."""
    return f"{instance}/api/v4/projects/{quote(project_path, safe='')} -> id, namespace.id"


def user_api(instance: str, username: str = "<username>") -> str:
    return f"{instance}/api/v4/users?username={username} -> [0].id"
