"""Where a declaration comes from: env vars over Pulumi stack config over the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines import DeclarationNotFound, InvalidDeclaration, load_declaration
from secure_pipelines.example_project import DEFAULT_DECLARATION


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "declaration.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(data, handle)
    return path


def test_the_example_file_loads() -> None:
    declaration = load_declaration(DEFAULT_DECLARATION)
    assert [r.name for r in declaration.repositories] == ["webapp", "api"]


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
    with pytest.raises(InvalidDeclaration) as refused:
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
