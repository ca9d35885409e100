"""``securepipe explain``: the access matrix: who can read or write each secret path, and from where."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

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
from ._common import AllOption, DeclarationOption, StackOption, console, open_stacks, print_rows, user_errors

COLUMNS = ("path", "access", "who", "repository", "CI", "branch / ref", "context / environment", "developer",
           "from (CIDRs)", "policy")
DEPLOYER_COLUMNS = ("path", "stack", "deployer policy", "applied with", "capabilities", "why")
GITHUB_APP_COLUMNS = ("permission", "access", "why")
WIDE_FROM = 150
"""Narrower than this, each row is shown stacked (it reads in 80 columns); the other views need less."""
DEPLOYERS_WIDE_FROM = 120
GITHUB_APP_WIDE_FROM = 80


class ExplainFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"


class ExplainView(StrEnum):
    ACCESS = "access"
    DEPLOYERS = "deployers"
    GITHUB_APP = "github-app"


def rows(matrix: list[PathAccess]) -> list[list[str]]:
    """One row of rich markup per reader and per writer of each path, in ``COLUMNS`` order."""
    found: list[list[str]] = []
    for access in matrix:
        recorders = {r.role for r in access.recorders}
        for reader in access.readers:
            via = reader.deploys_via + (f" ({reader.context_restriction})" if reader.context_restriction else "")
            can = "read, create (no overwrite)" if reader.role in recorders else "read"
            developer = reader.developer or "-"
            if reader.developer_jobs:
                developer += f" ({reader.developer_jobs})"
            found.append([*map(escape, (access.path, can, reader.role, reader.repository, reader.ci, reader.refs,
                                        via, developer, ", ".join(reader.cidrs), reader.policy))])
        for writer in access.writers:
            found.append([*map(escape, (access.path, "write (no read)", writer.role, "-", "-", "-",
                                        f"group {writer.group}", "-",
                                        ", ".join(writer.cidrs) or "any (no CIDR binding)", writer.policy))])
        if not access.readers:
            found.append([escape(access.path), "read", "[yellow]nobody[/]", "-", "-", "-", "-", "-", "-", "-"])
    return found


def deployer_rows(deployers: list[DeployerAccess]) -> list[list[str]]:
    """One row per path each stack's deployer may change, in ``DEPLOYER_COLUMNS`` order (the stack, its
    policy and token on its first path only)."""
    found: list[list[str]] = []
    for deployer in deployers:
        for index, path in enumerate(deployer.paths):
            first = index == 0
            capabilities = ", ".join(path.capabilities) + (" (pinned)" if path.pinned else "")
            found.append([*map(escape, (path.path, deployer.stack if first else "", deployer.policy if first else "",
                                        deployer.applied_with if first else "", capabilities, path.purpose))])
    return found


def github_app_rows(needs: AppNeeds) -> list[list[str]]:
    """One row per permission of the GitHub App, in ``GITHUB_APP_COLUMNS`` order."""
    return [[escape(f"{p.scope.capitalize()} \"{p.name}\""), p.access, escape("; ".join(p.why))]
            for p in needs.permissions]


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
            print_rows(console, "The GitHub App the stacks apply the GitHub side with: its permissions, nothing more",
                       GITHUB_APP_COLUMNS, github_app_rows(needs), GITHUB_APP_WIDE_FROM)
            console.print("Install it on these repositories only: " + (", ".join(needs.repositories) or "none"))
        return
    if view is ExplainView.DEPLOYERS:
        if output is ExplainFormat.JSON:
            console.print_json(deployers_as_json(deployers))
        else:
            print_rows(console, "Who can change what: each stack's deployer (pinned: only the planned text or "
                       "policies)", DEPLOYER_COLUMNS, deployer_rows(deployers), DEPLOYERS_WIDE_FROM)
        return
    if output is ExplainFormat.JSON:
        console.print_json(as_json(matrix))
    elif output is ExplainFormat.MERMAID:
        console.print(as_mermaid(matrix), markup=False, highlight=False, end="")
    else:
        print_rows(console, "Who can reach each secret path", COLUMNS, rows(matrix), WIDE_FROM)
        console.print("Who can change what: securepipe explain --view deployers", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(explain)
