"""The package type-checks against the pulumi_vault and pulumi_github SDK types (pyright, strict enough)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyright_reports_no_error_in_the_package():
    pyright = shutil.which("pyright")
    assert pyright, "pyright is a test dependency (requirements.txt); install it"
    result = subprocess.run([pyright, "secure_pipelines"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
