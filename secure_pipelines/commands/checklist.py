"""``securepipe checklist``: every step Pulumi cannot take, in the order to take it, with the values."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..checklist.build import checklist, ordered
from ..checklist.formats import as_json, as_markdown
from ..checklist.steps import Setup, Step
from ..scaffold.stack_files import VAULT_ADDRESS_KEY
from ..views import Views
from ._common import AllOption, DeclarationOption, StackOption, console, open_stacks, user_errors


class ChecklistFormat(StrEnum):
    MARKDOWN = "md"
    JSON = "json"


def checklist_command(
    stack: StackOption = None,
    all_stacks: AllOption = False,
    declaration: DeclarationOption = None,
    output: Annotated[ChecklistFormat, typer.Option(
        "--format", "-f", help="md (a task list for people) or json (for tools).")] = ChecklistFormat.MARKDOWN,
) -> None:
    """List every setup step Pulumi cannot take (in your CI systems, GitHub, Vault and your identity provider),
    in the order to take it, each with the exact values, where, and how to check it. Without --stack: every
    stack."""
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks, every_by_default=True, organization=True)
        steps = steps_of(views)
    organization = views.first.plan.organization
    if output is ChecklistFormat.JSON:
        console.print(as_json(steps, organization, views.stacks), markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(as_markdown(steps, organization, views.stacks), markup=False, highlight=False, end="",
                      soft_wrap=True)


def steps_of(views: Views) -> list[Step]:
    """Each stack's steps from its own view; the organisation's from the resources stack's view, when it is
    one of the stacks asked for."""
    addresses = {view.stack: address for view in (*views.views, *filter(None, [views.organization]))
                 if isinstance(address := view.sources.config.values.get(VAULT_ADDRESS_KEY), str)}
    organization = views.organization or views.first
    setup = Setup(organization.plan, addresses)
    found: list[Step] = []
    if organization.plan.resources_stack in views.stacks:
        found += [s for s in checklist(setup) if s.environment is None]
    for view in views.views:
        found += [s for s in checklist(Setup(view.plan, addresses)) if s.environment == view.stack]
    return ordered(setup, found)


def register(app: typer.Typer) -> None:
    app.command(name="checklist")(checklist_command)
