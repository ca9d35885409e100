"""The rendered CircleCI deploy steps, run by bash against a real OpenBao set up from the plan.

The Vault side here is the plan's own roles, policies and paths, with a locally generated signing key
in place of CircleCI's discovery URL. Staging and production roles are bound to 127.0.0.1/32
instead of the runners' ranges: what is under test is the rendered script (role choice, login, paths, digest),
not the CIDR binding, which the rehearsal proves.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from secure_pipelines.ci.circleci.claims import CONTEXT_IDS, SSH_RERUN
from secure_pipelines.ci.circleci.policy.cases import parse_config
from secure_pipelines.plan import CIRole, Plan

from .conftest import DevVault, seed_secrets_and_policies

DIGEST_REF = "ghcr.io/acme/webapp@sha256:" + "ab" * 32
FAKE_MAKE = """#!/usr/bin/env bash
set -euo pipefail
{
  echo "target=$1"
  echo "environment=$DEPLOY_ENVIRONMENT"
  echo "image=$IMAGE_REF"
  for f in "$SECRETS_DIR"/*.json; do echo "secret $(basename "$f")=$(jq -c . "$f")"; done
} > "$MAKE_RECORD"
"""


@dataclass(frozen=True)
class Harness:
    vault: DevVault
    key: RSAKey
    config: dict[str, Any]
    workflow: dict[str, Any]
    workspace: Path
    bin_dir: Path


def _role_body(role: CIRole) -> dict[str, Any]:
    claims: dict[str, Any] = {
        claim.claim: claim.values[0] if len(claim.values) == 1 else list(claim.values)
        for claim in role.bound_claims
    }
    local = role.token_bound_cidrs != ("0.0.0.0/0", "::/0")
    return {
        "role_type": "jwt",
        "bound_audiences": list(role.bound_audiences),
        "user_claim": role.user_claim,
        "bound_claims": claims,
        "bound_claims_type": role.claims_match,
        "token_policies": list(role.token_policies),
        "token_bound_cidrs": ["127.0.0.1/32"] if local else list(role.token_bound_cidrs),
        "token_ttl": role.token_ttl,
        "token_max_ttl": role.token_max_ttl,
        "token_type": role.token_type,
    }


@pytest.fixture(scope="module")
def harness(
    render_openbao: DevVault, example_plan: Plan, example_files: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Harness]:
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    key = RSAKey.generate_key(2048)
    for mount in example_plan.jwt_mounts:
        client.sys.enable_auth_method("jwt", path=mount.path)
        client.write(f"auth/{mount.path}/config", jwt_validation_pubkeys=[key.as_pem(private=False).decode()],
                     bound_issuer=mount.issuer)
    seed_secrets_and_policies(client, example_plan)
    for role in example_plan.roles:
        client.adapter.post(f"/v1/auth/{role.mount_path}/role/{role.role_name}", json=_role_body(role))
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "image").mkdir()
    (workspace / "image" / "ref").write_text(DIGEST_REF + "\n")
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    yield Harness(render_openbao, key, parse_config(example_files["repositories/webapp/.circleci/config.yml"]),
                  parse_config(example_files["repositories/api/.github/workflows/deploy.yml"]), workspace, bin_dir)


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


def run_deploy_step(harness: Harness, job: str, token: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str],
                                                                                      dict[str, str]]:
    command = harness.config["jobs"][job]["steps"][-1]["run"]["command"]
    command = command.replace("/tmp/workspace", str(harness.workspace))
    record = tmp_path / "make-record"
    env = {
        **os.environ,
        "PATH": f"{harness.bin_dir}:{os.environ['PATH']}",
        "VAULT_ADDR": harness.vault.addr,
        "CIRCLE_OIDC_TOKEN_V2": token,
        "MAKE_RECORD": str(record),
    }
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", command], env=env, capture_output=True,
                            text=True, timeout=60)
    recorded = dict(line.split("=", 1) for line in record.read_text().splitlines()) if record.exists() else {}
    return result, recorded


def developer_id(values: dict[str, Any], name: str) -> str:
    return next(d["ci"]["circleci"]["user_id"] for d in values["developers"] if d["name"] == name)


@pytest.mark.parametrize("developer", ["lin", "sam"])
def test_dev_deploy_logs_in_as_the_pushing_developer_and_reads_only_their_secrets(
    harness: Harness, example_plan: Plan, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    role = next(r for r in example_plan.environment("dev").roles
                if r.ci == "circleci" and r.developer == developer)
    token = circleci_token(harness, example_plan, role, user=developer_id(example_values, developer),
                           branch="feature/x")
    result, recorded = run_deploy_step(harness, "deploy-dev", token, tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded["environment"] == "dev" and recorded["image"] == DIGEST_REF
    secrets = {k: v for k, v in recorded.items() if k.startswith("secret ")}
    assert secrets == {"secret webapp.json": f'{{"owner":"kv-dev/apps/{developer}/webapp"}}'}


def test_dev_deploy_refuses_a_user_who_is_not_a_declared_developer(
    harness: Harness, example_plan: Plan, tmp_path: Path
) -> None:
    role = next(r for r in example_plan.environment("dev").roles if r.ci == "circleci")
    token = circleci_token(harness, example_plan, role, user="99999999-0000-4000-8000-000000000000")
    result, recorded = run_deploy_step(harness, "deploy-dev", token, tmp_path)
    assert result.returncode != 0
    assert "No dev role for" in result.stderr and "environments[dev].developers" in result.stderr
    assert not recorded


def test_production_deploy_reads_production_secrets_and_ships_the_digest(
    harness: Harness, example_plan: Plan, tmp_path: Path
) -> None:
    (role,) = [r for r in example_plan.environment("production").roles if r.ci == "circleci"]
    token = circleci_token(harness, example_plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152")
    result, recorded = run_deploy_step(harness, "deploy-production", token, tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded == {
        "target": "deploy", "environment": "production", "image": DIGEST_REF,
        "secret webapp.json": '{"owner":"kv-production/apps/webapp"}',
    }


def test_production_deploy_in_an_ssh_rerun_gets_no_secret(
    harness: Harness, example_plan: Plan, tmp_path: Path
) -> None:
    (role,) = [r for r in example_plan.environment("production").roles if r.ci == "circleci"]
    token = circleci_token(harness, example_plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152",
                           ssh_rerun=True)
    result, recorded = run_deploy_step(harness, "deploy-production", token, tmp_path)
    assert result.returncode != 0
    assert "/v1/auth/circleci/login" in result.stderr or "returned error" in result.stderr, result.stderr
    assert not recorded


def test_a_deploy_refuses_an_image_that_is_not_pinned_by_digest(
    harness: Harness, example_plan: Plan, tmp_path: Path
) -> None:
    (role,) = [r for r in example_plan.environment("staging").roles if r.ci == "circleci"]
    token = circleci_token(harness, example_plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152")
    ref = harness.workspace / "image" / "ref"
    ref.write_text("ghcr.io/acme/webapp:latest\n")
    try:
        result, recorded = run_deploy_step(harness, "deploy-staging", token, tmp_path)
    finally:
        ref.write_text(DIGEST_REF + "\n")
    assert result.returncode != 0
    assert not recorded


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
    harness: Harness, example_plan: Plan, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    steps = harness.workflow["jobs"]["deploy-dev"]["steps"]
    actor = str(next(d["ci"]["github_actions"]["user_id"] for d in example_values["developers"]
                     if d["name"] == developer))
    outputs = tmp_path / "outputs"
    chosen = run_step(next(s for s in steps if s.get("id") == "role")["run"],
                      {"ACTOR_ID": actor, "GITHUB_OUTPUT": str(outputs)})
    assert chosen.returncode == 0, chosen.stderr
    picked = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    role = next(r for r in example_plan.environment("dev").roles
                if r.ci == "github-actions" and r.role_name == picked["role"])
    assert role.developer == developer

    # What hashicorp/vault-action does with method jwt: log in with the job's token, export VAULT_TOKEN.
    client = hvac.Client(url=harness.vault.addr)
    login = client.auth.jwt.jwt_login(role=picked["role"], jwt=github_token(harness, example_plan, role, actor),
                                      path=role.mount_path)
    record = tmp_path / "make-record"
    deployed = run_step(steps[-1]["run"], {
        "PATH": f"{harness.bin_dir}:{os.environ['PATH']}", "MAKE_RECORD": str(record),
        "VAULT_ADDR": harness.vault.addr, "VAULT_TOKEN": login["auth"]["client_token"],
        "IMAGE_REF": DIGEST_REF, "SECRET_PATHS": picked["secret-paths"],
    })
    assert deployed.returncode == 0, deployed.stderr
    recorded = dict(line.split("=", 1) for line in record.read_text().splitlines())
    assert recorded["secret api.json"] == f'{{"owner":"kv-dev/apps/{developer}/api"}}'
    assert recorded["environment"] == "dev" and recorded["image"] == DIGEST_REF


def test_github_dev_deploy_refuses_an_undeclared_pusher(harness: Harness, tmp_path: Path) -> None:
    steps = harness.workflow["jobs"]["deploy-dev"]["steps"]
    chosen = run_step(next(s for s in steps if s.get("id") == "role")["run"],
                      {"ACTOR_ID": "42", "GITHUB_OUTPUT": str(tmp_path / "outputs")})
    assert chosen.returncode != 0
    assert "No dev role for GitHub user 42" in chosen.stderr
