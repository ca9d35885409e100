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

import hvac
import hvac.exceptions
import pytest
from ruamel.yaml import YAML

from secure_pipelines import build_plan, load_declaration, parse_declaration
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.render.files import render_files
from secure_pipelines.render.output import write_output
from secure_pipelines.render.templating import RenderSource

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE_DECLARATION = EXAMPLE_PROJECT / "stacks" / "declaration.yaml"
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
    return build_plan(load_declaration(EXAMPLE_DECLARATION))


@pytest.fixture(scope="session")
def example_files(example_plan: Plan) -> dict[str, str]:
    return render_files(example_plan, EXAMPLE_SOURCE)


@pytest.fixture(scope="session")
def example_values() -> dict[str, Any]:
    """The example declaration as plain data, to derive variants from."""
    return YAML(typ="safe", pure=True).load(EXAMPLE_DECLARATION.read_text())


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


@pytest.fixture(scope="session")
def render_openbao(openbao: OpenBaoServer) -> DevVault:
    """The session's OpenBao (``openbao`` in ``tests/conftest.py``), as the command-line tools reach it.

    Shared with every other test: deploy scripts run against ``scripts_plan``, whose secret mounts are
    their own, so no other test's secrets are read or overwritten (a rehearsal on the same server
    would refuse paths holding data it did not write).
    """
    return DevVault(addr=openbao.api_addr, token=openbao.root_token)


def own_secret_mounts(values: dict[str, Any]) -> None:
    for environment in values["environments"]:
        environment["secrets"] = {"mount": f"kv-{environment['name']}-scripts"}


@pytest.fixture(scope="session")
def scripts_plan(plan_variant: PlanVariant) -> Plan:
    """The example's plan with secret mounts of its own (``kv-<environment>-scripts``), for running the
    rendered deploy scripts against the session's OpenBao."""
    return plan_variant(own_secret_mounts)


@pytest.fixture(scope="session")
def scripts_files(scripts_plan: Plan) -> dict[str, str]:
    return render_files(scripts_plan, EXAMPLE_SOURCE)


def enable(client: hvac.Client, kind: str, path: str, **options: Any) -> None:
    """Enable ``kind`` (``jwt`` or a secrets engine) at ``path`` unless an earlier test of the session did.
    The JWT mounts' paths are fixed by their CI systems; each module reconfigures them with its own key."""
    listed = client.sys.list_auth_methods() if kind == "jwt" else client.sys.list_mounted_secrets_engines()
    if f"{path}/" in (listed.get("data") or listed):
        return
    if kind == "jwt":
        client.sys.enable_auth_method("jwt", path=path)
    else:
        client.sys.enable_secrets_engine(kind, path=path, **options)


def seed_secrets_and_policies(client: hvac.Client, plan: Plan) -> None:
    """Each environment's KV v2 mount with every path holding ``{"owner": "<mount>/<path>"}``, and the
    plan's policies: what a deploy script reads, and what it may read."""
    for env in plan.environments:
        enable(client, "kv", env.secret_store.mount, options={"version": "2"})
        for path in env.secret_store.paths:
            client.secrets.kv.v2.create_or_update_secret(
                path=path.path, mount_point=path.mount, secret={"owner": f"{path.mount}/{path.path}"})
        for policy in env.policies:
            client.sys.create_or_update_policy(policy.name, policy.hcl)


def record_deployed(client: hvac.Client, plan: Plan, image_ref: str) -> None:
    """Record ``image_ref`` as deployed to every environment others promote from, for every repository
    (what a deploy there leaves behind), so deploys that promote from it may ship it."""
    digest = image_ref.rsplit("@sha256:", 1)[1]
    for records in {r.records for r in plan.roles if r.records is not None}:
        client.secrets.kv.v2.create_or_update_secret(path=f"{records.prefix}/{digest}", mount_point=records.mount,
                                                     secret={"image": image_ref})


def live_tokens(vault: DevVault, role_name: str, since: float) -> list[dict[str, Any]]:
    """Tokens the role named ``role_name`` issued since ``since`` that Vault still honours (looked up by
    accessor as root: a deploy step never shows its token, so tests find it this way)."""
    client = hvac.Client(url=vault.addr, token=vault.token)
    alive = []
    for accessor in client.list("auth/token/accessors")["data"]["keys"]:
        try:
            token = client.write("auth/token/lookup-accessor", accessor=accessor)["data"]
        except hvac.exceptions.InvalidRequest:
            continue  # revoked between the listing and the lookup
        if (token.get("meta") or {}).get("role") == role_name and token["creation_time"] >= int(since):
            alive.append(token)
    return alive


def revoke_all(vault: DevVault, tokens: list[dict[str, Any]]) -> None:
    client = hvac.Client(url=vault.addr, token=vault.token)
    for token in tokens:
        client.write("auth/token/revoke-accessor", accessor=token["accessor"])
