"""Show a rehearsal: a rich table (flow, expected, got, the layer that stopped it) or JSON."""

from __future__ import annotations

import json
from collections import Counter
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


def table(rehearsal: Rehearsal) -> Table:
    grid = Table(title=f"Rehearsal of {', '.join(rehearsal.environments)} against {rehearsal.vault_addr}",
                 show_lines=False, expand=False)
    grid.add_column("kind", no_wrap=True)
    grid.add_column("flow", overflow="fold", ratio=5)
    grid.add_column("expected", no_wrap=True)
    grid.add_column("got", overflow="fold", ratio=3)
    grid.add_column("stopped by", overflow="fold", ratio=3)
    grid.add_column("verdict", no_wrap=True)
    for outcome in rehearsal.outcomes:
        style = _STYLE[outcome.verdict]
        layer = outcome.layer
        if outcome.proof and outcome.verdict != "ok":
            layer = f"{layer}: {outcome.proof}" if layer else outcome.proof
        grid.add_row(outcome.kind, escape(outcome.flow), outcome.expected, escape(outcome.got), escape(layer),
                     f"[{style}]{outcome.verdict}[/]")
    return grid


def print_report(rehearsal: Rehearsal, console: Console) -> None:
    console.print(table(rehearsal))
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
    counts = summary(rehearsal)
    verdict = "[bold green]PASSED[/]" if rehearsal.passed else "[bold red]FAILED[/]"
    console.print(
        f"{verdict}: {counts['legitimate_admitted']}/{counts['legitimate']} legitimate flows admitted; "
        f"{counts['attacks']} attacks: {counts['refused_by_vault']} refused by Vault, "
        f"{counts['stopped_by_a_later_layer']} stopped by a later layer, {counts['accepted_risks']} admitted as "
        f"accepted risks (listed above), {counts['not_applicable']} not applicable; "
        f"{counts['verifications']} verifications; {counts['escapes']} escapes; "
        f"{counts['refused_legitimate']} legitimate flows refused ({rehearsal.seconds:.1f}s)"
    )


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
