"""Config-policy evaluations in the background, in worker processes beside the rehearsal.

Each evaluation compiles the whole bundle with rego-cpp (tens of milliseconds of CPU), and a rehearsal
asks for three per CircleCI repository. One thread evaluating one at a time fell behind the roles that
waited for its decisions; rego-cpp is not documented as safe to run from several threads at once, so
the evaluations run in worker processes instead (each its own interpreter, nothing shared), and a
crash in one is an error the rehearsal reports rather than the end of the process. Where worker
processes cannot start, one thread evaluates, as before. The workers' CPU time is counted, for the
rehearsal's figures.

Worker processes pay off only for many evaluations: starting them (each imports the evaluator) costs
more than they save on a small organisation. Measured on a 2-core machine: 10 repositories (5 on
CircleCI) took 4.8 s against 3.2 s with one thread, 200 repositories were within the machine's noise
either way, and at 1000 repositories (500 on CircleCI) the flows took 222 s against 273 s. So the
rehearsal asks for workers from :data:`WORKERS_FROM_PROJECTS` CircleCI projects on.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from .decision import Decision
from .evaluate import evaluate_policies

WORKERS = 2
"""Worker processes: the machines rehearsals run on have a few cores, shared with Vault and the roles."""

WORKERS_FROM_PROJECTS = 200
"""CircleCI projects (three evaluations each) from which worker processes evaluate, not one thread."""


def _evaluate_timed(policies: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
                    ) -> tuple[Decision, float]:
    """The decision, and the CPU seconds the (worker) process spent on it."""
    started = time.process_time()
    decision = evaluate_policies(policies, config, meta)
    return decision, time.process_time() - started


def _ready() -> None:
    """A worker's first task: unpickling it imports this module and the evaluator, before any is needed."""


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the rehearsal's to handle (it stops the workers), not each worker's to print."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PolicyEvaluator:
    """Evaluates config policies in the background: on one thread unless :meth:`start` asked for worker
    processes; kept for the process's life."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._executor: Executor | None = None
        self._in_workers = False
        self._cpu = 0.0
        self._guard = threading.Lock()

    def submit(self, policies: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
               ) -> Future[Decision]:
        """Start one evaluation (:func:`evaluate_policies`); its decision, or its error, when done."""
        with self._guard:
            executor, in_workers = self._started(), self._in_workers
        decided: Future[Decision] = Future()

        def done(evaluated: Future[tuple[Decision, float]]) -> None:
            error = evaluated.exception()
            if error is not None:
                decided.set_exception(error)
                return
            decision, cpu = evaluated.result()
            if in_workers:
                with self._guard:
                    self._cpu += cpu
            decided.set_result(decision)

        executor.submit(_evaluate_timed, policies, config, meta).add_done_callback(done)
        return decided

    def start(self, *, in_workers: bool) -> None:
        """Get ready: with ``in_workers``, start the worker processes now (each imports the evaluator, about half
        a second), while the caller does other work; else one thread (started on first use). Workers once
        started stay."""
        with self._guard:
            if not in_workers or self._in_workers:
                return
            try:
                # spawn: a fork would copy the rehearsal's threads' locks and open connections.
                executor = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                               initializer=_ignore_interrupts)
            except (OSError, NotImplementedError, ImportError):  # no process support here (e.g. no /dev/shm)
                return
            self._executor, self._in_workers = executor, True
        for _ in range(self._workers):
            executor.submit(_ready)

    def cpu_seconds(self) -> float:
        """CPU seconds the worker processes spent on evaluations so far (none when a thread evaluates: that
        time is the rehearsal process's own)."""
        with self._guard:
            return self._cpu

    def _started(self) -> Executor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="config-policy")
        return self._executor
