"""The garbage collector's pace while a Pulumi program registers thousands of resources.

Each resource the Pulumi SDK registers allocates dozens of futures, tasks and outputs that live
until the engine answers. With CPython's default thresholds (a collection every 700 allocations)
the collector walks that growing heap again and again: measured on a 1000-repository organisation,
half the program's time went to collections that found almost nothing to free, and the time grew
faster than the number of repositories. Collecting every 50,000 allocations (and the oldest
generation rarely) keeps the peak memory the same there and the time linear.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REGISTRATION_THRESHOLDS = (50_000, 50, 100)
"""``gc.set_threshold`` while resources are registered (CPython's default: 700, 10, 10)."""

_LOCK = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


def pace_for_registration() -> None:
    """Set :data:`REGISTRATION_THRESHOLDS` for the rest of the process (``pulumi up``'s program process)."""
    gc.set_threshold(*REGISTRATION_THRESHOLDS)


@contextmanager
def paced_for_registration() -> Iterator[None]:
    """:data:`REGISTRATION_THRESHOLDS` inside the block; the caller's thresholds afterwards.

    The thresholds are process-wide: overlapping blocks (captures in several threads) keep them
    until the last one ends.
    """
    global _depth, _saved
    with _LOCK:
        if _depth == 0:
            _saved = gc.get_threshold()
            pace_for_registration()
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
