"""Fixtures for the rendered files: the example's plan and files, variants, real tools, an OpenBao."""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines import build_plan, load_declaration, parse_declaration
from secure_pipelines.loader import DEFAULT_DECLARATION
from secure_pipelines.plan import Plan
from secure_pipelines.render import RenderSource, render_files

EXAMPLE_SOURCE = RenderSource(declaration="stacks/declaration.yaml", command="securepipe render --all")


def tool(name: str) -> str:
    """A command-line tool installed next to this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found, f"{name} is not installed next to {sys.executable} nor on PATH"
    return found


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    return build_plan(load_declaration(DEFAULT_DECLARATION))


@pytest.fixture(scope="session")
def example_files(example_plan: Plan) -> dict[str, str]:
    return render_files(example_plan, EXAMPLE_SOURCE)


@pytest.fixture(scope="session")
def example_values() -> dict[str, Any]:
    """The example declaration as plain data, to derive variants from."""
    return YAML(typ="safe", pure=True).load(DEFAULT_DECLARATION.read_text())


@pytest.fixture(scope="session")
def plan_variant(example_values: dict[str, Any]) -> Callable[[Callable[[dict[str, Any]], None]], Plan]:
    """The example's plan after ``change`` edits a copy of its declaration."""

    def build(change: Callable[[dict[str, Any]], None]) -> Plan:
        values = copy.deepcopy(example_values)
        change(values)
        return build_plan(parse_declaration(values))

    return build


@pytest.fixture(scope="session")
def rendered_dir(example_files: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's files written to disk, for the command-line validators."""
    from secure_pipelines.render import write_files

    out = tmp_path_factory.mktemp("rendered")
    write_files(example_files, out)
    return out


@dataclass(frozen=True)
class DevVault:
    addr: str
    token: str

    def env(self, home: Path) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(home),
            "BAO_ADDR": self.addr, "BAO_TOKEN": self.token,
            "VAULT_ADDR": self.addr, "VAULT_TOKEN": self.token,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def render_openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """A real OpenBao dev server (in memory) on a free local port; stopped after the module."""
    home = tmp_path_factory.mktemp("bao-home")
    port = _free_port()
    vault = DevVault(addr=f"http://127.0.0.1:{port}", token="render-tests-root")
    log_path = home / "bao.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [tool("bao"), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
         f"-dev-root-token-id={vault.token}"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(home)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{vault.addr}/v1/sys/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"OpenBao dev server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield vault
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
