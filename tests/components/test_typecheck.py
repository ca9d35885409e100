"""The package, and the component package host in components/, type-check against the pulumi_vault and
pulumi_github SDK types (pyright, strict enough)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyright_reports_no_error_in_the_package_or_its_component_host():
    # Run through this interpreter and check against its packages: CI does not activate the virtualenv,
    # so neither pyright nor the provider SDKs are on PATH's Python.
    command = [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "secure_pipelines", "components"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
