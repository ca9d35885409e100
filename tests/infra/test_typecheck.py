"""The package type-checks against the pulumi_vault and pulumi_github SDK types (pyright, strict enough)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyright_reports_no_error_in_the_package():
    # Run through this interpreter: CI does not activate the virtualenv, so PATH may lack pyright.
    result = subprocess.run([sys.executable, "-m", "pyright", "secure_pipelines"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
