"""Fixtures for the rehearsal tests: the example's plan and captured Vault resources, fresh mounts."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secure_pipelines.declaration import Declaration
from secure_pipelines.declaration.loader import load_declaration
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.plan.model import CIRole, Plan
from secure_pipelines.rehearse import Rehearsal, VaultTarget, rehearse_views
from secure_pipelines.rehearse.apply import VaultResource
from secure_pipelines.rehearse.keys import IssuerKey, generate_issuer_keys
from secure_pipelines.rehearse.stack_resources import captured_vault_resources
from secure_pipelines.rehearse.vault_client import Answer, VaultSession
from secure_pipelines.views import Request, Views, open_views

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2]
"""This repository: a Pulumi project whose stacks are the worked example's."""


@pytest.fixture(scope="session")
def example_project() -> Path:
    return EXAMPLE_PROJECT


@pytest.fixture(scope="session")
def example_declaration() -> Declaration:
    return load_declaration(EXAMPLE_PROJECT / "stacks" / "declaration.yaml")


@pytest.fixture(scope="session")
def example_plan(example_declaration: Declaration) -> Plan:
    return build_plan(example_declaration)


@pytest.fixture(scope="session")
def example_views() -> Views:
    """Every example stack, as `securepipe rehearse --all` opens them from the project directory."""
    return open_views(Request(organization=True), cwd=EXAMPLE_PROJECT)


@pytest.fixture(scope="session")
def example_resources(example_views: Views) -> list[VaultResource]:
    """The Vault resources every example stack registers (captured under Pulumi's mocks)."""
    return captured_vault_resources(example_views)


RehearseExample = Callable[..., tuple[Plan, Rehearsal]]


@pytest.fixture(scope="session")
def rehearse_example() -> RehearseExample:
    """Rehearse the example project (or ``declaration``) as `securepipe rehearse` does, from ``cwd``."""

    def run(stack: str | None = None, declaration: Path | None = None, target: VaultTarget | None = None,
            cwd: Path = EXAMPLE_PROJECT) -> tuple[Plan, Rehearsal]:
        request = Request(declaration, None if stack is None else (stack,), organization=True)
        views = open_views(request, cwd=cwd)
        return views.first.plan, rehearse_views(views, target)

    return run


@pytest.fixture(scope="session")
def issuer_keys(example_plan: Plan) -> dict[str, IssuerKey]:
    return generate_issuer_keys(m.issuer for m in example_plan.jwt_mounts)


@pytest.fixture
def fresh_jwt_mount(openbao_root: VaultSession, issuer_keys: dict[str, IssuerKey]) -> Callable[[str], str]:
    """Enable a JWT mount at a unique path trusting ``issuer``'s local key; returns the path."""

    def make(issuer: str) -> str:
        path = f"jwt-test-{secrets.token_hex(4)}"
        assert openbao_root.write(f"sys/auth/{path}", {"type": "jwt"}).ok
        answer = openbao_root.write(f"auth/{path}/config", {
            "bound_issuer": issuer, "jwt_validation_pubkeys": [issuer_keys[issuer].public_pem],
        })
        assert answer.ok, answer.reason
        return path

    return make


class CountingSession(VaultSession):
    """The root session, counting the paths it asks Vault's capability check about."""

    asked: list[str]

    def write(self, path: str, body: dict[str, Any]) -> Answer:
        if path == "sys/capabilities":
            self.asked.extend(body["paths"])
        return super().write(path, body)


@pytest.fixture
def counting_root(openbao_root: VaultSession) -> CountingSession:
    """The root token's session, recording in ``asked`` every path a capability check asks about."""
    root = CountingSession(openbao_root.addr, openbao_root.token)
    root.asked = []
    return root


RoleLogin = Callable[[CIRole, set[str], str], Answer]
"""Write a plan's role (less the bindings named) into a fresh mount, and log in to it with a token."""
RoleBody = Callable[[CIRole, set[str]], dict[str, Any]]


@pytest.fixture
def login_on(openbao_root: VaultSession, fresh_jwt_mount: Callable[[str], str], example_plan: Plan
             ) -> Callable[[str, RoleBody], RoleLogin]:
    """A :data:`RoleLogin` on a fresh mount trusting ``ci``'s issuer, writing roles as ``body`` says."""

    def on(ci: str, body: RoleBody) -> RoleLogin:
        mount = fresh_jwt_mount(example_plan.mount(ci).issuer)

        def login(role: CIRole, without: set[str], token: str) -> Answer:
            name = f"{role.role_name}-{len(without)}"
            written = openbao_root.write(f"auth/{mount}/role/{name}", body(role, without))
            assert written.ok, written.reason
            return VaultSession(openbao_root.addr).write(f"auth/{mount}/login", {"role": name, "jwt": token})

        return login

    return on
