"""Compare explain's access matrix (the plan's intent) with the grants Vault was seen to make."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..explain import PathAccess, granted
from .outcomes import Access, Outcome

Grant = tuple[str, str, str]


def observed_grants(observed: Iterable[Access]) -> set[Grant]:
    return {(a.who, a.data_path, a.capability) for a in observed}


def differences(matrix: Sequence[PathAccess], observed: Iterable[Access]) -> tuple[set[Grant], set[Grant]]:
    """``(granted by Vault but not explained, explained but not granted by Vault)``."""
    expected = granted(matrix)
    seen = observed_grants(observed)
    return seen - expected, expected - seen


def differential_outcome(matrix: Sequence[PathAccess], observed: Iterable[Access]) -> Outcome:
    """One row: explain and Vault agree, or every grant on which they differ."""
    extra, missing = differences(matrix, observed)
    shown = [f"Vault also grants {c} on {p} to {w}" for w, p, c in sorted(extra)]
    shown += [f"Vault does not grant {c} on {p} to {w}" for w, p, c in sorted(missing)]
    expected = granted(matrix)
    return Outcome(
        kind="verification",
        flow=f"explain's access matrix ({len(expected)} grants) equals what Vault granted",
        environment="-", repository=None, ci=None, developer=None,
        expected="admitted",
        got="equal" if not shown else "; ".join(shown),
        layer="",
        verdict="ok" if not shown else ("escape" if extra else "refused-legitimate"),
        proof="capabilities of every rehearsed token on every seeded path (sys/capabilities)",
    )
