"""``securepipe rehearse`` and ``securepipe explain`` as a user runs them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from secure_pipelines.cli import app
from secure_pipelines.explain import access_matrix
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse.keys import key_file_name
from secure_pipelines.rehearse.server import OpenBaoServer

runner = CliRunner()


def test_rehearse_all_passes_on_the_example_and_writes_one_key_per_issuer(
    tmp_path: Path, example_plan: Plan,
) -> None:
    result = runner.invoke(app, ["rehearse", "--all", "--format", "json", "--keys-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
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


def test_rehearse_still_fires_a_real_fork_when_the_origin_is_overridden(tmp_path: Path) -> None:
    declaration = tmp_path / "declaration.yaml"
    text = (Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml").read_text()
    declaration.write_text(text.replace("  - name: webapp\n", "  - name: webapp\n    vcs_origin: github.com/x/y\n"))
    result = runner.invoke(app, ["rehearse", "--stack", "staging", "--declaration", str(declaration),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    forks = [o for o in json.loads(result.output)["outcomes"] if "webapp" in o["flow"] and "fork" in o["flow"]]
    assert forks and all(o["verdict"] == "ok" and "vcs-origin" in o["layer"] for o in forks)


def test_rehearse_exits_1_when_a_legitimate_flow_is_refused(openbao: OpenBaoServer) -> None:
    # The plain dev listener ignores X-Forwarded-For: every production login comes from 127.0.0.1.
    result = runner.invoke(app, ["rehearse", "--stack", "production", "--vault-addr", openbao.api_addr,
                                 "--vault-token", openbao.root_token, "--format", "json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["summary"]["refused_legitimate"] > 0


def test_rehearse_refuses_an_unknown_stack_with_exit_2() -> None:
    result = runner.invoke(app, ["rehearse", "--stack", "qa"])
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
    assert result.exit_code == 2 and "no such file" in result.output


def test_explain_json_lists_every_secret_path_with_its_readers_and_writers(example_plan: Plan) -> None:
    result = runner.invoke(app, ["explain", "--all", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [a["path"] for a in shown] == [a.path for a in access_matrix(example_plan)]
    assert all(a["readers"] and a["writers"] for a in shown)


def test_explain_mermaid_draws_branch_to_path(example_plan: Plan) -> None:
    result = runner.invoke(app, ["explain", "--stack", "production", "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart LR")
    for path in example_plan.environment("production").secret_store.paths:
        assert f'"{path.data_path}"' in result.output


def test_explain_refuses_an_unknown_stack_with_exit_2() -> None:
    assert runner.invoke(app, ["explain", "--stack", "qa"]).exit_code == 2
