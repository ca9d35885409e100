"""Fixtures for the rendered files: the example's plan and files, variants, real tools, an OpenBao."""

from __future__ import annotations

import copy
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import pytest
from ruamel.yaml import YAML

from secure_pipelines import build_plan, load_declaration, parse_declaration
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse.server import dev_server
from secure_pipelines.render.files import render_files
from secure_pipelines.render.output import write_output
from secure_pipelines.render.templating import RenderSource

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_DECLARATION = EXAMPLE_PROJECT / "stacks" / "declaration.yaml"
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
    return build_plan(load_declaration(EXAMPLE_DECLARATION))


@pytest.fixture(scope="session")
def example_files(example_plan: Plan) -> dict[str, str]:
    return render_files(example_plan, EXAMPLE_SOURCE)


@pytest.fixture(scope="session")
def example_values() -> dict[str, Any]:
    """The example declaration as plain data, to derive variants from."""
    return YAML(typ="safe", pure=True).load(EXAMPLE_DECLARATION.read_text())


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
    out = tmp_path_factory.mktemp("rendered")
    write_output(example_files, out, lambda _path: True, "stacks/declaration.yaml")
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


def seed_secrets_and_policies(client: hvac.Client, plan: Plan) -> None:
    """Each environment's KV v2 mount with every path holding ``{"owner": "<mount>/<path>"}``, and the
    plan's policies: what a deploy script reads, and what it may read."""
    for env in plan.environments:
        client.sys.enable_secrets_engine("kv", path=env.secret_store.mount, options={"version": "2"})
        for path in env.secret_store.paths:
            client.secrets.kv.v2.create_or_update_secret(
                path=path.path, mount_point=path.mount, secret={"owner": f"{path.mount}/{path.path}"})
        for policy in env.policies:
            client.sys.create_or_update_policy(policy.name, policy.hcl)


@pytest.fixture(scope="module")
def render_openbao() -> Iterator[DevVault]:
    """A real OpenBao dev server (in memory) of this module's own; stopped after the module."""
    with dev_server() as server:
        yield DevVault(addr=server.api_addr, token=server.root_token)
