"""Where a declaration comes from: env vars over Pulumi stack config over the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines import DeclarationNotFound, InvalidDeclaration, build_plan, load_declaration, parse_declaration
from secure_pipelines.ci.circleci.plan import circleci_plan
from secure_pipelines.errors import UnreadableFile

DEFAULT_DECLARATION = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "declaration.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(data, handle)
    return path


def test_the_example_file_loads() -> None:
    declaration = load_declaration(DEFAULT_DECLARATION)
    assert [r.name for r in declaration.repositories] == ["webapp", "api", "shop", "infrastructure"]
    assert declaration.infrastructure is not None and declaration.infrastructure.repository == "infrastructure"


def test_pulumi_config_overrides_the_file(example: dict[str, Any], tmp_path: Path) -> None:
    path = write(tmp_path, example)
    declaration = load_declaration(path, pulumi_config={"organization": {"github": {"plan": "enterprise"}}})
    assert declaration.organization.github.plan == "enterprise"
    assert declaration.organization.github.owner == "acme", "a nested override keeps its siblings"


def test_environment_variables_override_pulumi_config(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, example)
    monkeypatch.setenv("SECUREPIPE_ORGANIZATION__GITHUB__PLAN", "pro")
    declaration = load_declaration(path, pulumi_config={"organization": {"github": {"plan": "enterprise"}}})
    assert declaration.organization.github.plan == "pro"


def test_an_environment_variable_mistake_is_reported_like_a_file_mistake(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, example)
    monkeypatch.setenv("SECUREPIPE_ORGANIZATION__GITHUB__PLAN", "platinum")
    with pytest.raises(InvalidDeclaration) as refused:
        load_declaration(path)
    assert any(p.field == "organization.github.plan" and "platinum" in str(p) for p in refused.value.problems)


def test_a_duplicated_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "declaration.yaml"
    path.write_text(DEFAULT_DECLARATION.read_text() + "\nversion: 1\n")
    with pytest.raises(UnreadableFile) as refused:
        load_declaration(path)
    assert "not valid YAML" in str(refused.value) and "version" in str(refused.value)


def test_a_missing_file_names_the_file_and_the_option(tmp_path: Path) -> None:
    with pytest.raises(DeclarationNotFound, match="--declaration"):
        load_declaration(tmp_path / "nowhere.yaml")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "declaration.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(InvalidDeclaration, match="must be a mapping"):
        load_declaration(path)


def test_the_declaration_is_frozen() -> None:
    declaration = load_declaration(DEFAULT_DECLARATION)
    with pytest.raises(Exception, match="frozen"):
        declaration.repositories[0].required_approvals = 1  # type: ignore[misc]


def test_a_ci_section_is_overridden_by_an_environment_variable(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, example)
    org_id = "11111111-2222-4333-8444-555555555555"
    monkeypatch.setenv("SECUREPIPE_CI__CIRCLECI__ORG_ID", org_id)
    declaration = load_declaration(path)
    plan = build_plan(declaration)
    assert plan.mount("circleci").issuer == f"https://oidc.circleci.com/org/{org_id}"
    assert plan.mount("github-actions").issuer == "https://token.actions.githubusercontent.com", "siblings kept"


def test_a_list_in_a_ci_section_is_overridden_by_json_in_an_environment_variable(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, example)
    monkeypatch.setenv("SECUREPIPE_CI__CIRCLECI__CONFIG_POLICY__APPROVED_ORBS", '["circleci/node"]')
    policy = circleci_plan(build_plan(load_declaration(path))).config_policy
    assert policy.approved_orbs == ("circleci/node",)
    assert policy.banned_orb_versions == ("circleci/node@5.0.0",), "siblings kept"


def test_a_ci_section_mistake_from_an_environment_variable_names_the_full_field(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, example)
    monkeypatch.setenv("SECUREPIPE_CI__CIRCLECI__ORG_ID", "not-a-uuid")
    with pytest.raises(InvalidDeclaration) as refused:
        load_declaration(path)
    assert any(p.field == "ci.circleci.org_id" and "UUID" in p.message for p in refused.value.problems)


def test_core_and_ci_section_mistakes_are_reported_together(example: dict[str, Any]) -> None:
    example["organization"]["github"]["plan"] = "platinum"
    del next(r for r in example["repositories"] if r["name"] == "webapp")["ci"]["circleci"]["project_id"]
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(example)
    fields = {p.field for p in refused.value.problems}
    assert {"organization.github.plan", "repositories[webapp].ci.circleci.project_id"} <= fields


VERSION_1 = """\
version: 1
organization: {name: acme, github: {owner: acme, owner_id: 1, plan: team}}
ci: {circleci: {org_id: 6a1f4c2e-0b8d-4c53-9a7e-1d2b3c4d5e6f, contexts: {}}}
repositories: [{name: webapp, github_id: 2, ci: [circleci], circleci_project_id: x}]
"""


@pytest.mark.parametrize("text", [VERSION_1, VERSION_1.replace("version: 1\n", "")], ids=["declared", "implied"])
def test_a_version_1_declaration_is_refused_with_every_move_to_make(text: str, tmp_path: Path) -> None:
    path = tmp_path / "declaration.yaml"
    path.write_text(text)
    with pytest.raises(InvalidDeclaration) as refused:
        load_declaration(path)
    (problem,) = refused.value.problems
    assert problem.field == "version" and "version 1 declarations are no longer read" in problem.message
    for old, new in [
        ("repositories[].circleci_project_id", "repositories[].ci.circleci.project_id"),
        ("ci.circleci.contexts.<environment>", "environments[<environment>].ci.circleci.context"),
        ("pipeline_policy.production_resource_class", "environments[<production>].ci.circleci.runner_resource_class"),
        ("developers[].github_user_id", "developers[].ci.github_actions.user_id"),
    ]:
        assert any(old in line and line.rstrip().endswith(new) for line in problem.message.splitlines()), (old, new)


def test_a_declaration_without_its_version_is_refused() -> None:
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration({"organization": {"name": "acme"}})
    assert any(p.field == "version" and "is required" in p.message for p in refused.value.problems)
