"""The built wheel carries everything the package reads: every template and the type marker."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "secure_pipelines"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per session the way pip builds it, from a copy of the sources
    (pip builds in the source tree, and a stale ``build/`` there could carry files the tree lost)."""
    source = tmp_path_factory.mktemp("source") / "secure-pipelines"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "rendered"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
         str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("secure_pipelines-*.whl")
    return built


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_template_of_the_source_tree_is_in_the_wheel(wheel: Path) -> None:
    templates = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.j2")}
    assert templates, "no template found in the package: this test would prove nothing"
    assert templates <= _wheel_names(wheel), sorted(templates - _wheel_names(wheel))


def test_the_wheel_carries_the_type_marker_and_every_module(wheel: Path) -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")} | {"secure_pipelines/py.typed"}
    assert modules <= _wheel_names(wheel), sorted(modules - _wheel_names(wheel))


def test_no_template_is_left_outside_the_package() -> None:
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.j2"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked, "git lists no template: this test would prove nothing"
    assert [name for name in tracked if not name.startswith("secure_pipelines/")] == []
