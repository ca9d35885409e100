"""What every command shares: the same options, the front door, and user mistakes as messages.

Every command reads its declaration through :func:`open_stacks` (the front door, which says on stderr
what it read) and runs its body inside :func:`user_errors`: a user's mistake is a message and exit
status 2, Ctrl-C a message and exit status 130, never a traceback.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, NoReturn, cast

import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..errors import InvalidDeclaration, SecurePipelinesError
from ..views import Request, Views, open_views

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a command stopped by Ctrl-C (not a mistake in the declaration)."""

DeclarationOption = Annotated[
    Path | None,
    typer.Option("--declaration", "-d", help="The declaration file (default: the one the Pulumi project in this "
                 "directory or above reads, stacks/declaration.yaml unless its stack config names another)."),
]
StackOption = Annotated[str | None, typer.Option("--stack", "-s", help="One stack (environment), read as "
                                                 "`pulumi up -s <stack>` reads it.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every environment, each read as its own stack.")]

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)
PIPED_WIDTH = 220


def for_reading(target: Console) -> Console:
    """``target`` in a terminal; piped into a file or CI log, a copy as wide as ``COLUMNS`` says, else
    wide enough for one-line table rows."""
    if target.is_terminal:
        return target
    columns = os.environ.get("COLUMNS", "")
    return Console(file=cast(IO[str], _TrimmedLines(target.file)),
                   width=int(columns) if columns.isdigit() and int(columns) > 0 else PIPED_WIDTH,
                   highlight=False, soft_wrap=False)


class _TrimmedLines(io.TextIOBase):
    """Writes to ``file`` each line without the trailing spaces rich leaves where it wraps a paragraph."""

    def __init__(self, file: IO[str]):
        self._file = file
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *complete, self._pending = (self._pending + text).split("\n")
        if complete:
            self._file.write("".join(line.rstrip(" ") + "\n" for line in complete))
        return len(text)

    def flush(self) -> None:
        if self._pending:  # a line printed without its end (``end=""``) is shown as it is
            self._file.write(self._pending)
            self._pending = ""
        self._file.flush()


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a user's mistake as text and exit 2 (Ctrl-C: 130); never a traceback."""
    try:
        yield
    except InvalidDeclaration as error:
        error_console.print(f"[bold red]InvalidDeclaration[/]: {len(error.problems)} problem(s)")
        for problem in error.problems:
            error_console.print(f"  - {problem}", markup=False)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except SecurePipelinesError as error:
        error_console.print(f"[bold red]error[/]: {escape(str(error))}")
        raise typer.Exit(EXIT_USER_ERROR) from None
    except KeyboardInterrupt:
        error_console.print("interrupted (Ctrl-C): stopped, nothing more was done", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


BOTH_STACK_AND_ALL = "choose one: --stack <environment> or --all (not both)"
NEITHER_STACK_NOR_ALL = "choose what to read: --stack <environment> or --all"


def refuse_both(stack: str | None, all_stacks: bool) -> None:
    """Every command says this one sentence when given both ``--stack`` and ``--all``."""
    if all_stacks and stack is not None:
        fail(BOTH_STACK_AND_ALL)


def fail(message: str) -> NoReturn:
    """Stop with a usage mistake (exit 2)."""
    error_console.print(f"[bold red]error[/]: {escape(message)}")
    raise typer.Exit(EXIT_USER_ERROR)


def say(line: str) -> None:
    """One line of what the command read or did, on stderr (so stdout stays the command's output)."""
    error_console.print(line, markup=False, highlight=False)


def open_stacks(
    declaration: Path | None, stack: str | None, all_stacks: bool, *, every_by_default: bool = False,
    organization: bool = False,
) -> Views:
    """The front door for a command's ``-d/--declaration``, ``-s/--stack`` and ``--all`` options.

    ``every_by_default``: without ``--stack``, every environment (``validate``); otherwise a command
    must be told ``--stack`` or ``--all``.
    """
    refuse_both(stack, all_stacks)
    if not all_stacks and stack is None and not every_by_default:
        fail(NEITHER_STACK_NOR_ALL)
    request = Request(declaration=declaration, stacks=None if stack is None else (stack,), organization=organization)
    return open_views(request, report=say)


def print_rows(target: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
               wide_from: int) -> None:
    """A table where the output is at least ``wide_from`` columns wide; below, a stacked layout that reads
    in 80 columns: each row's first cell as a heading, then one ``column: value`` line per other cell.

    Cells are rich markup (escape text that is not); empty cells and ``-`` are left out of the stacked rows.
    """
    shown = for_reading(target)
    if shown.width >= wide_from:
        grid = Table(title=title)
        for column in columns:
            grid.add_column(column, overflow="fold")
        for row in rows:
            grid.add_row(*row)
        shown.print(grid)
        return
    shown.print(f"[bold]{escape(title)}[/]")
    for row in rows:
        block = Table.grid(padding=(0, 1))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for column, cell in zip(columns[1:], row[1:], strict=True):
            if cell not in ("", "-"):
                block.add_row(f"{escape(column)}:", cell)
        shown.print("")
        print_trimmed(shown, Text.from_markup(f"[bold]{row[0]}[/]"))
        print_trimmed(shown, Padding(block, (0, 0, 0, 2)))


def print_trimmed(target: Console, renderable: RenderableType) -> None:
    """``renderable`` without the spaces a grid pads its lines with to the widest cell (copied text, diffs
    of saved output and screen readers all trip over them)."""
    for line in target.render_lines(renderable, pad=False):
        text = Text()
        for segment in line:
            if not segment.control:
                text.append(segment.text, segment.style)
        text.rstrip()
        target.print(text, soft_wrap=True)
