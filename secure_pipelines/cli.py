"""``securepipe``: one typer app; each command lives in its own module under ``commands/``."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from . import commands

app = typer.Typer(
    name="securepipe",
    help="Release production secrets to reviewed CI jobs only: validate, plan, render and rehearse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Release production secrets to reviewed CI jobs only."""


def _register_commands() -> None:
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    app()
