"""``securepipe rehearse`` and ``securepipe explain`` as a user runs them."""

from __future__ import annotations

import json
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from secure_pipelines.cli import app
from secure_pipelines.explain import access_matrix
from secure_pipelines.plan import Plan, SecretPath
from secure_pipelines.rehearse.apply import AUTH_BACKEND
from secure_pipelines.rehearse.keys import key_file_name
from secure_pipelines.rehearse.scratch import NotAScratchVault, refuse_real_vault
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.rehearse.vault_client import VaultSession

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_the_example_project(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command runs from the example project's directory, as a user runs it from theirs."""
    monkeypatch.chdir(example_project)


@dataclass(frozen=True)
class _Resource:
    type_token: str
    name: str
    inputs: dict[str, Any]


def test_rehearse_all_passes_on_the_example_and_writes_one_key_per_issuer(
    tmp_path: Path, example_plan: Plan,
) -> None:
    result = runner.invoke(app, ["rehearse", "--all", "--format", "json", "--keys-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["embedded_server"]
    assert report["summary"]["escapes"] == 0 and report["summary"]["refused_legitimate"] == 0
    issuers = {m.issuer for m in example_plan.jwt_mounts}
    assert set(report["keys_written"]) == issuers
    for issuer in issuers:
        pem = tmp_path / key_file_name(issuer)
        assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600


def test_rehearse_prints_the_table_with_its_verdict() -> None:
    result = runner.invoke(app, ["rehearse", "--stack", "staging"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "stopped by" in result.output


def test_rehearse_says_what_it_proves_and_what_it_does_not() -> None:
    result = runner.invoke(app, ["rehearse", "--stack", "staging", "--format", "json"])
    assert result.exit_code == 0, result.output
    claim = json.loads(result.stdout)["scope"]
    assert any("refused once revoked" in s for s in claim["proves"])
    not_proven = " ".join(claim["does_not_prove"])
    assert "replayed from inside the allowlist" in not_proven and "no replay protection" in not_proven
    assert "CircleCI context restriction" in not_proven, "the later layers that stopped attacks are named"
    assert "browser login" in not_proven and "X-Forwarded-For" in not_proven
    printed = runner.invoke(app, ["rehearse", "--stack", "staging"], terminal_width=200).output
    assert "What this rehearsal proves:" in printed and "What it does not prove:" in printed


def test_rehearse_shows_where_its_time_went_when_asked() -> None:
    result = runner.invoke(app, ["rehearse", "--stack", "staging", "--timings"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Rehearsal phases" in result.output
    first_cells = {line.split("│")[1].strip() for line in result.output.splitlines() if line.count("│") > 2}
    assert {"capture", "server-start", "apply", "seed", "flows", "differential"} <= first_cells


def test_rehearse_still_fires_a_real_fork_when_the_origin_is_overridden(tmp_path: Path) -> None:
    declaration = tmp_path / "declaration.yaml"
    text = (Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml").read_text()
    origin = "        project_id: 5b81e023-ae6f-4d70-9c1b-2f3041526374\n"
    assert origin in text
    declaration.write_text(text.replace(origin, origin + "        vcs_origin: github.com/x/y\n"))
    result = runner.invoke(app, ["rehearse", "--stack", "staging", "--declaration", str(declaration),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    forks = [o for o in json.loads(result.stdout)["outcomes"] if "webapp" in o["flow"] and "fork" in o["flow"]]
    assert forks and all(o["verdict"] == "ok" and "vcs-origin" in o["layer"] for o in forks)


def test_rehearse_exits_1_when_a_legitimate_flow_is_refused(openbao: OpenBaoServer) -> None:
    # The plain dev listener ignores X-Forwarded-For: every production login comes from 127.0.0.1.
    result = runner.invoke(app, ["rehearse", "--stack", "production", "--vault-addr", openbao.api_addr,
                                 "--vault-token", openbao.root_token, "--format", "json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["summary"]["refused_legitimate"] > 0


def test_rehearse_refuses_an_unknown_stack_with_exit_2() -> None:
    result = runner.invoke(app, ["rehearse", "--stack", "perf"])
    assert result.exit_code == 2
    assert "not an environment" in result.output and "Traceback" not in result.output


def test_rehearse_needs_exactly_one_of_stack_or_all() -> None:
    assert runner.invoke(app, ["rehearse"]).exit_code == 2
    assert runner.invoke(app, ["rehearse", "--all", "--stack", "dev"]).exit_code == 2


def test_rehearse_needs_the_token_with_the_address() -> None:
    result = runner.invoke(app, ["rehearse", "--all", "--vault-addr", "http://127.0.0.1:1"])
    assert result.exit_code == 2 and "--vault-token" in result.output


def test_rehearse_reports_an_unreachable_vault_without_a_traceback() -> None:
    result = runner.invoke(app, ["rehearse", "--all", "--vault-addr", "http://127.0.0.1:9", "--vault-token", "t"])
    assert result.exit_code == 2, result.output
    assert "does not answer" in result.output and "Traceback" not in result.output


def test_rehearse_reports_a_missing_declaration_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rehearse", "--all", "--declaration", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such declaration file" in result.output


def test_explain_json_lists_every_secret_path_with_its_readers_and_writers(example_plan: Plan) -> None:
    result = runner.invoke(app, ["explain", "--all", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [a["path"] for a in shown] == [a.path for a in access_matrix(example_plan)]
    assert all(a["readers"] for a in shown)
    for access in shown:  # admins write every secret, and no promotion record (only the deploys create those)
        assert bool(access["writers"]) != ("/data/promotions/" in access["path"]), access["path"]


def test_explain_shows_each_contexts_expression_and_security_group() -> None:
    result = runner.invoke(app, ["explain", "--stack", "production", "--format", "json"])
    assert result.exit_code == 0, result.output
    restrictions = {r["context_restriction"] for a in json.loads(result.stdout) for r in a["readers"]
                    if r["ci"] == "circleci"}
    assert restrictions == {'pipeline.git.branch == "main" and not job.ssh.enabled and not '
                            '(pipeline.config_source starts-with "api"); security group production-approvers'}


def test_explain_says_which_jobs_each_dev_role_admits_as_its_developers() -> None:
    result = runner.invoke(app, ["explain", "--stack", "dev", "--format", "json"])
    assert result.exit_code == 0, result.output
    gitlab = "jobs sam runs: sam's pushes, and any job sam retries or plays, whoever pushed it"
    jobs = {(r["ci"], r["developer"]): r["developer_jobs"] for a in json.loads(result.stdout) for r in a["readers"]}
    assert jobs[("github-actions", "sam")] == "runs started by sam's pushes"
    assert jobs[("gitlab-ci", "sam")] == gitlab
    table = runner.invoke(app, ["explain", "--stack", "dev"], env={"COLUMNS": "400"})
    assert f"sam ({gitlab})" in table.stdout


def test_explain_mermaid_draws_branch_to_path(example_plan: Plan) -> None:
    result = runner.invoke(app, ["explain", "--stack", "production", "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart LR")
    for path in example_plan.environment("production").secret_store.paths:
        assert f'"{path.data_path}"' in result.stdout


def test_explain_deployers_shows_who_can_change_what(example_plan: Plan) -> None:
    result = runner.invoke(app, ["explain", "--stack", "staging", "--view", "deployers", "--format", "json"])
    assert result.exit_code == 0, result.output
    (staging,) = json.loads(result.stdout)
    assert staging["policy"] == example_plan.deployer("staging").policy.name
    assert [p["path"] for p in staging["paths"]] == [g.path for g in example_plan.deployer("staging").grants]
    drawn = runner.invoke(app, ["explain", "--stack", "staging", "--view", "deployers", "--format", "mermaid"])
    assert drawn.exit_code == 2 and "-f table or -f json" in drawn.output


def test_explain_github_app_lists_the_permissions_and_repositories_of_the_chosen_stacks() -> None:
    result = runner.invoke(app, ["explain", "--stack", "staging", "--view", "github-app", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert {p["id"]: p["access"] for p in shown["permissions"]} == {
        "repository.actions": "read", "repository.administration": "write", "repository.metadata": "read"}
    assert shown["repositories"] == ["api", "infrastructure"]  # its staging deployment environment


def test_explain_refuses_an_unknown_stack_with_exit_2() -> None:
    assert runner.invoke(app, ["explain", "--stack", "perf"]).exit_code == 2


def test_rehearse_refuses_a_vault_holding_a_real_secret(openbao: OpenBaoServer) -> None:
    root = VaultSession(openbao.api_addr, openbao.root_token)
    mount = f"kv-real-{secrets.token_hex(3)}"
    assert root.write(f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}}).ok
    assert root.write(f"{mount}/data/apps/webapp", {"data": {"DATABASE_URL": "postgres://real"}}).ok
    path = SecretPath("staging", "webapp", None, mount, "apps/webapp")
    with pytest.raises(NotAScratchVault, match="did not write"):
        refuse_real_vault(root, [], [path])
    assert root.read(f"{mount}/data/apps/webapp").body["data"]["data"] == {"DATABASE_URL": "postgres://real"}


@pytest.fixture
def local_jwks_url() -> Iterator[str]:
    """A JWKS served from 127.0.0.1, standing in for a real issuer's (Vault fetches it on config)."""
    keys = json.dumps({"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(keys)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()


def test_rehearse_refuses_a_vault_whose_jwt_mount_trusts_a_real_issuer(
    openbao: OpenBaoServer, local_jwks_url: str,
) -> None:
    root = VaultSession(openbao.api_addr, openbao.root_token)
    mount = f"jwt-real-{secrets.token_hex(3)}"
    assert root.write(f"sys/auth/{mount}", {"type": "jwt"}).ok
    answer = root.write(f"auth/{mount}/config", {"jwks_url": local_jwks_url})
    assert answer.ok, answer.reason
    real = _Resource(AUTH_BACKEND, "jwt-ci", {"type": "jwt", "path": mount})
    with pytest.raises(NotAScratchVault, match="real issuer"):
        refuse_real_vault(root, [real], [])
