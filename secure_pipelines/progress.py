"""Progress of long work: the library reports it to whoever listens, and a command draws it on a terminal.

Work reports phases (``phase``) and steps done within them (``advance``) to :func:`progress`, the
current listener: silent unless a command set one with :func:`reporting_to` or :func:`shown_on`. The
listener is a context variable, so work reports from the thread that runs the command (worker threads
do not inherit it); a rehearsal tells it each of its timed phases (``rehearse/timing.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from rich import progress as rich_progress
from rich.console import Console


class Progress(Protocol):
    """Hears how far long work has got."""

    def phase(self, description: str, total: int | None = None) -> None:
        """A new phase starts: ``total`` steps (``None``: unknown)."""
        ...

    def advance(self, count: int = 1) -> None:
        """``count`` more steps of the current phase are done."""
        ...


class Silent:
    """The listener when nobody listens."""

    def phase(self, description: str, total: int | None = None) -> None:
        return None

    def advance(self, count: int = 1) -> None:
        return None


SILENT = Silent()
_LISTENER: ContextVar[Progress] = ContextVar("secure_pipelines_progress", default=SILENT)


def progress() -> Progress:
    """The current listener (silent unless a command is showing progress)."""
    return _LISTENER.get()


@contextmanager
def reporting_to(listener: Progress) -> Iterator[Progress]:
    """Report the work done inside the ``with`` block to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield listener
    finally:
        _LISTENER.reset(token)


class ProgressBar:
    """A :class:`Progress` drawn as one rich progress line: the running phase, steps done of all, time left."""

    def __init__(self, bar: rich_progress.Progress) -> None:
        self._bar = bar
        self._task = bar.add_task("starting", total=None)

    def phase(self, description: str, total: int | None = None) -> None:
        # A fresh task per phase: resetting one would keep the last phase's total when this one has none.
        self._bar.remove_task(self._task)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, count: int = 1) -> None:
        self._bar.advance(self._task, count)


@contextmanager
def shown_on(console: Console) -> Iterator[ProgressBar | None]:
    """The work inside the block drawn on ``console`` when it is a terminal (the bar is gone when the block
    ends); when it is not (piped, a CI log), nothing is shown and ``None`` is yielded."""
    if not console.is_terminal:
        yield None
        return
    columns = (rich_progress.SpinnerColumn(), rich_progress.TextColumn("{task.description}"),
               rich_progress.BarColumn(), rich_progress.MofNCompleteColumn(), rich_progress.TimeRemainingColumn(),
               rich_progress.TextColumn("left"))
    with rich_progress.Progress(*columns, console=console, transient=True) as bar:
        shown = ProgressBar(bar)
        with reporting_to(shown):
            yield shown
