"""``securepipe``: one typer app; each command lives in its own module under ``commands/``."""

from __future__ import annotations

from typing import Annotated

import typer

from .commands import checklist, components_schema, diff, explain, init, rehearse, render, resources, validate
from .version import installed_version

COMMANDS = (init, validate, checklist, render, explain, resources, rehearse, diff, components_schema)
"""One module per command, each with ``register(app)``, in the order a new user meets them."""

app = typer.Typer(
    name="securepipe",
    help="Release production secrets to reviewed CI jobs only. Start a project (init), check its declaration "
    "(validate), list what to set up by hand (checklist), render the files to commit, explain and rehearse who can "
    "reach each secret, and review changes (diff).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"securepipe {installed_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=_print_version)] = False,
) -> None:
    """Release production secrets to reviewed CI jobs only."""


for command in COMMANDS:
    command.register(app)


def main() -> None:
    app()
