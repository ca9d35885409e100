"""The rendered CircleCI deploy steps, run by bash against a real OpenBao set up from the plan.

The Vault side here is the plan's own roles, policies and paths, with a locally generated signing key
in place of CircleCI's discovery URL. Staging and production roles are bound to 127.0.0.1/32
instead of the runners' ranges: what is under test is the rendered script (role choice, login, paths, digest),
not the CIDR binding, which the rehearsal proves.

The OpenBao is the session's, shared with other tests: the plan here is the example's with secret mounts
of its own (``kv-<environment>-scripts``), so no other test's secrets are read or overwritten here. The
JWT mounts' paths are fixed by their CI systems; this module (re)configures them with its own key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from secure_pipelines.ci.circleci.claims import CONTEXT_IDS, SSH_RERUN
from secure_pipelines.ci.circleci.policy.cases import parse_config
from secure_pipelines.components.ci_roles import _vault_role_body
from secure_pipelines.plan import CIRole, Plan

from .conftest import DevVault, enable, seed_secrets_and_policies

DIGEST_REF = "ghcr.io/acme/webapp@sha256:" + "ab" * 32
FAKE_MAKE = """#!/usr/bin/env bash
set -euo pipefail
{
  echo "target=$1"
  echo "environment=$DEPLOY_ENVIRONMENT"
  echo "image=$IMAGE_REF"
  for f in "$SECRETS_DIR"/*.json; do echo "secret $(basename "$f")=$(jq -c . "$f")"; done
} > "$MAKE_RECORD"
{
  echo "dir=$SECRETS_DIR"
  echo "dir mode=$(stat -c %a "$SECRETS_DIR")"
  for f in "$SECRETS_DIR"/*.json; do echo "mode $(basename "$f")=$(stat -c %a "$f")"; done
  echo "token in make's environment=${VAULT_TOKEN:-none}"
} > "$MAKE_RECORD.private"
if [ -n "${MAKE_SLEEP:-}" ]; then touch "$MAKE_RECORD.started"; sleep "$MAKE_SLEEP"; fi
exit "${MAKE_EXIT:-0}"
"""


@dataclass(frozen=True)
class Harness:
    plan: Plan
    vault: DevVault
    key: RSAKey
    config: dict[str, Any]
    workflow: dict[str, Any]
    workspace: Path
    bin_dir: Path


def _role_body(role: CIRole) -> dict[str, Any]:
    """The role as the stack writes it (no default policy, every binding), bound to this machine."""
    local = role.token_bound_cidrs != ("0.0.0.0/0", "::/0")
    return {**_vault_role_body(role), "token_bound_cidrs": ["127.0.0.1/32"] if local else list(role.token_bound_cidrs)}


@pytest.fixture(scope="module")
def harness(render_openbao: DevVault, scripts_plan: Plan, scripts_files: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    plan, files = scripts_plan, scripts_files
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    key = RSAKey.generate_key(2048)
    for mount in plan.jwt_mounts:
        enable(client, "jwt", mount.path)
        client.write(f"auth/{mount.path}/config", jwt_validation_pubkeys=[key.as_pem(private=False).decode()],
                     bound_issuer=mount.issuer)
    seed_secrets_and_policies(client, plan)
    for role in plan.roles:
        client.adapter.post(f"/v1/auth/{role.mount_path}/role/{role.role_name}", json=_role_body(role))
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "image").mkdir()
    (workspace / "image" / "ref").write_text(DIGEST_REF + "\n")
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    yield Harness(plan, render_openbao, key, parse_config(files["repositories/webapp/.circleci/config.yml"]),
                  parse_config(files["repositories/api/.github/workflows/deploy.yml"]), workspace, bin_dir)


def circleci_token(harness: Harness, plan: Plan, role: CIRole, *, user: str, ssh_rerun: bool = False,
                   branch: str = "main") -> str:
    claims = {c.claim: c.values[0] for c in role.bound_claims if c.claim != "sub"}
    org = role.bound_audiences[0]
    project = claims["oidc.circleci.com/project-id"]
    origin = claims["oidc.circleci.com/vcs-origin"]
    now = int(time.time())
    claims.update({
        "iss": plan.mount("circleci").issuer,
        "aud": org,
        "sub": f"org/{org}/project/{project}/user/{user}/vcs-origin/{origin}/vcs-ref/refs/heads/{branch}",
        "iat": now, "nbf": now - 5, "exp": now + 600,
        "oidc.circleci.com/vcs-ref": f"refs/heads/{branch}",
        CONTEXT_IDS: [claims[CONTEXT_IDS]],
        SSH_RERUN: ssh_rerun,
    })
    return jwt.encode({"alg": "RS256"}, claims, harness.key)


def step_env(harness: Harness, record: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{harness.bin_dir}:{os.environ['PATH']}",
        "VAULT_ADDR": harness.vault.addr,
        "MAKE_RECORD": str(record),
        **extra,
    }


def read_record(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()) if path.exists() else {}


def circleci_command(harness: Harness, job: str) -> str:
    command = harness.config["jobs"][job]["steps"][-1]["run"]["command"]
    return command.replace("/tmp/workspace", str(harness.workspace))


def run_deploy_step(harness: Harness, job: str, token: str, tmp_path: Path, **extra: str
                    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    record = tmp_path / "make-record"
    env = step_env(harness, record, CIRCLE_OIDC_TOKEN_V2=token, **extra)
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", circleci_command(harness, job)], env=env,
                            capture_output=True, text=True, timeout=60)
    return result, read_record(record)


def live_tokens(harness: Harness, role: CIRole, since: float) -> list[dict[str, Any]]:
    """Tokens ``role`` issued since ``since`` that Vault still honours (looked up by accessor as root)."""
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    alive = []
    for accessor in client.list("auth/token/accessors")["data"]["keys"]:
        try:
            token = client.write("auth/token/lookup-accessor", accessor=accessor)["data"]
        except hvac.exceptions.InvalidRequest:
            continue  # revoked between the listing and the lookup
        if (token.get("meta") or {}).get("role") == role.role_name and token["creation_time"] >= int(since):
            alive.append(token)
    return alive


def developer_id(values: dict[str, Any], name: str) -> str:
    return next(d["ci"]["circleci"]["user_id"] for d in values["developers"] if d["name"] == name)


@pytest.mark.parametrize("developer", ["lin", "sam"])
def test_dev_deploy_logs_in_as_the_pushing_developer_and_reads_only_their_secrets(
    harness: Harness, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    role = next(r for r in harness.plan.environment("dev").roles
                if r.ci == "circleci" and r.developer == developer)
    token = circleci_token(harness, harness.plan, role, user=developer_id(example_values, developer),
                           branch="feature/x")
    result, recorded = run_deploy_step(harness, "deploy-dev", token, tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded["environment"] == "dev" and recorded["image"] == DIGEST_REF
    secrets = {k: v for k, v in recorded.items() if k.startswith("secret ")}
    assert secrets == {"secret webapp.json": f'{{"owner":"kv-dev-scripts/apps/{developer}/webapp"}}'}


def test_dev_deploy_refuses_a_user_who_is_not_a_declared_developer(
    harness: Harness, tmp_path: Path
) -> None:
    role = next(r for r in harness.plan.environment("dev").roles if r.ci == "circleci")
    token = circleci_token(harness, harness.plan, role, user="99999999-0000-4000-8000-000000000000")
    result, recorded = run_deploy_step(harness, "deploy-dev", token, tmp_path)
    assert result.returncode != 0
    assert "No dev role for" in result.stderr and "environments[dev].developers" in result.stderr
    assert not recorded


def test_production_deploy_reads_production_secrets_and_ships_the_digest(
    harness: Harness, tmp_path: Path
) -> None:
    (role,) = [r for r in harness.plan.environment("production").roles if r.ci == "circleci"]
    token = circleci_token(harness, harness.plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152")
    result, recorded = run_deploy_step(harness, "deploy-production", token, tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded == {
        "target": "deploy", "environment": "production", "image": DIGEST_REF,
        "secret webapp.json": '{"owner":"kv-production-scripts/apps/webapp"}',
    }


def test_production_deploy_in_an_ssh_rerun_gets_no_secret(
    harness: Harness, tmp_path: Path
) -> None:
    (role,) = [r for r in harness.plan.environment("production").roles if r.ci == "circleci"]
    token = circleci_token(harness, harness.plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152",
                           ssh_rerun=True)
    result, recorded = run_deploy_step(harness, "deploy-production", token, tmp_path)
    assert result.returncode != 0
    assert "/v1/auth/circleci/login" in result.stderr or "returned error" in result.stderr, result.stderr
    assert not recorded


def test_a_deploy_refuses_an_image_that_is_not_pinned_by_digest(
    harness: Harness, tmp_path: Path
) -> None:
    (role,) = [r for r in harness.plan.environment("staging").roles if r.ci == "circleci"]
    token = circleci_token(harness, harness.plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152")
    ref = harness.workspace / "image" / "ref"
    ref.write_text("ghcr.io/acme/webapp:latest\n")
    try:
        result, recorded = run_deploy_step(harness, "deploy-staging", token, tmp_path)
    finally:
        ref.write_text(DIGEST_REF + "\n")
    assert result.returncode != 0
    assert not recorded


# --- No secret left on the runner, no token outliving the job (CircleCI) ---------------------------

PUSHER = "3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152"


def production_role(harness: Harness) -> CIRole:
    (role,) = [r for r in harness.plan.environment("production").roles if r.ci == "circleci"]
    return role


def production_token(harness: Harness) -> str:
    return circleci_token(harness, harness.plan, production_role(harness), user=PUSHER)


@contextmanager
def without_revoke_self(harness: Harness, role: CIRole) -> Iterator[None]:
    """The role's policy as it was before tokens could end themselves: its reads, and nothing else."""
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    (name,) = role.token_policies
    planned = next(p.hcl for e in harness.plan.environments for p in e.policies if p.name == name)
    reads_only = "".join(f'path "{p.data_path}" {{\n  capabilities = ["read"]\n}}\n' for p in role.secret_paths)
    client.sys.create_or_update_policy(name, reads_only)
    try:
        yield
    finally:
        client.sys.create_or_update_policy(name, planned)


def revoke_all(harness: Harness, tokens: list[dict[str, Any]]) -> None:
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    for token in tokens:
        client.write("auth/token/revoke-accessor", accessor=token["accessor"])


def test_a_deploy_reads_its_secrets_into_a_private_directory_and_hides_the_token_from_make(
    harness: Harness, tmp_path: Path
) -> None:
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    assert result.returncode == 0, result.stderr
    private = read_record(tmp_path / "make-record.private")
    assert private["dir mode"] == "700" and private["mode webapp.json"] == "600"
    assert private["token in make's environment"] == "none"
    assert recorded["secret webapp.json"]


def test_after_a_deploy_no_secret_file_remains_and_the_token_is_revoked(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded["secret webapp.json"], "no secret was read: the token checked below was never issued"
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()
    assert live_tokens(harness, production_role(harness), since) == []


def test_a_failing_deploy_still_removes_its_secrets_and_revokes_its_token(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path,
                                       MAKE_EXIT="3")
    assert result.returncode == 3, result.stderr
    assert recorded["secret webapp.json"]
    assert "could not revoke" not in result.stderr
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()
    assert live_tokens(harness, production_role(harness), since) == []


def test_a_cancelled_deploy_still_removes_its_secrets_and_revokes_its_token(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    record = tmp_path / "make-record"
    env = step_env(harness, record, CIRCLE_OIDC_TOKEN_V2=production_token(harness), MAKE_SLEEP="30")
    # A runner cancelling a job signals the step's whole process group.
    step = subprocess.Popen(["bash", "-eo", "pipefail", "-c", circleci_command(harness, "deploy-production")],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "make-record.started").exists():
        assert step.poll() is None and time.monotonic() < deadline, step.communicate()
        time.sleep(0.05)
    os.killpg(step.pid, signal.SIGTERM)
    _, stderr = step.communicate(timeout=30)
    assert step.returncode == 143, stderr
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()
    assert live_tokens(harness, production_role(harness), since) == []


def test_a_refused_revocation_fails_the_step_loudly(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    role = production_role(harness)
    with without_revoke_self(harness, role):
        result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    left = live_tokens(harness, role, since)
    revoke_all(harness, left)
    assert recorded["secret webapp.json"], "the deploy itself must have worked"
    assert result.returncode == 1
    assert "could not revoke this job's Vault token" in result.stderr
    assert len(left) == 1, "the token the step could not revoke is still alive (and the check above can see it)"
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()


def test_a_refused_revocation_keeps_the_deploys_own_failure_status(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    role = production_role(harness)
    with without_revoke_self(harness, role):
        result, _ = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path,
                                    MAKE_EXIT="3")
    revoke_all(harness, live_tokens(harness, role, since))
    assert result.returncode == 3
    assert "could not revoke this job's Vault token" in result.stderr


# --- GitHub Actions: the role choice and the deploy step around hashicorp/vault-action ------------


def github_token(harness: Harness, plan: Plan, role: CIRole, actor_id: str) -> str:
    claims: dict[str, Any] = {c.claim: c.values[0] for c in role.bound_claims}
    now = int(time.time())
    claims.update({
        "iss": plan.mount("github-actions").issuer, "aud": role.bound_audiences[0],
        "sub": f"repo:acme/api:environment:{role.environment}", "actor_id": actor_id,
        "iat": now, "nbf": now - 5, "exp": now + 600,
    })
    return jwt.encode({"alg": "RS256"}, claims, harness.key)


def run_step(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("developer", ["lin", "sam"])
def test_github_dev_deploy_picks_the_pushers_role_and_reads_only_their_secrets(
    harness: Harness, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    steps = harness.workflow["jobs"]["deploy-dev"]["steps"]
    actor = str(next(d["ci"]["github_actions"]["user_id"] for d in example_values["developers"]
                     if d["name"] == developer))
    outputs = tmp_path / "outputs"
    chosen = run_step(next(s for s in steps if s.get("id") == "role")["run"],
                      {"ACTOR_ID": actor, "GITHUB_OUTPUT": str(outputs)})
    assert chosen.returncode == 0, chosen.stderr
    picked = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    role = next(r for r in harness.plan.environment("dev").roles
                if r.ci == "github-actions" and r.role_name == picked["role"])
    assert role.developer == developer

    # What hashicorp/vault-action does with method jwt: log in with the job's token, export VAULT_TOKEN.
    client = hvac.Client(url=harness.vault.addr)
    login = client.auth.jwt.jwt_login(role=picked["role"], jwt=github_token(harness, harness.plan, role, actor),
                                      path=role.mount_path)
    record = tmp_path / "make-record"
    deployed = run_step(steps[-1]["run"], {
        "PATH": f"{harness.bin_dir}:{os.environ['PATH']}", "MAKE_RECORD": str(record),
        "VAULT_ADDR": harness.vault.addr, "VAULT_TOKEN": login["auth"]["client_token"],
        "IMAGE_REF": DIGEST_REF, "SECRET_PATHS": picked["secret-paths"],
    })
    assert deployed.returncode == 0, deployed.stderr
    recorded = dict(line.split("=", 1) for line in record.read_text().splitlines())
    assert recorded["secret api.json"] == f'{{"owner":"kv-dev-scripts/apps/{developer}/api"}}'
    assert recorded["environment"] == "dev" and recorded["image"] == DIGEST_REF


def test_github_dev_deploy_refuses_an_undeclared_pusher(harness: Harness, tmp_path: Path) -> None:
    steps = harness.workflow["jobs"]["deploy-dev"]["steps"]
    chosen = run_step(next(s for s in steps if s.get("id") == "role")["run"],
                      {"ACTOR_ID": "42", "GITHUB_OUTPUT": str(tmp_path / "outputs")})
    assert chosen.returncode != 0
    assert "No dev role for GitHub user 42" in chosen.stderr


def github_production_login(harness: Harness) -> tuple[CIRole, str]:
    """What hashicorp/vault-action does before the deploy step: log in, export ``VAULT_TOKEN``."""
    (role,) = [r for r in harness.plan.environment("production").roles if r.ci == "github-actions"]
    client = hvac.Client(url=harness.vault.addr)
    login = client.auth.jwt.jwt_login(role=role.role_name, jwt=github_token(harness, harness.plan, role, "5550001"),
                                      path=role.mount_path)
    return role, login["auth"]["client_token"]


def run_github_deploy(harness: Harness, role: CIRole, token: str, tmp_path: Path, **extra: str
                      ) -> subprocess.CompletedProcess[str]:
    script = harness.workflow["jobs"]["deploy-production"]["steps"][-1]["run"]
    return run_step(script, {
        "PATH": f"{harness.bin_dir}:{os.environ['PATH']}", "MAKE_RECORD": str(tmp_path / "make-record"),
        "VAULT_ADDR": harness.vault.addr, "VAULT_TOKEN": token, "IMAGE_REF": DIGEST_REF,
        "SECRET_PATHS": " ".join(p.data_path for p in role.secret_paths), **extra,
    })


def token_is_alive(harness: Harness, token: str) -> bool:
    try:
        hvac.Client(url=harness.vault.addr, token=harness.vault.token).write("auth/token/lookup", token=token)
    except hvac.exceptions.VaultError:
        return False
    return True


@pytest.mark.parametrize("make_exit", [0, 3], ids=["deploy succeeds", "deploy fails"])
def test_github_deploy_removes_its_secrets_and_revokes_the_token_either_way(
    harness: Harness, tmp_path: Path, make_exit: int
) -> None:
    role, token = github_production_login(harness)
    assert token_is_alive(harness, token), "the check below could not tell a revoked token from a live one"
    deployed = run_github_deploy(harness, role, token, tmp_path, MAKE_EXIT=str(make_exit))
    assert deployed.returncode == make_exit, deployed.stderr
    private = read_record(tmp_path / "make-record.private")
    assert private["dir mode"] == "700" and private["token in make's environment"] == "none"
    assert not Path(private["dir"]).exists()
    assert not token_is_alive(harness, token)


def test_github_deploy_fails_loudly_when_its_token_cannot_revoke_itself(harness: Harness, tmp_path: Path) -> None:
    role, _ = github_production_login(harness)
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    # A token as a role without the revoke-self grant would issue it: its reads only.
    reads_only = "".join(f'path "{p.data_path}" {{\n  capabilities = ["read"]\n}}\n' for p in role.secret_paths)
    client.sys.create_or_update_policy("scripts-reads-only", reads_only)
    token = client.auth.token.create(policies=["scripts-reads-only"], no_default_policy=True,
                                     ttl="5m")["auth"]["client_token"]
    deployed = run_github_deploy(harness, role, token, tmp_path)
    assert deployed.returncode == 1
    assert "could not revoke this job's Vault token" in deployed.stderr
    assert token_is_alive(harness, token)
    client.write("auth/token/revoke", token=token)
