"""``securepipe resources`` as a reviewer runs it: every resource, secrets masked, mistakes exit 2."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any

import pytest

from secure_pipelines.commands.resources import MASK, shown_inputs
from secure_pipelines.stack import CapturedResource

from .conftest import EXAMPLE_PROJECT, EXAMPLE_STACKS

SECUREPIPE = [sys.executable, "-m", "secure_pipelines"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``securepipe <args>`` in its own process, from the example project's directory."""
    return subprocess.run([*SECUREPIPE, *args], capture_output=True, text=True, timeout=120, check=False,
                          cwd=EXAMPLE_PROJECT)


@functools.cache
def _json(stack: str) -> dict[str, Any]:
    result = run("resources", "--stack", stack, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_json_lists_every_captured_resource_with_its_options(captured, stack):
    listed = _json(stack)["resources"]
    assert [(r["type"], r["name"], r["parent"], r["protect"], r["retainOnDelete"]) for r in listed] == [
        (r.type_token, r.name, r.parent, r.protect, r.retain_on_delete) for r in captured[stack]
    ]


def test_the_admin_client_secret_is_masked_in_json_and_text():
    listed = {r["name"]: r for r in _json("production")["resources"]}
    assert listed["oidc-admins"]["inputs"]["oidcClientSecret"] == MASK
    text = run("resources", "--stack", "production")
    assert text.returncode == 0, text.stderr
    assert "captured-without-credentials" not in text.stdout
    assert f'oidcClientSecret: "{MASK}"' in text.stdout


def test_a_role_body_is_shown_decoded_so_reviewers_see_the_ssh_rerun_binding():
    listed = {r["name"]: r for r in _json("production")["resources"]}
    body = listed["circleci-production.webapp"]["inputs"]["dataJson"]
    assert body["bound_claims"]["oidc.circleci.com/ssh-rerun"] == [False]


def test_text_shows_the_tree_protect_and_retain():
    result = run("resources", "--stack", "staging")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # 15 + shop's GitLab CI role and its policy + the GitHub App's provider
    assert lines[0] == "stack staging: 20 resources"
    assert "    kv-staging  (vault:index/mount:Mount)  [protect, retain]" in lines
    assert "staging  (secure-pipelines:index:Environment)" in lines


def test_an_unknown_stack_exits_2_naming_the_environments_without_a_traceback():
    result = run("resources", "--stack", "perf")
    assert result.returncode == 2
    assert "stack 'perf' is not an environment" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_declaration_exits_2_with_every_problem(tmp_path):
    broken = tmp_path / "declaration.yaml"
    broken.write_text("version: 1\norganization: {name: acme}\n", encoding="utf-8")
    result = run("resources", "--stack", "dev", "--declaration", str(broken))
    assert result.returncode == 2
    assert "InvalidDeclaration" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_missing_declaration_exits_2(tmp_path):
    result = run("resources", "--stack", "dev", "--declaration", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "no such declaration file" in result.stderr


def test_any_secret_input_is_masked_whatever_its_type():
    resource = CapturedResource(
        type_token="vault:generic/endpoint:Endpoint", name="x",
        inputs={"path": "kv/data/x", "dataJson": '{"password": "hunter2"}'},
        parent=None, protect=False, retain_on_delete=False, secret_keys=frozenset({"dataJson"}),
    )
    assert shown_inputs(resource) == {"dataJson": MASK, "path": "kv/data/x"}
