"""GitLab CI's parts of the declaration a new project starts from (``securepipe init``): the
instance and its plan, a sample project, the runner tags of staging and production, each
developer's GitLab user id."""

from __future__ import annotations

from ...scaffold.model import NewDeveloper, NewEnvironment, NewOrganization, placeholder_number
from . import ids
from .claims import DEFAULT_INSTANCE
from .render import TEMPLATES

SCAFFOLD_TEMPLATE = "scaffold.yaml.j2"


class GitLabCIScaffold:
    """The ``Scaffold`` capability: GitLab CI builds the sample project ``shop``."""

    repository_name = "shop"

    def organization(self, new: NewOrganization) -> str:
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "organization")(new.name, DEFAULT_INSTANCE)

    def repository(self, new: NewOrganization) -> str:
        path = f"{new.name}/{self.repository_name}"
        where = {"project": ids.PROJECT_ID, "namespace": ids.project_api(DEFAULT_INSTANCE, path)}
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "repository")(placeholder_number(40), placeholder_number(41),
                                                               path, where)

    def environment(self, new: NewOrganization, environment: NewEnvironment) -> str | None:
        if not environment.protected:
            return None  # the development allowlist is open: any runner may deploy there
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "environment")([f"{new.name}-{environment.name}-deployers"])

    def developer(self, new: NewOrganization, developer: NewDeveloper) -> str | None:
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "developer")(placeholder_number(50 + developer.number),
                                                              ids.user_api(DEFAULT_INSTANCE))
