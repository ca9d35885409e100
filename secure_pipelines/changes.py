"""One change to access between two declarations, and the small pure comparisons that classify it.

A change *widens* access when someone or something may now do what it could not (a new grant, a
claim no longer bound, a wider network, a longer TTL, a protection rule weakened), *narrows* it when
the reverse holds, and is *neutral* when it changes no access (a renamed context that binds the same
id). Where a change cannot be shown to narrow or keep access, it counts as widening: a reviewer
should look. The core's ``diff`` and each CI system's config policy build these.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["widening", "narrowing", "neutral"]
WIDENING: Kind = "widening"
NARROWING: Kind = "narrowing"
NEUTRAL: Kind = "neutral"


@dataclass(frozen=True)
class AccessChange:
    """One difference in access, for reviewers (people read ``summary``; tests and tools read ``id``)."""

    id: str
    """Stable id of the kind of change, e.g. ``role.claim-removed`` or ``protection.weakened``."""
    kind: Kind
    subject: str
    """What changed, e.g. ``role <mount>/production.webapp`` or ``branch protection of webapp``."""
    field: str
    """The setting that changed, e.g. ``bound_claims.<claim>`` or ``token_bound_cidrs``."""
    old: str
    new: str
    summary: str


def shown(value: object) -> str:
    """A value as reviewers read it: lists joined, ``-`` for nothing."""
    if value is None or value == () or value == []:
        return "-"
    if isinstance(value, tuple | list | set | frozenset):
        return ", ".join(str(v) for v in (sorted(value, key=str) if isinstance(value, set | frozenset) else value))
    return str(value)


def compare_sets(subject: str, field: str, old: Iterable[object], new: Iterable[object], *, more_is: Kind,
                 what: str) -> Iterator[AccessChange]:
    """Items added and removed; ``more_is`` says what an added item does (widening or narrowing).

    One change per direction, so a replaced value reads as one item removed and one added.
    """
    before, after = set(old), set(new)
    less_is: Kind = NARROWING if more_is == WIDENING else WIDENING
    if after - before:
        yield AccessChange(f"{what}.added", more_is, subject, field, shown(before), shown(after),
                           f"{subject}: {field} now also has {shown(after - before)}")
    if before - after:
        yield AccessChange(f"{what}.removed", less_is, subject, field, shown(before), shown(after),
                           f"{subject}: {field} no longer has {shown(before - after)}")


def compare_number(subject: str, field: str, old: int, new: int, *, more_is: Kind,
                   what: str) -> Iterator[AccessChange]:
    if new == old:
        return
    raised = new > old
    kind = more_is if raised else (NARROWING if more_is == WIDENING else WIDENING)
    yield AccessChange(f"{what}.{'raised' if raised else 'lowered'}", kind, subject, field, str(old), str(new),
                       f"{subject}: {field} {'raised' if raised else 'lowered'} from {old} to {new}")


def compare_flag(subject: str, field: str, old: bool, new: bool, *, true_is: Kind,
                 what: str) -> Iterator[AccessChange]:
    """A boolean setting; ``true_is`` says what switching it on does."""
    if new == old:
        return
    kind = true_is if new else (NARROWING if true_is == WIDENING else WIDENING)
    yield AccessChange(f"{what}.{'on' if new else 'off'}", kind, subject, field, str(old).lower(),
                       str(new).lower(), f"{subject}: {field} switched {'on' if new else 'off'}")


def compare_networks(subject: str, field: str, old: Iterable[str], new: Iterable[str],
                     what: str) -> Iterator[AccessChange]:
    """CIDRs: wider when some address is admitted that was not, narrower when the reverse holds."""
    before = [ipaddress.ip_network(c) for c in old]
    after = [ipaddress.ip_network(c) for c in new]
    if set(before) == set(after):
        return
    if not _covered(after, before):
        yield AccessChange(f"{what}.widened", WIDENING, subject, field, shown([str(n) for n in before]),
                           shown([str(n) for n in after]), f"{subject}: {field} now admits addresses it did not")
    if not _covered(before, after):
        yield AccessChange(f"{what}.narrowed", NARROWING, subject, field, shown([str(n) for n in before]),
                           shown([str(n) for n in after]), f"{subject}: {field} no longer admits some addresses")
    if _covered(after, before) and _covered(before, after):
        yield AccessChange(f"{what}.rewritten", NEUTRAL, subject, field, shown([str(n) for n in before]),
                           shown([str(n) for n in after]), f"{subject}: {field} rewritten, same addresses")


def _covered(networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
             by: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Every address of ``networks`` is in one of ``by``."""
    merged = {4: list(ipaddress.collapse_addresses(n for n in by if n.version == 4)),  # type: ignore[misc]
              6: list(ipaddress.collapse_addresses(n for n in by if n.version == 6))}  # type: ignore[misc]
    return all(any(n.subnet_of(m) for m in merged[n.version]) for n in networks)  # type: ignore[arg-type]
