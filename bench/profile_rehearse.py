"""Where a rehearsal's time goes: a cProfile of one whole rehearsal of a generated organisation.

Run from the project root:

    .venv/bin/python bench/profile_rehearse.py [--repositories 100] [--top 40]

The roles are fired one after another on the main thread (the rehearsal normally fires them from a
few threads, which cProfile does not follow), so the figures add up to the serial cost of each part:
requests to the server, config-policy evaluations, token signing, capability checks. The organisation
is the one ``bench_rehearse.py`` generates.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import bench_rehearse

from secure_pipelines.ci.circleci.policy import evaluator
from secure_pipelines.rehearse import rehearse_views, runner
from secure_pipelines.views import Request, open_views

T = TypeVar("T")
R = TypeVar("R")


class SerialPool:
    """Stands in for the rehearsal's thread pool: the same ``map``, on the calling thread."""

    def __init__(self, max_workers: int | None = None, **_: object) -> None:
        del max_workers

    def __enter__(self) -> SerialPool:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return map(function, items)

    def submit(self, function: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``function`` now, on the calling thread; its result (or error) waits in the future."""
        done: Future[R] = Future()
        try:
            done.set_result(function(*args))
        except Exception as error:  # handed to whoever asks the future, as a pool would
            done.set_exception(error)
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        del wait, cancel_futures


def _no_processes(*_: object, **__: object) -> Any:
    raise OSError("profiled on one thread")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repositories", type=int, default=100)
    parser.add_argument("--top", type=int, default=40, help="rows of each listing")
    args = parser.parse_args()
    runner.ThreadPoolExecutor = SerialPool  # type: ignore[assignment]
    # The config-policy evaluations too, on this thread rather than in worker processes cProfile cannot see.
    evaluator.ProcessPoolExecutor = _no_processes  # type: ignore[assignment]
    evaluator.ThreadPoolExecutor = SerialPool  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="profile-rehearse-") as workdir:
        path = Path(workdir) / "declaration.json"
        path.write_text(json.dumps(bench_rehearse.declaration(args.repositories)), encoding="utf-8")
        views = open_views(Request(declaration=path, organization=True), cwd=path.parent)
        profile = cProfile.Profile()
        profile.enable()
        rehearsal = rehearse_views(views)
        profile.disable()
    phases: dict[str, Any] = {name: round(seconds, 2) for name, seconds in rehearsal.phases.in_order()}
    print(f"{len(rehearsal.outcomes)} rows, passed={rehearsal.passed}, phases (s): {phases}\n")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top // 2)


if __name__ == "__main__":
    main()
