"""GitHub Actions' parts of the declaration a new project starts from (``securepipe init``): nothing
at the organisation or repository (the repository's GitHub id is the core's), each developer's
GitHub user id."""

from __future__ import annotations

from ...declaration.where import github_user_id
from ...scaffold.model import NewDeveloper, NewEnvironment, NewOrganization, placeholder_number

NOTHING = "{}"


class GitHubActionsScaffold:
    """The ``Scaffold`` capability: GitHub Actions builds the sample repository ``api``."""

    repository_name = "api"

    def organization(self, new: NewOrganization) -> str:
        return NOTHING

    def repository(self, new: NewOrganization) -> str:
        return NOTHING

    def environment(self, new: NewOrganization, environment: NewEnvironment) -> str | None:
        return None  # deploy jobs run in the GitHub deployment environment named after it

    def developer(self, new: NewOrganization, developer: NewDeveloper) -> str | None:
        return f"user_id: {placeholder_number(30 + developer.number)}   # placeholder: {github_user_id()}"
