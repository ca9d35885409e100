"""Show a rehearsal: rows for a table (flow, expected, got, the layer that stopped it), its closing lines
and verdict, or JSON; whole or as a summary (counts and failures only)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .outcomes import Outcome, Rehearsal
from .scope import scope
from .timing import PHASES

_STYLE = {
    "ok": "green",
    "stopped-elsewhere": "yellow",
    "accepted-risk": "bold yellow",
    "escape": "bold red",
    "refused-legitimate": "bold red",
    "not-applicable": "dim",
}


def summary(rehearsal: Rehearsal) -> dict[str, int]:
    counts = Counter((o.kind, o.verdict) for o in rehearsal.outcomes)
    legit = [o for o in rehearsal.outcomes if o.kind == "legitimate"]
    attacks = [o for o in rehearsal.outcomes if o.kind == "attack"]
    return {
        "legitimate": len(legit),
        "legitimate_admitted": sum(1 for o in legit if o.verdict == "ok"),
        "attacks": len(attacks),
        "refused_by_vault": counts[("attack", "ok")],
        "stopped_by_a_later_layer": counts[("attack", "stopped-elsewhere")],
        "not_applicable": counts[("attack", "not-applicable")],
        "accepted_risks": counts[("attack", "accepted-risk")],
        "verifications": sum(1 for o in rehearsal.outcomes if o.kind == "verification"),
        "escapes": len(rehearsal.escapes),
        "refused_legitimate": len(rehearsal.refused_legitimate),
    }


def as_json(rehearsal: Rehearsal) -> str:
    claim = scope(rehearsal)
    document: dict[str, Any] = {
        "passed": rehearsal.passed,
        "environments": list(rehearsal.environments),
        "vault_addr": rehearsal.vault_addr,
        "embedded_server": rehearsal.embedded,
        "seconds": round(rehearsal.seconds, 3),
        "phases": {name: round(seconds, 3) for name, seconds in rehearsal.phases.in_order()},
        "summary": summary(rehearsal),
        "outcomes": [_outcome(o) for o in rehearsal.outcomes],
        "observed_access": sorted(
            ({"who": a.who, "path": a.data_path, "capability": a.capability} for a in rehearsal.observed),
            key=lambda a: (a["path"], a["who"], a["capability"]),
        ),
        "notes": rehearsal.notes,
        "keys_written": rehearsal.keys_written,
        "scope": {"proves": list(claim.proves), "does_not_prove": list(claim.does_not_prove)},
    }
    return json.dumps(document, indent=2)


def _outcome(outcome: Outcome) -> dict[str, Any]:
    row = asdict(outcome)
    row["also"] = list(outcome.also)
    return row


COLUMNS = ("flow", "kind", "expected", "got", "stopped by", "verdict")


def title(rehearsal: Rehearsal) -> str:
    return f"Rehearsal of {', '.join(rehearsal.environments)} against {rehearsal.vault_addr}"


def rows(outcomes: Iterable[Outcome]) -> list[list[str]]:
    """One row of rich markup per outcome, in ``COLUMNS`` order (the flow first: it names the row)."""
    found = []
    for outcome in outcomes:
        layer = outcome.layer
        if outcome.proof and outcome.verdict != "ok":
            layer = f"{layer}: {outcome.proof}" if layer else outcome.proof
        found.append([escape(outcome.flow), outcome.kind, outcome.expected, escape(outcome.got), escape(layer),
                      f"[{_STYLE[outcome.verdict]}]{outcome.verdict}[/]"])
    return found


def failures(rehearsal: Rehearsal) -> list[Outcome]:
    """The outcomes that fail the rehearsal: escapes and refused legitimate flows."""
    return [o for o in rehearsal.outcomes if o.failed]


def verdict(rehearsal: Rehearsal) -> str:
    """The closing line: PASSED or FAILED and every count (rich markup)."""
    counts = summary(rehearsal)
    passed = "[bold green]PASSED[/]" if rehearsal.passed else "[bold red]FAILED[/]"
    return (
        f"{passed}: {counts['legitimate_admitted']}/{counts['legitimate']} legitimate flows admitted; "
        f"{counts['attacks']} attacks: {counts['refused_by_vault']} refused by Vault, "
        f"{counts['stopped_by_a_later_layer']} stopped by a later layer, {counts['accepted_risks']} admitted as "
        f"accepted risks, {counts['not_applicable']} not applicable; "
        f"{counts['verifications']} verifications; {counts['escapes']} escapes; "
        f"{counts['refused_legitimate']} legitimate flows refused ({rehearsal.seconds:.1f}s)"
    )


def print_closing(rehearsal: Rehearsal, console: Console) -> None:
    """What follows the table: notes, keys written, what the rehearsal proves and does not, the verdict."""
    for note in rehearsal.notes:
        console.print(f"note: {note}", markup=False, style="dim")
    for issuer, path in rehearsal.keys_written.items():
        console.print(f"signing key for {issuer}: {path}", markup=False, style="dim")
    claim = scope(rehearsal)
    console.print("What this rehearsal proves:", style="bold")
    for statement in claim.proves:
        console.print(f"  - {statement}", markup=False)
    console.print("What it does not prove:", style="bold")
    for statement in claim.does_not_prove:
        console.print(f"  - {statement}", markup=False)
    console.print(verdict(rehearsal))


def as_json_summary(rehearsal: Rehearsal) -> str:
    """The counts, the phases' seconds and the failing outcomes only."""
    return json.dumps({"passed": rehearsal.passed, "environments": list(rehearsal.environments),
                       "seconds": round(rehearsal.seconds, 3),
                       "phases": {name: round(seconds, 3) for name, seconds in rehearsal.phases.in_order()},
                       "summary": summary(rehearsal), "failures": [_outcome(o) for o in failures(rehearsal)]},
                      indent=2)


def phase_table(rehearsal: Rehearsal) -> Table:
    """Where the rehearsal's time went, phase by phase (``securepipe rehearse --timings``)."""
    grid = Table(title=f"Rehearsal phases ({len(rehearsal.outcomes)} rows in {rehearsal.seconds:.1f}s)")
    grid.add_column("phase", no_wrap=True)
    grid.add_column("what it does")
    grid.add_column("seconds", justify="right", no_wrap=True)
    grid.add_column("share", justify="right", no_wrap=True)
    total = rehearsal.seconds or 1.0
    for name, seconds in rehearsal.phases.in_order():
        grid.add_row(name, PHASES[name], f"{seconds:.2f}", f"{100 * seconds / total:.0f}%")
    return grid
