"""``securepipe validate`` as an admin runs it: ok and a summary, or every problem and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

SECUREPIPE = [sys.executable, "-m", "secure_pipelines"]
EXAMPLE_PROJECT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``securepipe <args>`` in its own process, from the example project's directory."""
    return subprocess.run([*SECUREPIPE, *args], capture_output=True, text=True, timeout=120, check=False,
                          cwd=EXAMPLE_PROJECT)


@pytest.fixture(scope="module")
def validated() -> subprocess.CompletedProcess[str]:
    """``securepipe validate`` of the example project, run once for the tests that read it."""
    return run("validate")


def test_validate_accepts_the_example(validated: subprocess.CompletedProcess[str]) -> None:
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.startswith("ok: 4 repositories, 4 environments")


def test_validate_shows_warnings_on_stderr(validated: subprocess.CompletedProcess[str]) -> None:
    assert "warning: environments[dev].ip_allowlist" in validated.stderr


def test_validate_refuses_with_every_problem_and_no_traceback(example: dict[str, Any], tmp_path: Path) -> None:
    next(e for e in example["environments"] if e["name"] == "production")["ip_allowlist"] = ["0.0.0.0/0"]
    example["repositories"][0]["required_aprovals"] = 1
    path = tmp_path / "bad.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(example, handle)
    result = run("validate", "--declaration", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "repositories[webapp].required_aprovals: is not a known key" in result.stderr
    # The unknown key leaves the rest sound, so the cross-field rules run too: both are reported at once.
    assert "environments[production].ip_allowlist: 0.0.0.0/0: admits every address" in result.stderr
    assert "InvalidDeclaration: 2 problem(s)" in result.stderr


def test_validate_names_a_missing_file(tmp_path: Path) -> None:
    result = run("validate", "-d", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "no such declaration file" in result.stderr
    assert "Traceback" not in result.stderr
