"""``securepipe explain``: the access matrix: who can read or write each secret path, and from where."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from ..explain import PathAccess, access_matrix, as_json, as_mermaid
from ._common import AllOption, DeclarationOption, StackOption, console, open_stacks, print_rows, user_errors

COLUMNS = ("path", "access", "who", "repository", "CI", "branch / ref", "context / environment", "developer",
           "from (CIDRs)", "policy")
WIDE_FROM = 150
"""Narrower than this, each row is shown stacked (it reads in 80 columns)."""


class ExplainFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"


def rows(matrix: list[PathAccess]) -> list[list[str]]:
    """One row of rich markup per reader and per writer of each path, in ``COLUMNS`` order."""
    found: list[list[str]] = []
    for access in matrix:
        for reader in access.readers:
            via = reader.deploys_via + (f" ({reader.context_restriction})" if reader.context_restriction else "")
            found.append([*map(escape, (access.path, "read", reader.role, reader.repository, reader.ci, reader.refs,
                                        via, reader.developer or "-", ", ".join(reader.cidrs), reader.policy))])
        for writer in access.writers:
            found.append([*map(escape, (access.path, "write (no read)", writer.role, "-", "-", "-",
                                        f"group {writer.group}", "-",
                                        ", ".join(writer.cidrs) or "any (no CIDR binding)", writer.policy))])
        if not access.readers:
            found.append([escape(access.path), "read", "[yellow]nobody[/]", "-", "-", "-", "-", "-", "-", "-"])
    return found


def explain(
    stack: StackOption = None,
    all_stacks: AllOption = False,
    declaration: DeclarationOption = None,
    output: Annotated[ExplainFormat, typer.Option("--format", "-f", help="table, json or mermaid.")]
    = ExplainFormat.TABLE,
) -> None:
    """Print, per secret path, which repository, CI system, branch, context or environment, developer and
    CIDRs can read it, and who can write it."""
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks)
        matrix = [access for view in views.views for access in access_matrix(view.plan, (view.stack,))]
    if output is ExplainFormat.JSON:
        console.print_json(as_json(matrix))
    elif output is ExplainFormat.MERMAID:
        console.print(as_mermaid(matrix), markup=False, highlight=False, end="")
    else:
        print_rows(console, "Who can reach each secret path", COLUMNS, rows(matrix), WIDE_FROM)


def register(app: typer.Typer) -> None:
    app.command()(explain)
