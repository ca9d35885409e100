"""``securepipe``: one typer app; each command lives in its own module under ``commands/``."""

from __future__ import annotations

import typer

from .commands import components_schema, diff, explain, rehearse, render, resources, validate

COMMANDS = (components_schema, diff, explain, rehearse, render, resources, validate)
"""One module per command, each with ``register(app)``."""

app = typer.Typer(
    name="securepipe",
    help="Release production secrets to reviewed CI jobs only: validate, render, explain, rehearse and review "
    "changes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Release production secrets to reviewed CI jobs only."""


for command in COMMANDS:
    command.register(app)


def main() -> None:
    app()
