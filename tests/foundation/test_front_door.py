"""The front door, from a user's own Pulumi project in a temporary directory (not this repository):
every command reads the declaration ``pulumi up`` would read, says which, and sees the same thing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

COMMANDS = (
    ("validate", "-s", "staging"),
    ("render", "-s", "staging", "-o", "out"),
    ("explain", "-s", "staging", "-f", "json"),
    ("resources", "-s", "staging", "-f", "json"),
)


def _environment(values: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in values["environments"] if e["name"] == name)


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_each_command_reads_the_projects_declaration_and_says_so(user_project, securepipe, command) -> None:
    ran = securepipe(*command, cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    first = ran.stderr.splitlines()[0]
    assert first == ("read declaration stacks/declaration.yaml (the project's default); stack config "
                     "config/Pulumi.staging.yaml; 0 SECUREPIPE_ overrides")


def test_what_a_command_read_is_said_on_stderr_so_stdout_stays_its_output(user_project, securepipe) -> None:
    ran = securepipe("explain", "-s", "production", "-f", "json", cwd=user_project.root)
    assert [access["path"] for access in json.loads(ran.stdout)] == [
        "kv-production/data/apps/shop", "kv-production/data/apps/billing"]


def test_a_subdirectory_of_the_project_finds_the_project_above_it(user_project, securepipe) -> None:
    (user_project.root / "docs").mkdir()
    ran = securepipe("validate", cwd=user_project.root / "docs")
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.startswith("read declaration ../stacks/declaration.yaml (the project's default); "
                                 "stack config ../config/Pulumi.staging.yaml, ../config/Pulumi.production.yaml;")
    assert ran.stdout.startswith("ok: 2 repositories, 2 environments [staging (staging), production (production)]")


def test_the_bundled_example_is_never_read_outside_a_project(tmp_path: Path, securepipe) -> None:
    ran = securepipe("validate", cwd=tmp_path)
    assert ran.exit_code == 2
    message = " ".join(ran.stderr.split())
    assert "no declaration found" in message and "Pulumi.yaml" in message and str(tmp_path) in message
    assert "securepipe init" in message and "--declaration FILE" in message
    assert "Traceback" not in ran.output


def test_a_project_without_its_declaration_file_names_the_file_and_the_fixes(user_project, securepipe) -> None:
    (user_project.root / "stacks" / "declaration.yaml").unlink()
    ran = securepipe("explain", "--all", cwd=user_project.root)
    assert ran.exit_code == 2
    message = " ".join(ran.stderr.split())
    assert "stacks/declaration.yaml: no such declaration file in the Pulumi project" in message
    assert "securepipe init" in message and "secure-pipelines:declarationFile" in message


def test_the_stacks_declaration_file_is_read_relative_to_the_project(user_project, securepipe) -> None:
    values = user_project.declaration()
    values["organization"]["name"] = "initech"
    user_project.write_declaration(values, "other/initech.yaml")
    user_project.write_stack("staging", {"secure-pipelines:declarationFile": "other/initech.yaml"})
    (user_project.root / "docs").mkdir()
    ran = securepipe("explain", "-s", "staging", "-f", "json", cwd=user_project.root / "docs")
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.startswith("read declaration ../other/initech.yaml (secure-pipelines:declarationFile in "
                                 "../config/Pulumi.staging.yaml)")


def test_the_environment_variable_beats_the_project_and_the_option_beats_both(
    user_project, securepipe, tmp_path: Path,
) -> None:
    named = user_project.write_declaration(user_project.declaration(), "variants/named.yaml")
    given = user_project.write_declaration(user_project.declaration(), "variants/given.yaml")
    by_env = securepipe("validate", cwd=user_project.root, env={"SECUREPIPE_DECLARATION": "variants/named.yaml"})
    assert by_env.stderr.startswith("read declaration variants/named.yaml (SECUREPIPE_DECLARATION)")
    by_option = securepipe("validate", "-d", str(given), cwd=user_project.root,
                           env={"SECUREPIPE_DECLARATION": str(named)})
    assert by_option.stderr.startswith("read declaration variants/given.yaml (--declaration)")


def test_the_number_of_overrides_is_said_with_their_names(user_project, securepipe) -> None:
    ran = securepipe("explain", "--all", "-f", "json", cwd=user_project.root,
                     env={"SECUREPIPE_ADMINS__GROUPS__PRODUCTION": "vault-owners"})
    assert ran.exit_code == 0, ran.output
    groups = {a["environment"]: {w["group"] for w in a["writers"]} for a in json.loads(ran.stdout)}
    assert groups["production"] == {"vault-owners"}
    assert "; 1 SECUREPIPE_ override (SECUREPIPE_ADMINS__GROUPS__PRODUCTION)" in ran.stderr.splitlines()[0]


def test_a_variable_that_misses_the_prefix_is_named_as_ignored(user_project, securepipe) -> None:
    ran = securepipe("validate", cwd=user_project.root,
                     env={"SECUREPIPES_ADMINS__GROUPS__PRODUCTION": "vault-owners", "SECURE_PIPE_X": "1"})
    assert ran.exit_code == 0, ran.output
    first = ran.stderr.splitlines()[0]
    assert first.endswith("; 0 SECUREPIPE_ overrides; ignored, not spelled SECUREPIPE_...: SECUREPIPES_ADMINS__"
                          "GROUPS__PRODUCTION, SECURE_PIPE_X"), first


def _override_staging(user_project, change: Callable[[dict[str, Any]], None]) -> None:
    """Set the staging stack's ``secure-pipelines:declaration`` object to the declaration's
    environments, changed by ``change``."""
    environments = user_project.declaration()["environments"]
    change(_environment({"environments": environments}, "staging"))
    user_project.write_stack("staging", {"secure-pipelines:declaration": {"environments": environments}})


def test_a_stack_config_override_changes_what_every_command_sees_identically(user_project, securepipe) -> None:
    _override_staging(user_project, lambda env: env.update(ip_allowlist=["192.0.2.0/26"]))
    root = user_project.root
    resources = json.loads(securepipe("resources", "-s", "staging", "-f", "json", cwd=root).stdout)["resources"]
    body = next(r for r in resources if r["name"] == "circleci-staging.shop")["inputs"]["dataJson"]
    explained = json.loads(securepipe("explain", "-s", "staging", "-f", "json", cwd=root).stdout)
    rehearsed = json.loads(securepipe("rehearse", "-s", "staging", "-f", "json", cwd=root).stdout)
    assert body["token_bound_cidrs"] == ["192.0.2.0/26"]
    assert {tuple(r["cidrs"]) for a in explained for r in a["readers"]} == {("192.0.2.0/26",)}
    logins = [o for o in rehearsed["outcomes"] if o["kind"] == "legitimate" and "log in" in o["flow"]]
    assert logins and all("(192.0.2.0/26)" in o["flow"] and o["verdict"] == "ok" for o in logins)
    assert rehearsed["passed"]


@pytest.mark.parametrize("command", [
    ("validate", "-s", "staging"), ("render", "-s", "staging", "-o", "out"), ("explain", "-s", "staging"),
    ("resources", "-s", "staging"), ("rehearse", "-s", "staging"),
], ids=lambda c: c[0])
def test_a_stack_override_that_breaks_the_declaration_is_refused_by_every_command_alike(
    user_project, securepipe, command,
) -> None:
    _override_staging(user_project, lambda env: env.update(ip_allowlist=["0.0.0.0/0"]))
    ran = securepipe(*command, cwd=user_project.root)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines()[1:] == [
        "InvalidDeclaration: 1 problem(s)",
        "  - environments[staging].ip_allowlist: 0.0.0.0/0: admits every address; a staging allowlist must list "
        "your runners' egress ranges",
    ]
    assert not (user_project.root / "out").exists()


@pytest.mark.parametrize("command", [
    ("validate",), ("render", "--all", "-o", "out"), ("explain", "--all"), ("rehearse", "--all"),
    ("resources", "-s", "perf"), ("validate", "-s", "perf"),
], ids=" ".join)
def test_a_stack_file_naming_no_environment_is_one_error_worded_alike(user_project, securepipe, command) -> None:
    user_project.write_stack("perf", {"vault:address": "https://vault.globex.example:8200"})
    ran = securepipe(*command, cwd=user_project.root)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines()[-1] == (
        "error: stack 'perf' is not an environment of the declaration (known: staging, production); name each "
        "stack after an environment (Pulumi.<environment>.yaml, `pulumi stack select <environment>`)")


def test_stacks_that_disagree_on_a_shared_output_stop_with_the_stacks_and_the_field(user_project, securepipe) -> None:
    user_project.write_stack("staging", {"secure-pipelines:declaration": {
        "pipeline_policy": {"required_security_jobs": ["security-scan", "sast"]}}})
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 2
    message = " ".join(ran.stderr.split())
    assert "stacks production and staging read different declarations" in message
    assert "pipeline_policy.required_security_jobs" in message
    assert "repositories/shop/.circleci/config.yml" in message
    assert not (user_project.root / "out").exists()


def test_a_stack_override_nothing_shared_depends_on_is_each_stacks_own(user_project, securepipe) -> None:
    user_project.write_stack("production", {"secure-pipelines:declaration": {
        "admins": {"ip_allowlist": ["192.0.2.160/28"]}}})
    ran = securepipe("explain", "--all", "-f", "json", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    cidrs = {a["environment"]: {c for w in a["writers"] for c in w["cidrs"]} for a in json.loads(ran.stdout)}
    assert cidrs == {"staging": {"192.0.2.128/28"}, "production": {"192.0.2.160/28"}}


def test_a_declaration_file_every_stack_names_is_said_once(user_project, securepipe) -> None:
    user_project.write_declaration(user_project.declaration(), "org/declaration.yaml")
    (user_project.root / "stacks" / "declaration.yaml").unlink()
    for stack in ("staging", "production"):
        user_project.write_stack(stack, {"secure-pipelines:declarationFile": "org/declaration.yaml"})
    ran = securepipe("explain", "--all", "-f", "json", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.startswith("read declaration org/declaration.yaml (secure-pipelines:declarationFile in each "
                                 "stack's config); stack config config/Pulumi.staging.yaml, "
                                 "config/Pulumi.production.yaml; 0 SECUREPIPE_ overrides")
