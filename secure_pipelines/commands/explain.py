"""``securepipe explain``: the access matrix: who can read or write each secret path, and from where."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..explain import PathAccess, access_matrix, as_json, as_mermaid
from ._common import AllOption, DeclarationOption, StackOption, console, for_reading, open_stacks, user_errors


class ExplainFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"


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
        for_reading(console).print(_table(matrix))


def register(app: typer.Typer) -> None:
    app.command()(explain)
