"""How long each phase of a rehearsal took: a small record the rehearsal fills in as it runs.

Benchmarks read it (``bench/bench_rehearse.py``) and ``securepipe rehearse --timings`` shows it, so
where the time goes is measured by the rehearsal itself rather than guessed from outside.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..progress import Progress

PHASES: dict[str, str] = {
    "later-layers": "start the later layers' decisions on the attacks Vault admits by design",
    "capture": "capture the stacks' Vault resources under Pulumi's mocks",
    "keys": "generate each issuer's signing key",
    "server-start": "start the embedded OpenBao",
    "apply": "apply each stack's Vault resources with its deployer's token",
    "address-check": "prove the address Vault checks is the one sent",
    "seed": "seed every secret path",
    "flows": "legitimate flows and attacks, per CI role",
    "admin": "admin write-only checks",
    "deployers": "each stack deployer's attacks",
    "differential": "compare explain's access matrix with Vault's grants",
    "server-stop": "stop the embedded OpenBao",
}
"""Each phase's stable id, in the order a rehearsal runs them, with what it does."""


CpuMeter = Callable[[], tuple[float, float | None]]
"""CPU seconds used so far by the rehearsal's process and by its server (``None``: not known)."""


def process_cpu() -> tuple[float, float | None]:
    """The rehearsal process's CPU seconds (every thread), the server's unknown."""
    return time.process_time(), None


@dataclass
class PhaseTimes:
    """Seconds of wall time per phase id (a phase that did not run is absent), and of CPU.

    CPU is what a shared machine does not blur: a phase's wall time grows with other people's load, its
    CPU seconds (the rehearsal's own, and the server's where the meter knows them) barely do.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    """Per phase timed with :meth:`phase`: CPU seconds of the rehearsal's process and of the server."""
    listener: Progress | None = field(default=None, repr=False, compare=False)
    """Told each phase as it starts (by its description) and each step done."""
    meter: CpuMeter = field(default=process_cpu, repr=False, compare=False)
    """Reads the CPU used so far (the rehearsal sets one that also reads its server's)."""

    def record(self, phase: str, seconds: float) -> None:
        """Add ``seconds`` to ``phase`` (a phase may run in several pieces)."""
        if phase not in PHASES:
            raise ValueError(f"unknown rehearsal phase {phase!r}; known: {', '.join(PHASES)}")
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextmanager
    def phase(self, phase: str, total: int | None = None) -> Iterator[None]:
        """Time the block as ``phase`` (of ``total`` steps, when it counts them with :meth:`advance`)."""
        self.started(phase, total)
        started = time.perf_counter()
        own, server = self.meter()
        try:
            yield
        finally:
            self.record(phase, time.perf_counter() - started)
            own_now, server_now = self.meter()
            before = self.cpu.get(phase, (0.0, 0.0))
            server_used = None if server is None or server_now is None or before[1] is None else \
                before[1] + server_now - server
            self.cpu[phase] = (before[0] + own_now - own, server_used)

    def started(self, phase: str, total: int | None = None) -> None:
        """Tell the listener that ``phase`` begins (without timing it: see :meth:`record`)."""
        if self.listener is not None:
            self.listener.phase(PHASES[phase], total)

    def advance(self, steps: int = 1) -> None:
        """Tell the listener that ``steps`` more steps of the current phase are done."""
        if self.listener is not None:
            self.listener.advance(steps)

    def in_order(self) -> list[tuple[str, float]]:
        """``(phase id, seconds)`` for every phase that ran, in the order of :data:`PHASES`."""
        return [(name, self.seconds[name]) for name in PHASES if name in self.seconds]
