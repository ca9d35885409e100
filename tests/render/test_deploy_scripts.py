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

import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import hvac
import hvac.exceptions
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from ruamel.yaml import YAML

from secure_pipelines.ci.circleci.claims import CONTEXT_IDS, SSH_RERUN
from secure_pipelines.ci.circleci.policy.cases import parse_config
from secure_pipelines.components.ci_roles import _vault_role_body
from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.yaml_files import parse_yaml

from .conftest import DevVault, enable, live_tokens, record_deployed, revoke_all, seed_secrets_and_policies

DIGEST_REF = "ghcr.io/acme/webapp@sha256:" + "ab" * 32
FAKE_MAKE = """#!/usr/bin/env bash
set -euo pipefail
{
  echo "target=$1"
  echo "environment=$DEPLOY_ENVIRONMENT"
  echo "image=$IMAGE_REF"
  for f in $(cd "$SECRETS_DIR" && find . -name '*.json' | sort); do
    echo "secret ${f#./}=$(jq -c . "$SECRETS_DIR/$f")"
  done
} > "$MAKE_RECORD"
{
  echo "dir=$SECRETS_DIR"
  echo "dir mode=$(stat -c %a "$SECRETS_DIR")"
  for f in $(cd "$SECRETS_DIR" && find . -mindepth 1 | sort); do
    echo "mode ${f#./}=$(stat -c %a "$SECRETS_DIR/$f")"
  done
  echo "token in make's environment=${VAULT_TOKEN:-${CIRCLE_OIDC_TOKEN_V2:-none}}"
  echo "token request in make's environment=${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-none}"
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
    record_deployed(client, plan, DIGEST_REF)
    for role in plan.roles:
        client.adapter.post(f"/v1/auth/{role.mount_path}/role/{role.role_name}", json=_role_body(role))
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "image").mkdir()
    (workspace / "image" / "ref").write_text(DIGEST_REF + "\n")
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    yield Harness(plan, render_openbao, key, parse_config(files["repositories/webapp/.circleci/config.yml"]),
                  parse_yaml(files["repositories/api/.github/workflows/deploy.yml"], "deploy.yml"), workspace, bin_dir)


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


def circleci_command(harness: Harness, job: str, workspace: Path | None = None) -> str:
    command = harness.config["jobs"][job]["steps"][-1]["run"]["command"]
    return command.replace("/tmp/workspace", str(workspace or harness.workspace))


def run_deploy_step(harness: Harness, job: str, token: str, tmp_path: Path, image: str | None = None, **extra: str
                    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The job's deploy step, shipping the workspace's image (or ``image``, from a workspace of its own)."""
    record = tmp_path / "make-record"
    workspace = None
    if image is not None:
        workspace = tmp_path / "workspace"
        (workspace / "image").mkdir(parents=True)
        (workspace / "image" / "ref").write_text(image + "\n")
    env = step_env(harness, record, CIRCLE_OIDC_TOKEN_V2=token, **extra)
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", circleci_command(harness, job, workspace)], env=env,
                            capture_output=True, text=True, timeout=60)
    return result, read_record(record)


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


def test_a_push_by_someone_with_no_dev_environment_skips_the_dev_deploy_with_a_notice(
    harness: Harness, tmp_path: Path
) -> None:
    role = next(r for r in harness.plan.environment("dev").roles if r.ci == "circleci")
    newcomer = "99999999-0000-4000-8000-000000000000"
    token = circleci_token(harness, harness.plan, role, user=newcomer)
    result, recorded = run_deploy_step(harness, "deploy-dev", token, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"notice: CircleCI user {newcomer} has no dev environment (no role dev.webapp.{newcomer})" in result.stdout
    assert "environments[dev].developers" in result.stdout and "pulumi up on the dev stack" in result.stdout
    assert not recorded


def test_a_dev_login_vault_refuses_for_any_other_reason_still_fails_the_job(
    harness: Harness, example_values: dict[str, Any], tmp_path: Path
) -> None:
    role = next(r for r in harness.plan.environment("dev").roles if r.ci == "circleci" and r.developer == "lin")
    # Another project's job, run by lin: lin's role exists, but its binding refuses this token.
    token = circleci_token(harness, harness.plan, role, user=developer_id(example_values, "lin"))
    claims = jwt.decode(token, harness.key).claims
    claims["oidc.circleci.com/project-id"] = "00000000-0000-4000-8000-00000000dead"
    result, recorded = run_deploy_step(harness, "deploy-dev", jwt.encode({"alg": "RS256"}, claims, harness.key),
                                       tmp_path)
    assert result.returncode == 1
    assert f"error: Vault refused the login as {role.role_name}" in result.stderr and "(HTTP 400)" in result.stderr
    assert "notice:" not in result.stdout and not recorded


def test_a_dev_token_without_a_user_id_fails_the_job(harness: Harness, tmp_path: Path) -> None:
    role = next(r for r in harness.plan.environment("dev").roles if r.ci == "circleci")
    claims = jwt.decode(circleci_token(harness, harness.plan, role, user="x"), harness.key).claims
    claims["sub"] = "org/o/project/p"
    result, recorded = run_deploy_step(harness, "deploy-dev", jwt.encode({"alg": "RS256"}, claims, harness.key),
                                       tmp_path)
    assert result.returncode == 1
    assert "error: this job's token names no CircleCI user id to pick its dev role by" in result.stderr
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
        "secret shared/payments.json": '{"owner":"kv-production-scripts/shared/payments"}',  # listed for webapp
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


# --- Promotion: production ships only what staging recorded ------------------------------------------


def _circleci_token_for(harness: Harness, environment: str) -> str:
    (role,) = [r for r in harness.plan.environment(environment).roles if r.ci == "circleci"]
    return circleci_token(harness, harness.plan, role, user="3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152")


def test_production_refuses_a_digest_staging_never_recorded(harness: Harness, tmp_path: Path) -> None:
    unpromoted = "ghcr.io/acme/webapp@sha256:" + secrets.token_hex(32)
    result, recorded = run_deploy_step(harness, "deploy-production", _circleci_token_for(harness, "production"),
                                       tmp_path, image=unpromoted)
    assert result.returncode == 1
    assert f"error: {unpromoted} was never deployed to staging; deploy it there first" in result.stderr
    assert not recorded  # make deploy never ran


def test_staging_records_what_it_deployed_once_and_production_then_promotes_it(
    harness: Harness, tmp_path: Path
) -> None:
    image = "ghcr.io/acme/webapp@sha256:" + secrets.token_hex(32)
    first, _ = run_deploy_step(harness, "deploy-staging", _circleci_token_for(harness, "staging"),
                               tmp_path / "first", image=image)
    assert first.returncode == 0, first.stderr
    assert f"recorded {image} as deployed to staging" in first.stdout
    rerun, _ = run_deploy_step(harness, "deploy-staging", _circleci_token_for(harness, "staging"),
                               tmp_path / "rerun", image=image)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{image} was already recorded as deployed to staging" in rerun.stdout
    promoted, recorded = run_deploy_step(harness, "deploy-production", _circleci_token_for(harness, "production"),
                                         tmp_path / "production", image=image)
    assert promoted.returncode == 0, promoted.stderr
    assert f"promoting {image}: staging deployed it" in promoted.stdout and recorded["image"] == image


def test_a_staging_deploy_that_fails_records_nothing(harness: Harness, tmp_path: Path) -> None:
    image = "ghcr.io/acme/webapp@sha256:" + secrets.token_hex(32)
    failed, _ = run_deploy_step(harness, "deploy-staging", _circleci_token_for(harness, "staging"),
                                tmp_path / "staging", image=image, MAKE_EXIT="2")
    assert failed.returncode == 2 and "recorded" not in failed.stdout
    refused, _ = run_deploy_step(harness, "deploy-production", _circleci_token_for(harness, "production"),
                                 tmp_path / "production", image=image)
    assert refused.returncode == 1 and "was never deployed to staging" in refused.stderr


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
    revoke = 'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n'
    assert revoke in planned
    client.sys.create_or_update_policy(name, planned.replace(revoke, ""))
    try:
        yield
    finally:
        client.sys.create_or_update_policy(name, planned)


def test_a_deploy_reads_its_secrets_into_a_private_directory_and_hides_the_token_from_make(
    harness: Harness, tmp_path: Path
) -> None:
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    assert result.returncode == 0, result.stderr
    private = read_record(tmp_path / "make-record.private")
    assert private["dir mode"] == "700" and private["mode webapp.json"] == "600"
    assert private["mode shared"] == "700" and private["mode shared/payments.json"] == "600"
    assert private["token in make's environment"] == "none"
    assert recorded["secret webapp.json"]


def test_after_a_deploy_no_secret_file_remains_and_the_token_is_revoked(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded["secret webapp.json"], "no secret was read: the token checked below was never issued"
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()
    assert live_tokens(harness.vault, production_role(harness).role_name, since) == []


def test_a_failing_deploy_still_removes_its_secrets_and_revokes_its_token(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path,
                                       MAKE_EXIT="3")
    assert result.returncode == 3, result.stderr
    assert recorded["secret webapp.json"]
    assert "could not revoke" not in result.stderr
    assert not Path(read_record(tmp_path / "make-record.private")["dir"]).exists()
    assert live_tokens(harness.vault, production_role(harness).role_name, since) == []


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
    assert live_tokens(harness.vault, production_role(harness).role_name, since) == []


def test_a_refused_revocation_fails_the_step_loudly(harness: Harness, tmp_path: Path) -> None:
    since = time.time()
    role = production_role(harness)
    with without_revoke_self(harness, role):
        result, recorded = run_deploy_step(harness, "deploy-production", production_token(harness), tmp_path)
    left = live_tokens(harness.vault, role.role_name, since)
    revoke_all(harness.vault, left)
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
    revoke_all(harness.vault, live_tokens(harness.vault, role.role_name, since))
    assert result.returncode == 3
    assert "could not revoke this job's Vault token" in result.stderr


# --- GitHub Actions: the deploy step requests its own OIDC token, then runs the same script ---------


@dataclass
class TokenEndpoint:
    """GitHub's OIDC token endpoint as a job sees it (``ACTIONS_ID_TOKEN_REQUEST_URL``), serving ``token``."""

    url: str
    bearer: str
    token: str = ""
    audiences: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(url="", bearer="request-" + secrets.token_hex(8))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            if self.headers.get("Authorization") != f"bearer {endpoint.bearer}":
                self.send_response(401)
                self.end_headers()
                return
            endpoint.audiences.append(query.get("audience", [""])[0])
            body = json.dumps({"value": endpoint.token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_port}/token?api-version=2.0"
    yield endpoint
    server.shutdown()


def github_token(harness: Harness, plan: Plan, role: CIRole, actor_id: str) -> str:
    claims: dict[str, Any] = {c.claim: c.values[0] for c in role.bound_claims}
    now = int(time.time())
    claims.update({
        "iss": plan.mount("github-actions").issuer, "aud": role.bound_audiences[0],
        "sub": f"repo:acme/api:environment:{role.environment}", "actor_id": actor_id,
        "iat": now, "nbf": now - 5, "exp": now + 600,
    })
    return jwt.encode({"alg": "RS256"}, claims, harness.key)


def run_github_deploy(harness: Harness, endpoint: TokenEndpoint, job: str, tmp_path: Path, **extra: str
                      ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The workflow's deploy step, as the runner runs it (``shell: bash``) with the job's environment."""
    step = harness.workflow["jobs"][job]["steps"][-1]
    assert step["shell"] == "bash"
    record = tmp_path / "make-record"
    env = {
        **os.environ, "PATH": f"{harness.bin_dir}:{os.environ['PATH']}", "MAKE_RECORD": str(record),
        "VAULT_ADDR": harness.vault.addr, "IMAGE_REF": DIGEST_REF,
        "ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": endpoint.bearer, **extra,
    }
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                            capture_output=True, text=True, timeout=60)
    return result, read_record(record)


@pytest.mark.parametrize("developer", ["lin", "sam"])
def test_github_dev_deploy_logs_in_as_the_pusher_and_reads_only_their_secrets(
    harness: Harness, token_endpoint: TokenEndpoint, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    actor = str(next(d["ci"]["github_actions"]["user_id"] for d in example_values["developers"]
                     if d["name"] == developer))
    role = next(r for r in harness.plan.environment("dev").roles
                if r.ci == "github-actions" and r.developer == developer)
    token_endpoint.token = github_token(harness, harness.plan, role, actor)
    result, recorded = run_github_deploy(harness, token_endpoint, "deploy-dev", tmp_path)
    assert result.returncode == 0, result.stderr
    assert recorded["secret api.json"] == f'{{"owner":"kv-dev-scripts/apps/{developer}/api"}}'
    assert recorded["environment"] == "dev" and recorded["image"] == DIGEST_REF
    assert token_endpoint.audiences[-1] == role.bound_audiences[0]


def test_github_dev_deploy_skips_a_pusher_with_no_dev_environment_whatever_the_environment_says(
    harness: Harness, token_endpoint: TokenEndpoint, example_values: dict[str, Any], tmp_path: Path
) -> None:
    lin = str(next(d["ci"]["github_actions"]["user_id"] for d in example_values["developers"] if d["name"] == "lin"))
    role = next(r for r in harness.plan.environment("dev").roles if r.ci == "github-actions")
    token_endpoint.token = github_token(harness, harness.plan, role, "42")
    # The role comes from the token's actor_id alone: a variable naming a developer changes nothing.
    result, recorded = run_github_deploy(harness, token_endpoint, "deploy-dev", tmp_path, ACTOR_ID=lin)
    assert result.returncode == 0 and not recorded
    assert "notice: GitHub user 42 has no dev environment (no role dev.api.42)" in result.stdout


def github_production(harness: Harness, endpoint: TokenEndpoint) -> CIRole:
    (role,) = [r for r in harness.plan.environment("production").roles if r.ci == "github-actions"]
    endpoint.token = github_token(harness, harness.plan, role, "5550001")
    return role


def test_github_production_refuses_a_digest_staging_never_recorded_and_revokes_its_token(
    harness: Harness, token_endpoint: TokenEndpoint, tmp_path: Path
) -> None:
    role = github_production(harness, token_endpoint)
    unpromoted = "ghcr.io/acme/api@sha256:" + secrets.token_hex(32)
    since = time.time()
    result, recorded = run_github_deploy(harness, token_endpoint, "deploy-production", tmp_path, IMAGE_REF=unpromoted)
    assert result.returncode == 1
    assert f"error: {unpromoted} was never deployed to staging" in result.stderr
    assert "Vault token revoked" in result.stdout
    assert not recorded
    assert live_tokens(harness.vault, role.role_name, since) == []


@pytest.mark.parametrize("make_exit", [0, 3], ids=["deploy succeeds", "deploy fails"])
def test_github_deploy_removes_its_secrets_and_revokes_the_token_either_way(
    harness: Harness, token_endpoint: TokenEndpoint, tmp_path: Path, make_exit: int
) -> None:
    role = github_production(harness, token_endpoint)
    since = time.time()
    result, recorded = run_github_deploy(harness, token_endpoint, "deploy-production", tmp_path,
                                         MAKE_EXIT=str(make_exit))
    assert result.returncode == make_exit, result.stderr
    assert recorded["secret api.json"] == '{"owner":"kv-production-scripts/apps/api"}'
    private = read_record(tmp_path / "make-record.private")
    assert private["dir mode"] == "700" and private["token in make's environment"] == "none"
    assert private["token request in make's environment"] == "none"
    assert not Path(private["dir"]).exists()
    assert live_tokens(harness.vault, role.role_name, since) == []


def test_github_deploy_fails_loudly_when_its_token_cannot_revoke_itself(
    harness: Harness, token_endpoint: TokenEndpoint, tmp_path: Path
) -> None:
    role = github_production(harness, token_endpoint)
    since = time.time()
    with without_revoke_self(harness, role):
        result, recorded = run_github_deploy(harness, token_endpoint, "deploy-production", tmp_path)
    left = live_tokens(harness.vault, role.role_name, since)
    revoke_all(harness.vault, left)
    assert recorded["secret api.json"], "the deploy itself must have worked"
    assert result.returncode == 1
    assert "could not revoke this job's Vault token" in result.stderr
    assert len(left) == 1


def test_github_deploy_without_an_oidc_token_says_what_the_job_lacks(
    harness: Harness, token_endpoint: TokenEndpoint, tmp_path: Path
) -> None:
    result, recorded = run_github_deploy(harness, token_endpoint, "deploy-production", tmp_path,
                                         ACTIONS_ID_TOKEN_REQUEST_URL="")
    assert result.returncode == 1 and not recorded
    assert "needs permissions: id-token: write" in result.stderr


# --- the infrastructure pipeline's apply step ---------------------------------------------------------------

INFRASTRUCTURE_WORKFLOW = "repositories/infrastructure/.github/workflows/infrastructure.yml"
FAKE_PULUMI = """#!/usr/bin/env bash
set -euo pipefail
{
  echo "args=$*"
  echo "policies=$(curl --silent --header "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/token/lookup-self" \\
    | jq -c .data.policies)"
} > "$PULUMI_RECORD"
exit "${PULUMI_EXIT:-0}"
"""


@pytest.fixture(scope="module")
def infrastructure_role(harness: Harness, token_endpoint: TokenEndpoint) -> CIRole:
    """The production stack's deployer role and policy, written as the resources stack writes them."""
    assert harness.plan.infrastructure is not None
    role = harness.plan.infrastructure.role("production")
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    client.sys.create_or_update_policy(role.token_policies[0], harness.plan.deployer("production").policy.hcl)
    client.adapter.post(f"/v1/auth/{role.mount_path}/role/{role.role_name}", json=_role_body(role))
    return role


def run_infrastructure_apply(harness: Harness, endpoint: TokenEndpoint, files: dict[str, str], role: CIRole,
                             tmp_path: Path, **extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The apply job's apply step, as the runner runs it (``shell: bash``), with a pulumi that records what
    it was given."""
    step = YAML(typ="safe", pure=True).load(files[INFRASTRUCTURE_WORKFLOW])["jobs"]["apply-production"]["steps"][2]
    assert step["shell"] == "bash"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "activate").write_text("")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").write_text(FAKE_PULUMI)
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    endpoint.token = github_token(harness, harness.plan, role, "5550001")
    record = tmp_path / "pulumi-record"
    env = {
        **os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "PULUMI_RECORD": str(record),
        "VAULT_ADDR": harness.vault.addr, "ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": endpoint.bearer, **extra,
    }
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    return result, read_record(record)


@pytest.mark.parametrize("pulumi_exit", [0, 3], ids=["apply succeeds", "apply fails"])
def test_the_apply_step_gives_pulumi_the_deployer_token_alone_and_revokes_it_either_way(
    harness: Harness, token_endpoint: TokenEndpoint, scripts_files: dict[str, str], infrastructure_role: CIRole,
    tmp_path: Path, pulumi_exit: int,
) -> None:
    since = time.time()
    result, recorded = run_infrastructure_apply(harness, token_endpoint, scripts_files, infrastructure_role, tmp_path,
                                                PULUMI_EXIT=str(pulumi_exit))
    assert result.returncode == pulumi_exit, result.stderr
    assert recorded["args"] == "up --yes --non-interactive --stack production"
    assert recorded["policies"] == '["secure_pipelines.deployer.production"]'
    assert token_endpoint.audiences[-1] == infrastructure_role.bound_audiences[0]
    assert "Vault token revoked" in result.stdout
    assert live_tokens(harness.vault, infrastructure_role.role_name, since) == []
