"""Nothing the project ships, prints or renders points at documents users do not have (the team's
internal design notes): users get the README and what the tools say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secure_pipelines import build_plan, load_declaration
from secure_pipelines.render.files import render_files
from secure_pipelines.render.templating import RenderSource

ROOT = Path(__file__).resolve().parents[2]
INTERNAL = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared|/work/shared|design card", re.IGNORECASE)


@pytest.mark.parametrize("text", ["see DESIGN.md", "STYLE.md says", "../shared/notes", "the design card"])
def test_the_scan_catches_each_form(text: str) -> None:
    assert INTERNAL.search(text)


def test_no_shipped_file_refers_to_internal_documents() -> None:
    shipped = [p for p in (ROOT / "secure_pipelines").rglob("*") if p.is_file() and p.suffix in (".py", ".j2")]
    shipped += [ROOT / "README.md", ROOT / "Pulumi.yaml", *sorted((ROOT / "stacks").glob("*.yaml"))]
    assert len(shipped) > 50, "too few files found: this test would prove nothing"
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in shipped
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if INTERNAL.search(line)]
    assert hits == []


def test_no_rendered_file_refers_to_internal_documents() -> None:
    plan = build_plan(load_declaration(ROOT / "stacks" / "declaration.yaml"))
    files = render_files(plan, RenderSource("stacks/declaration.yaml", "securepipe render --all"))
    assert files
    assert [path for path, text in files.items() if INTERNAL.search(text)] == []
