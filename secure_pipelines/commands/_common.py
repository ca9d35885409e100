"""What every command shares: the declaration option and turning user mistakes into exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..declaration import Declaration
from ..declaration.loader import load_declaration
from ..errors import DeclarationNotFound, InvalidDeclaration, SecurePipelinesError
from ..example_project import DEFAULT_DECLARATION
from ..plan.assembly import build_plan
from ..plan.model import Plan

EXIT_USER_ERROR = 2

DeclarationOption = Annotated[
    Path,
    typer.Option("--declaration", "-d", help="The declaration YAML file.", show_default=True),
]

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)
PIPED_WIDTH = 220


def for_reading(target: Console) -> Console:
    """``target`` in a terminal; piped into a file or CI log, a copy wide enough for one-line table rows."""
    if target.is_terminal:
        return target
    return Console(file=target.file, width=max(target.width, PIPED_WIDTH), highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a user's mistake as text and exit 2; never a traceback."""
    try:
        yield
    except InvalidDeclaration as error:
        error_console.print(f"[bold red]InvalidDeclaration[/]: {len(error.problems)} problem(s)")
        for problem in error.problems:
            error_console.print(f"  - {problem}", markup=False)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except (DeclarationNotFound, SecurePipelinesError) as error:
        error_console.print(f"[bold red]error[/]: {error}", markup=True)
        raise typer.Exit(EXIT_USER_ERROR) from None


def load(declaration: Path | None) -> Declaration:
    return load_declaration(declaration or DEFAULT_DECLARATION)


def load_plan(declaration: Path | None) -> Plan:
    return build_plan(load(declaration))


def fail(message: str) -> None:
    error_console.print(f"[bold red]error[/]: {message}")
    sys.exit(EXIT_USER_ERROR)
