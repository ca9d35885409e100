"""``securepipe explain``: the access matrix: who can read or write each secret path, and from where."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import SecurePipelinesError
from ..explain import (
    DeployerAccess,
    PathAccess,
    access_matrix,
    as_json,
    as_mermaid,
    deployers_as_json,
    who_changes_what,
)
from ..plan.github_app import AppNeeds, app_needs
from ._common import AllOption, DeclarationOption, StackOption, console, for_reading, open_stacks, user_errors


class ExplainFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"


class ExplainView(StrEnum):
    ACCESS = "access"
    DEPLOYERS = "deployers"
    GITHUB_APP = "github-app"


def _table(matrix: list[PathAccess]) -> Table:
    grid = Table(title="Who can reach each secret path")
    for column in ("path", "access", "who", "repository", "CI", "branch / ref", "context / environment",
                   "developer", "from (CIDRs)", "policy"):
        grid.add_column(column, overflow="fold")
    for access in matrix:
        recorders = {r.role for r in access.recorders}
        for reader in access.readers:
            via = reader.deploys_via + (f" ({reader.context_restriction})" if reader.context_restriction else "")
            can = "read, create (no overwrite)" if reader.role in recorders else "read"
            grid.add_row(*map(escape, (access.path, can, reader.role, reader.repository, reader.ci, reader.refs,
                                       via, reader.developer or "-", ", ".join(reader.cidrs), reader.policy)))
        for writer in access.writers:
            grid.add_row(*map(escape, (access.path, "write (no read)", writer.role, "-", "-", "-",
                                       f"group {writer.group}", "-",
                                       ", ".join(writer.cidrs) or "any (no CIDR binding)", writer.policy)))
        if not access.readers:
            grid.add_row(escape(access.path), "read", "[yellow]nobody[/]", "-", "-", "-", "-", "-", "-", "-")
    return grid


def _deployers_table(deployers: list[DeployerAccess]) -> Table:
    grid = Table(title="Who can change what: each stack's deployer (pinned: only the planned text or policies)")
    for column in ("stack", "deployer policy", "applied with", "path", "capabilities", "why"):
        grid.add_column(column, overflow="fold")
    for deployer in deployers:
        for index, path in enumerate(deployer.paths):
            first = index == 0
            capabilities = ", ".join(path.capabilities) + (" (pinned)" if path.pinned else "")
            grid.add_row(*map(escape, (deployer.stack if first else "", deployer.policy if first else "",
                                       deployer.applied_with if first else "", path.path, capabilities,
                                       path.purpose)))
    return grid


def _github_app_table(needs: AppNeeds) -> Table:
    grid = Table(title="The GitHub App the stacks apply the GitHub side with: its permissions, nothing more")
    for column in ("permission", "access", "why"):
        grid.add_column(column, overflow="fold")
    for permission in needs.permissions:
        grid.add_row(escape(f"{permission.scope.capitalize()} \"{permission.name}\""), permission.access,
                     escape("; ".join(permission.why)))
    return grid


def _github_app_json(needs: AppNeeds) -> str:
    return json.dumps({
        "permissions": [{"id": p.id, "scope": p.scope, "name": p.name, "access": p.access, "why": list(p.why)}
                        for p in needs.permissions],
        "repositories": list(needs.repositories),
    }, indent=2)


def explain(
    stack: StackOption = None,
    all_stacks: AllOption = False,
    declaration: DeclarationOption = None,
    output: Annotated[ExplainFormat, typer.Option("--format", "-f", help="table, json or mermaid.")]
    = ExplainFormat.TABLE,
    view: Annotated[ExplainView, typer.Option("--view", help="access: who can read or write each secret; "
                                              "deployers: who can change what (each stack's deployer); "
                                              "github-app: the GitHub App permissions the stacks need.")]
    = ExplainView.ACCESS,
) -> None:
    """Print, per secret path, which repository, CI system, branch, context or environment, developer and
    CIDRs can read it, and who can write it; or (--view deployers) what each stack's deployer may change."""
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks)
        matrix = [access for view_ in views.views for access in access_matrix(view_.plan, (view_.stack,))]
        deployers = [d for view_ in views.views for d in who_changes_what(view_.plan, (view_.stack,))]
        needs = app_needs(views.first.plan, views.stacks)
        if view is not ExplainView.ACCESS and output is ExplainFormat.MERMAID:
            raise SecurePipelinesError(f"--view {view} is shown as a table or json; use -f table or -f json")
    if view is ExplainView.GITHUB_APP:
        if output is ExplainFormat.JSON:
            console.print_json(_github_app_json(needs))
        else:
            for_reading(console).print(_github_app_table(needs))
            console.print("Install it on these repositories only: " + (", ".join(needs.repositories) or "none"))
        return
    if view is ExplainView.DEPLOYERS:
        if output is ExplainFormat.JSON:
            console.print_json(deployers_as_json(deployers))
        else:
            for_reading(console).print(_deployers_table(deployers))
        return
    if output is ExplainFormat.JSON:
        console.print_json(as_json(matrix))
    elif output is ExplainFormat.MERMAID:
        console.print(as_mermaid(matrix), markup=False, highlight=False, end="")
    else:
        for_reading(console).print(_table(matrix))
        console.print("Who can change what: securepipe explain --view deployers", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(explain)
