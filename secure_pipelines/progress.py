"""Progress of long work, reported to whoever listens: the command line shows it on a terminal and
stays quiet when piped; the library reports to the current listener (silent unless a command set one).

Work reports phases (``phase``) and steps done within them (``advance``), from the thread that runs
the command: a context variable holds the listener, and worker threads do not inherit it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


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
