"""What the rehearsal expected and what Vault (or another layer) did, one row per check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .timing import PhaseTimes

Kind = Literal["legitimate", "attack", "verification"]
Expectation = Literal["admitted", "refused"]
Verdict = Literal["ok", "stopped-elsewhere", "accepted-risk", "escape", "refused-legitimate", "not-applicable"]


@dataclass(frozen=True)
class Outcome:
    """One row of the rehearsal."""

    kind: Kind
    flow: str
    """What was tried, for people, e.g. ``webapp -> production: feature branch refs/heads/feature/x``."""
    environment: str
    repository: str | None
    ci: str | None
    developer: str | None
    expected: Expectation
    got: str
    """``admitted`` or ``refused: <Vault's reason>``."""
    layer: str
    """The layer that stopped it (empty for an admitted legitimate flow)."""
    verdict: Verdict
    proof: str = ""
    """For a layer other than Vault: the check that proves it stops the attack."""
    also: tuple[str, ...] = ()
    """Other layers that would stop it too (defence in depth)."""

    @property
    def failed(self) -> bool:
        return self.verdict in ("escape", "refused-legitimate")


def verdict_for(kind: Kind, expected: Expectation, admitted: bool) -> Verdict:
    """Legitimate flows must get what they expect; an admitted attack is an escape."""
    if admitted == (expected == "admitted"):
        return "ok"
    return "refused-legitimate" if kind == "legitimate" else "escape"


@dataclass(frozen=True)
class Access:
    """Who was seen able to do what on a secret path (for the differential check with explain)."""

    who: str
    """``<mount>/<role>`` for a CI role, ``admin:<role>`` for an admin role."""
    data_path: str
    capability: Literal["read", "write"]


@dataclass
class Rehearsal:
    """Everything one rehearsal did and saw."""

    environments: tuple[str, ...]
    vault_addr: str
    embedded: bool
    outcomes: list[Outcome] = field(default_factory=list)
    observed: set[Access] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    keys_written: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    phases: PhaseTimes = field(default_factory=PhaseTimes)
    """Wall time per phase (capture, server start, apply, seeding, flows and attacks, ...)."""

    @property
    def escapes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "escape"]

    @property
    def refused_legitimate(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "refused-legitimate"]

    @property
    def passed(self) -> bool:
        return not self.escapes and not self.refused_legitimate
