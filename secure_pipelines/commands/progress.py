"""A rehearsal's progress on a terminal: its phase, roles done of all, time left. Silent when piped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ..rehearse.timing import PHASES, ProgressListener


class RehearsalProgressBar:
    """A :class:`ProgressListener` drawing one bar: the phase running, and per role while firing."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID = progress.add_task("starting", total=None)

    def phase_started(self, phase: str, total: int | None) -> None:
        self._progress.reset(self._task, description=PHASES[phase], total=total, completed=0)

    def advanced(self, steps: int) -> None:
        self._progress.advance(self._task, steps)


@contextmanager
def rehearsal_progress(console: Console) -> Iterator[ProgressListener | None]:
    """A progress bar on ``console`` while the block runs, or ``None`` (nothing shown) when it is no terminal."""
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield RehearsalProgressBar(progress)
