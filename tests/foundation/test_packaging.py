"""The package installs what the program needs, with the same ranges requirements.txt pins."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _requirement_lines() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))}


def test_every_runtime_dependency_is_pinned_the_same_in_requirements_txt() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(project["dependencies"]) <= _requirement_lines()


def test_every_requirement_has_a_compatible_range() -> None:
    for line in _requirement_lines():
        assert ">=" in line, f"{line}: pin a compatible range (>=x,<y)"


def test_the_console_script_is_securepipe() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"securepipe": "secure_pipelines.cli:main"}
