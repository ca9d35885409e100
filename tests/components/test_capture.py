"""``capture_stack``: the real stack program under Pulumi's mocks, any number of times in one process."""

from __future__ import annotations

import gc
import json
import runpy
from pathlib import Path

import pulumi
import pytest

from secure_pipelines.components.collector import REGISTRATION_THRESHOLDS, paced_for_registration
from secure_pipelines.errors import DeclarationNotFound, InvalidDeclaration, UnknownStack
from secure_pipelines.stack import CapturedResource, capture_program, capture_stack, capture_stack_run
from secure_pipelines.stack.capture import PLACEHOLDER_APP_ID, PLACEHOLDER_SECRET

from .conftest import EXAMPLE_PROJECT


def test_capturing_twice_in_one_process_gives_equal_results():
    first = capture_stack("staging", project_dir=EXAMPLE_PROJECT)
    second = capture_stack("staging", project_dir=EXAMPLE_PROJECT)
    assert first == second
    assert all(isinstance(r, CapturedResource) for r in first)


def test_captures_of_different_stacks_do_not_leak_into_each_other():
    production = capture_stack("production", project_dir=EXAMPLE_PROJECT)
    dev = capture_stack("dev", project_dir=EXAMPLE_PROJECT)
    again = capture_stack("production", project_dir=EXAMPLE_PROJECT)
    assert {r.name for r in dev}.isdisjoint({r.name for r in production if r.type_token.startswith("vault:")})
    assert production == again


def test_every_resource_names_a_captured_parent_or_the_stack():
    resources = capture_stack("production", project_dir=EXAMPLE_PROJECT)
    components = {r.name for r in resources if r.type_token.startswith("secure-pipelines:index:")}
    for resource in resources:
        assert resource.parent is None or resource.parent in components, resource


def test_secret_config_is_a_placeholder_marked_secret():
    admin_mount = next(r for r in capture_stack("production", project_dir=EXAMPLE_PROJECT) if r.name == "oidc-admins")
    assert admin_mount.inputs["oidcClientSecret"] == PLACEHOLDER_SECRET
    assert "oidcClientSecret" in admin_mount.secret_keys
    assert "oidcClientId" not in admin_mount.secret_keys


def test_an_unknown_stack_is_refused_with_the_known_environments():
    with pytest.raises(UnknownStack, match=r"'perf'.*dev, qa, staging, production"):
        capture_stack("perf", project_dir=EXAMPLE_PROJECT)


def test_a_missing_declaration_file_is_reported(tmp_path: Path):
    with pytest.raises(DeclarationNotFound, match="no such declaration file"):
        capture_stack("dev", tmp_path / "absent.yaml", project_dir=EXAMPLE_PROJECT)


def test_an_invalid_declaration_is_reported(tmp_path: Path):
    broken = tmp_path / "declaration.yaml"
    broken.write_text("version: 1\norganization: {name: acme}\n", encoding="utf-8")
    with pytest.raises(InvalidDeclaration):
        capture_stack("dev", broken, project_dir=EXAMPLE_PROJECT)


def test_the_program_warnings_are_returned():
    warnings = capture_stack_run("dev", project_dir=EXAMPLE_PROJECT).warnings
    assert any("0.0.0.0/0" in w for w in warnings)


def test_pulumi_up_on_an_unknown_stack_ends_with_a_clean_run_error():
    """Under the Pulumi CLI a RunError prints its message without a traceback."""
    raised: list[BaseException] = []

    def program() -> None:
        try:
            runpy.run_path(str(EXAMPLE_PROJECT / "__main__.py"), run_name="__main__")
        except pulumi.RunError as error:
            raised.append(error)

    capture_program(program, "perf")
    (error,) = raised
    assert "stack 'perf' is not an environment" in str(error)
    assert isinstance(error.__cause__, UnknownStack)


def test_a_stack_reports_only_its_own_environments_warnings():
    assert not any("0.0.0.0/0" in w for w in capture_stack_run("staging", project_dir=EXAMPLE_PROJECT).warnings)
    assert not any("0.0.0.0/0" in w for w in capture_stack_run("production", project_dir=EXAMPLE_PROJECT).warnings)


def test_pulumi_up_reads_what_every_command_reads(user_project, pulumi_up):
    """The stack program, given the config as the Pulumi CLI passes it, registers exactly what the
    commands capture from the stack file through the front door."""
    override = {"admins": {"groups": {"staging": "vault-staging-admins"}}}
    user_project.write_stack("staging", {"secure-pipelines:declaration": override})
    pulumi_cli_config = {
        "secure-pipelines:declaration": json.dumps(override),
        "secure-pipelines:adminOidcClientId": "vault-admins",
        "secure-pipelines:adminOidcClientSecret": PLACEHOLDER_SECRET,
        "secure-pipelines:githubAppId": PLACEHOLDER_APP_ID,
        "secure-pipelines:githubAppInstallationId": PLACEHOLDER_APP_ID,
        "secure-pipelines:githubAppPrivateKey": PLACEHOLDER_SECRET,
    }
    by_pulumi_up = pulumi_up(user_project.root, "staging", pulumi_cli_config,
                             ("secure-pipelines:adminOidcClientSecret", "secure-pipelines:githubAppPrivateKey")
                             ).resources
    by_commands = capture_stack("staging", project_dir=user_project.root)
    assert any("vault-staging-admins" in json.dumps(r.inputs) for r in by_commands), "the override reached it"
    assert by_pulumi_up == tuple(by_commands)


def test_pulumi_up_reads_a_relative_declaration_variable_from_the_project_directory(
    user_project, monkeypatch, pulumi_up,
):
    values = user_project.declaration()
    values["organization"]["name"] = "initech"
    user_project.write_declaration(values, "other/initech.yaml")
    monkeypatch.setenv("SECUREPIPE_DECLARATION", "other/initech.yaml")
    monkeypatch.chdir(user_project.root.parent)
    ran = pulumi_up(user_project.root, "staging")
    assert ran.error is None, ran.error
    assert any(r.name == "staging" for r in ran.resources), "the program read the declaration the variable names"



def test_the_collector_is_paced_for_registration_during_a_capture_and_restored_after():
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    capture_program(lambda: seen.append(gc.get_threshold()), "dev")
    assert seen == [REGISTRATION_THRESHOLDS]
    assert gc.get_threshold() == before != REGISTRATION_THRESHOLDS


def test_overlapping_paced_blocks_keep_the_pace_until_the_last_one_ends():
    before = gc.get_threshold()
    with paced_for_registration():
        with paced_for_registration():
            assert gc.get_threshold() == REGISTRATION_THRESHOLDS
        assert gc.get_threshold() == REGISTRATION_THRESHOLDS
    assert gc.get_threshold() == before
