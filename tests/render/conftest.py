"""Fixtures for the rendered files: the example's plan and files, variants, real tools, an OpenBao."""

from __future__ import annotations

import copy
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines import build_plan, load_declaration, parse_declaration
from secure_pipelines.example_project import DEFAULT_DECLARATION
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.render.files import render_files
from secure_pipelines.render.templating import RenderSource

EXAMPLE_SOURCE = RenderSource(declaration="stacks/declaration.yaml", command="securepipe render --all")
PlanVariant = Callable[[Callable[[dict[str, Any]], None]], Plan]
"""``plan_variant``: the example's plan after a change to a copy of its declaration."""


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
def plan_variant(example_values: dict[str, Any]) -> PlanVariant:
    """The example's plan after ``change`` edits a copy of its declaration."""

    def build(change: Callable[[dict[str, Any]], None]) -> Plan:
        values = copy.deepcopy(example_values)
        change(values)
        return build_plan(parse_declaration(values))

    return build


@pytest.fixture(scope="session")
def rendered_dir(example_files: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's files written to disk, for the command-line validators."""
    from secure_pipelines.render.files import write_files

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


@pytest.fixture(scope="session")
def render_openbao(openbao: OpenBaoServer) -> DevVault:
    """The session's OpenBao (``openbao`` in ``tests/conftest.py``), as the command-line tools reach it.

    Shared with every other test: write under names of your own (see ``test_deploy_scripts``).
    """
    return DevVault(addr=openbao.api_addr, token=openbao.root_token)
