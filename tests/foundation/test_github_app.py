"""The GitHub App permissions the stacks need, derived from the plan (per protection mode and stack)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secure_pipelines import build_plan, parse_declaration
from secure_pipelines.plan.github_app import app_needs, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def _ids(values: dict[str, Any], stacks: tuple[str, ...] | None = None) -> dict[str, str]:
    needs = app_needs(build_plan(parse_declaration(values)), stacks)
    return {p.id: p.access for p in needs.permissions}


def test_per_repository_protection_and_environments_need_repository_administration_only(
        example: dict[str, Any]) -> None:
    assert _ids(example) == {"repository.administration": "write", "repository.actions": "read",
                             "repository.metadata": "read"}


def test_an_organisation_ruleset_needs_organisation_administration(example: dict[str, Any]) -> None:
    example["organization"]["github"]["protection"] = "organization-ruleset"
    assert _ids(example)["organization.administration"] == "write"
    assert "organization.administration" not in _ids(example, ("staging",))


def test_the_installation_reaches_only_the_repositories_the_stacks_write_to(example: dict[str, Any]) -> None:
    needs = app_needs(build_plan(parse_declaration(example)))
    # shop lives on GitLab: nothing to write on GitHub; the infrastructure repository has its protection and
    # deployment environments.
    assert needs.repositories == ("webapp", "api", "infrastructure")


def test_a_stack_that_writes_nothing_on_github_needs_no_app(example: dict[str, Any]) -> None:
    for environment in example["environments"]:
        environment["repositories"] = [r for r in environment["repositories"] if r == "shop"]
        environment.pop("shared_secrets", None)
    del example["infrastructure"]  # its deployment environments are written by each stack
    assert not app_needs(build_plan(parse_declaration(example)), ("staging",)).needed


def test_the_readme_lists_exactly_the_examples_permissions(example: dict[str, Any]) -> None:
    table = markdown_table(app_needs(build_plan(parse_declaration(example))))
    assert table in README.read_text(encoding="utf-8"), f"update the README's GitHub App table to:\n{table}"
