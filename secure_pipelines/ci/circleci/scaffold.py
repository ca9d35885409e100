"""CircleCI's parts of the declaration a new project starts from (``securepipe init``): the
organisation id and config policies, a sample project, each environment's context (with a security
group and a runner class where the tier needs them), each developer's user id."""

from __future__ import annotations

from ...declaration.model import Tier
from ...scaffold.model import NewDeveloper, NewEnvironment, NewOrganization, placeholder_uuid
from . import ids
from .render import TEMPLATES

SCAFFOLD_TEMPLATE = "scaffold.yaml.j2"
SECURITY_GROUPS = {Tier.STAGING: "staging-deployers", Tier.PRODUCTION: "production-approvers"}
"""Who may start staging deploys, and who alone may approve production's."""


def runner_class(new: NewOrganization, environment: NewEnvironment) -> str:
    short = "prod" if environment.tier is Tier.PRODUCTION else environment.name
    return f"{new.name}/{short}-deployers"


class CircleCIScaffold:
    """The ``Scaffold`` capability: CircleCI builds the sample repository ``webapp``."""

    repository_name = "webapp"

    def organization(self, new: NewOrganization) -> str:
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "organization")(placeholder_uuid(1), ids.ORG_ID)

    def repository(self, new: NewOrganization) -> str:
        where = {"project": ids.PROJECT_ID, "pipeline_definition": ids.PIPELINE_DEFINITION_ID}
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "repository")(placeholder_uuid(2), placeholder_uuid(3), where)

    def environment(self, new: NewOrganization, environment: NewEnvironment) -> str | None:
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "environment")(
            f"{new.name}-{environment.name}",
            placeholder_uuid(10 + environment.number),
            SECURITY_GROUPS.get(environment.tier),
            runner_class(new, environment) if environment.protected else None,
            environment.tier is Tier.PRODUCTION,
        )

    def developer(self, new: NewOrganization, developer: NewDeveloper) -> str | None:
        return TEMPLATES.macro(SCAFFOLD_TEMPLATE, "developer")(placeholder_uuid(20 + developer.number), ids.USER_ID)
