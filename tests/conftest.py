"""Fixtures every test folder may use: a real OpenBao dev server for the whole session, a user's own
Pulumi project in a temporary directory, and the CLI run in this process."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from secure_pipelines.cli import app
from secure_pipelines.progress import reporting_to
from secure_pipelines.rehearse.server import OpenBaoServer, dev_server
from secure_pipelines.rehearse.vault_client import VaultSession
from secure_pipelines.stack import CapturedResource, capture_program, main


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    """A real OpenBao dev server on 127.0.0.1 (in memory), stopped when the session ends.

    ``api_addr`` takes the root token; ``forwarded_addr`` trusts X-Forwarded-For from 127.0.0.1, so
    a test can present any client address. Tests share it: mount at unique paths.
    """
    with dev_server() as server:
        yield server


@pytest.fixture(scope="session")
def openbao_root(openbao: OpenBaoServer) -> VaultSession:
    """A client of the session's OpenBao holding the root token."""
    return VaultSession(openbao.api_addr, openbao.root_token)


# --- a user's own Pulumi project, in a temporary directory (not this repository) -------------------------

USER_DECLARATION: dict[str, Any] = {
    "version": 2,
    "organization": {"name": "globex", "github": {"owner": "globex", "owner_id": 81000001, "plan": "enterprise"}},
    "ci": {"circleci": {"org_id": "7b2e5d3f-1c9e-4d64-8b8f-2e3c4d5e6f70"}, "github_actions": {}},
    "admins": {
        "auth": {"oidc_discovery_url": "https://login.globex.example/", "bound_audiences": ["vault"]},
        "groups": {"staging": "vault-staging-admins-globex", "production": "vault-production-admins-globex"},
        "ip_allowlist": ["192.0.2.128/28"],
        "members": [{"name": "hank", "email": "hank@globex.example"}],
    },
    "repositories": [
        {"name": "shop", "github_id": 810000011, "required_status_checks": ["test", "security-scan"],
         "ci": {"circleci": {"project_id": "8c3f6e40-2daf-4e75-9c90-3f4d5e6f7081",
                             "pipeline_definition_id": "9d4a7f51-3eb0-4f86-8da1-405e6f708192"}}},
        {"name": "billing", "github_id": 810000012, "required_status_checks": ["test", "security-scan"],
         "ci": {"github_actions": {}}},
    ],
    "environments": [
        {"name": "staging", "tier": "staging", "repositories": ["shop", "billing"],
         "ip_allowlist": ["198.51.100.0/24"],
         "ci": {"circleci": {"context": {"name": "globex-staging", "id": "ae5b8062-4fc1-4a97-9eb2-516f708192a3",
                                         "security_group": "staging-deployers"},
                             "runner_resource_class": "globex/staging-deployers"}}},
        {"name": "production", "tier": "production", "repositories": ["shop", "billing"],
         "ip_allowlist": ["203.0.113.0/28"], "token_ttl": 300, "token_max_ttl": 600,
         "reviewers": {"teams": [8100001]},
         "ci": {"circleci": {"context": {"name": "globex-production", "id": "bf6c9173-5ad2-4ba8-8fc3-62708192a3b4",
                                         "security_group": "production-approvers"},
                             "runner_resource_class": "globex/prod-deployers", "approval_hold": True}}},
    ],
    "pipeline_policy": {"approved_registries": ["cimg/", "ghcr.io/globex/"],
                        "required_security_jobs": ["security-scan"]},
}
"""A small organisation of the user's own: one repository on each CI system, staging and production."""


@dataclass
class UserProject:
    """A user's Pulumi project: ``Pulumi.yaml`` with ``stackConfigDir: config``, a declaration under
    ``stacks/``, and stack files under ``config/``."""

    root: Path

    def declaration(self) -> dict[str, Any]:
        """A fresh copy of the user's declaration, to change and write back."""
        return copy.deepcopy(USER_DECLARATION)

    def write_declaration(self, values: dict[str, Any], relative: str = "stacks/declaration.yaml") -> Path:
        return self.write_yaml(relative, values)

    def write_stack(self, stack: str, config: dict[str, Any]) -> Path:
        return self.write_yaml(f"config/Pulumi.{stack}.yaml", {"config": config})

    def write_yaml(self, relative: str, values: Any) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        with path.open("w", encoding="utf-8") as handle:
            yaml.dump(values, handle)
        return path


@pytest.fixture
def user_project(tmp_path: Path) -> UserProject:
    """A user's own project in a temporary directory, with its declaration and one stack file each."""
    project = UserProject(tmp_path / "infra")
    (project.root / "config").mkdir(parents=True)
    (project.root / "Pulumi.yaml").write_text(
        "name: globex-infra\nruntime: python\nstackConfigDir: config\n", encoding="utf-8")
    project.write_declaration(project.declaration())
    for stack in ("staging", "production"):
        project.write_stack(stack, {"vault:address": "https://vault.globex.example:8200"})
    return project


@dataclass(frozen=True)
class Ran:
    """One run of the real CLI: its exit status and what it wrote to stdout and stderr."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def securepipe(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """Run ``securepipe <args>`` in this process (typer's runner) from ``cwd``, with extra ``env``."""
    runner = CliRunner()

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            result = runner.invoke(app, list(args), terminal_width=200)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


@dataclass(frozen=True)
class PulumiUp:
    """What ``pulumi up`` would register, or the error it would print (a ``RunError``, no traceback)."""

    resources: tuple[CapturedResource, ...]
    error: pulumi.RunError | None


@pytest.fixture
def pulumi_up() -> Callable[..., PulumiUp]:
    """The stack program of ``project_dir`` as ``pulumi up -s <stack>`` runs it, under Pulumi's mocks,
    given ``config`` as the Pulumi CLI passes it (strings; objects as JSON)."""

    def run(project_dir: Path, stack: str, config: dict[str, str] | None = None,
            secret_keys: tuple[str, ...] = ()) -> PulumiUp:
        raised: list[pulumi.RunError] = []

        def program() -> None:
            try:
                main(project_dir)
            except pulumi.RunError as error:
                raised.append(error)

        given = {"secure-pipelines:adminOidcClientId": "vault-admins", "secure-pipelines:githubAppId": "1200001",
                 "secure-pipelines:githubAppInstallationId": "1300001",
                 "secure-pipelines:githubAppPrivateKey": "set with pulumi config set --secret", **(config or {})}
        secrets = list(dict.fromkeys([*secret_keys, "secure-pipelines:githubAppPrivateKey"]))
        captured = capture_program(program, stack, given, secrets)
        return PulumiUp(captured.resources, raised[0] if raised else None)

    return run


class ProgressRecorder:
    """A progress listener that keeps every phase (description, total) and the steps done in each."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.steps: dict[str, int] = {}

    def phase(self, description: str, total: int | None = None) -> None:
        self.phases.append((description, total))

    def advance(self, count: int = 1) -> None:
        current = self.phases[-1][0]
        self.steps[current] = self.steps.get(current, 0) + count


@pytest.fixture
def progress_recorder() -> Iterator[ProgressRecorder]:
    """What the work done during the test reports as its progress."""
    recorder = ProgressRecorder()
    with reporting_to(recorder):
        yield recorder
