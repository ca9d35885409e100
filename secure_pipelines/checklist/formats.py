"""The checklist as Markdown for people (a task list by phase and scope, pasteable into an issue) and
as JSON for tools (every step with its stable id)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .steps import PHASE_ORDER, PHASE_TITLES, Step


def _code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _prose(text: str) -> str:
    return text.replace("\n", " ")


def as_markdown(steps: Sequence[Step], organization: str, stacks: Sequence[str]) -> str:
    """Phases in order (numbered), the steps of each grouped by scope, each a task with its values."""
    lines = [f"# Setup checklist of {organization}", "",
             f"Stacks: {', '.join(stacks)}. Every step Pulumi cannot take, in the order to take it; values in code "
             "are exact, to be entered as they stand. `securepipe checklist -f json` gives the same steps to tools, "
             "each with its id."]
    number = 0
    for phase in PHASE_ORDER:
        in_phase = [s for s in steps if s.phase is phase]
        if not in_phase:
            continue
        number += 1
        lines += ["", f"## {number}. {PHASE_TITLES[phase]}"]
        scope = None
        for step in in_phase:
            if step.scope != scope:
                scope = step.scope
                lines += ["", f"### {scope.title}", ""]
            lines.append(f"- [ ] **{_prose(step.title)}** ({_code(step.id)})")
            lines += [f"  - {_prose(value.name)}: {_code(value.value) if value.exact else _prose(value.value)}"
                      for value in step.values]
            if step.where:
                lines.append(f"  - where: {_prose(step.where)}")
            if step.verify:
                lines.append(f"  - check: {_prose(step.verify)}")
            if step.why:
                lines.append(f"  - why: {_prose(step.why)}")
    return "\n".join(lines) + "\n"


def as_records(steps: Sequence[Step]) -> list[dict[str, Any]]:
    return [
        {
            "id": step.id,
            "phase": str(step.phase),
            "phase_title": PHASE_TITLES[step.phase],
            "scope": {"kind": step.scope.kind, "name": step.scope.name},
            "environment": step.environment,
            "title": step.title,
            "values": [{"name": v.name, "value": v.value, "exact": v.exact} for v in step.values],
            "where": step.where,
            "verify": step.verify,
            "why": step.why,
        }
        for step in steps
    ]


def as_json(steps: Sequence[Step], organization: str, stacks: Sequence[str]) -> str:
    return json.dumps({"organization": organization, "stacks": list(stacks), "steps": as_records(steps)}, indent=2)
