"""The setup checklist: complete against what the rendered files expect (read from the files, not from a
hand list), in the order to work through it, one stable id per step, per stack, as Markdown and JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines.checklist.build import checklist, for_stacks
from secure_pipelines.checklist.formats import as_json, as_markdown
from secure_pipelines.checklist.steps import PHASE_ORDER, Phase, Setup, Step
from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.plan import Plan
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.plan.github_app import app_needs
from secure_pipelines.render.files import render_files
from secure_pipelines.scaffold.checks import placeholder_fields
from secure_pipelines.scaffold.model import placeholder_uuid
from secure_pipelines.scaffold.project import project_files

from .conftest import EXAMPLE_SOURCE, PlanVariant
from .test_infrastructure_pipeline import on_gitlab

SHELL_VARIABLE = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
ASSIGNED = re.compile(r"\b([A-Z][A-Z0-9_]*)=")
EXPRESSION_VARIABLE = re.compile(r"\b(?:vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)")
SET_BY_THE_CI_SYSTEM = ("CIRCLE_", "CI_", "GITLAB_", "GITHUB_", "ACTIONS_ID_TOKEN_REQUEST_")
"""Variables every job gets from its CI system (documented built-ins), so nobody sets them by hand."""
DEFINED_BY_THE_FILE = ("env", "variables", "id_tokens")
"""Mappings whose keys a rendered file sets itself."""
EXPORTED_BY_ACTIONS = {"exportToken": "VAULT_TOKEN"}
"""Inputs of an action step (``with:``) that make it export a variable (hashicorp/vault-action's README)."""


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key), value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def expected_by(path: str, text: str) -> dict[str, set[str]]:
    """What a rendered pipeline file needs set up by hand: contexts, runner classes, runner labels or tags,
    and the variables it reads that neither it nor its CI system sets."""
    document = YAML(typ="safe", pure=True).load(text)
    pairs = list(_walk(document))
    defined = {str(k) for key, value in pairs if key in DEFINED_BY_THE_FILE and isinstance(value, dict) for k in value}
    defined |= {EXPORTED_BY_ACTIONS[k] for key, value in pairs if key == "with" and isinstance(value, dict)
                for k in value if k in EXPORTED_BY_ACTIONS and value[k] is True}
    variables = set(SHELL_VARIABLE.findall(text)) - set(ASSIGNED.findall(text)) - defined
    variables |= set(EXPRESSION_VARIABLE.findall(text)) - {"GITHUB_TOKEN"}
    found: dict[str, set[str]] = {
        "variable": {v for v in variables if not v.startswith(SET_BY_THE_CI_SYSTEM)},
        "context": {value for key, value in pairs if key == "context" and isinstance(value, str)},
        "runner class": {value for key, value in pairs if key == "resource_class" and isinstance(value, str)},
        "runner label": {label for key, value in pairs if key == "runs-on" and isinstance(value, list)
                         for label in value if label != "self-hosted"},
        "runner tag": {tag for key, value in pairs if key == "tags" and isinstance(value, list) for tag in value},
    }
    return {kind: names for kind, names in found.items() if names}


SYSTEM_OF_FILE = {".circleci/": "circleci", ".github/": "github-actions", ".gitlab-ci": "gitlab-ci"}


def _said_for(path: str, steps: list[Step]) -> tuple[set[str], set[str]]:
    """The value names and the values (lists split into items) of the steps the file's own CI system gives
    for its repository, its environments or itself."""
    repository = path.split("/")[1]
    (system,) = [name for marker, name in SYSTEM_OF_FILE.items() if marker in path]
    relevant = [s for s in steps if s.id.startswith(system + ".") and
                (s.scope.kind != "repository" or s.scope.name == repository)]
    names = {value.name.split(" ")[0] for step in relevant for value in step.values}
    values = {item for step in relevant for value in step.values for item in value.value.split(", ")}
    return names, values


@pytest.fixture(scope="module")
def example_steps(example_plan: Plan) -> list[Step]:
    return checklist(Setup(example_plan, {"production": "https://vault.acme.example:8200"}))


def test_the_checklist_names_everything_the_rendered_pipelines_expect(example_files: dict[str, str],
                                                                       example_steps: list[Step]) -> None:
    pipelines = {p: t for p, t in example_files.items() if p.startswith("repositories/") and
                 p.endswith((".yml", ".yaml")) and "actionlint" not in p}
    assert len(pipelines) == 4, sorted(pipelines)  # the infrastructure repository's included
    expected = {(kind, name, path) for path, text in pipelines.items()
                for kind, names in expected_by(path, text).items() for name in names}
    kinds = {kind for kind, _, _ in expected}
    assert kinds == {"variable", "context", "runner class", "runner label", "runner tag"}, kinds
    assert {name for kind, name, _ in expected if kind == "variable"} >= {"VAULT_ADDR", "IMAGE_REPOSITORY"}
    missing = []
    for kind, name, path in sorted(expected):
        names, values = _said_for(path, example_steps)
        if name not in (names if kind == "variable" else values):
            missing.append((kind, name, path))
    assert missing == []


def test_the_file_reader_finds_what_a_pipeline_adds() -> None:
    text = ("jobs:\n  deploy:\n    runs-on: [self-hosted, qa]\n    env:\n      A: ${{ vars.NEW_VARIABLE }}\n"
            "    steps:\n      - run: echo \"$A $OTHER ${CIRCLE_SHA1}\"; LOCAL=1; echo $LOCAL\n")
    assert expected_by("deploy.yml", text) == {"variable": {"NEW_VARIABLE", "OTHER"}, "runner label": {"qa"}}


def test_every_step_has_a_unique_stable_id_a_title_and_somewhere_to_do_it(example_steps: list[Step]) -> None:
    ids = [step.id for step in example_steps]
    assert len(ids) > 40
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*(\.[A-Za-z0-9_-]+)+", i) for i in ids), ids
    assert [s.id for s in example_steps if not (s.title and s.where)] == []


def test_steps_come_phase_by_phase_and_the_resources_stack_is_applied_first(example_plan: Plan,
                                                                            example_steps: list[Step]) -> None:
    phases = [PHASE_ORDER.index(step.phase) for step in example_steps]
    assert phases == sorted(phases)
    applied = [step.environment for step in example_steps if step.phase is Phase.APPLY]
    assert applied[0] == example_plan.resources_stack
    assert set(applied) == {e.name for e in example_plan.environments}


def test_each_ci_system_and_each_scope_contributes(example_steps: list[Step]) -> None:
    assert {step.id.split(".")[0] for step in example_steps} >= {"circleci", "github-actions", "gitlab-ci", "github",
                                                                 "vault", "admins", "apply", "secrets", "verify"}
    assert {step.scope.kind for step in example_steps} == {"organization", "ci", "repository", "environment"}


def test_a_stacks_checklist_holds_its_environments_steps_and_the_resources_stack_the_organisations(
        example_plan: Plan, example_steps: list[Step]) -> None:
    staging = for_stacks(example_steps, ["staging"], example_plan.resources_stack)
    assert staging and {s.environment for s in staging} == {"staging"}
    assert "circleci.context-expression.staging" in {s.id for s in staging}
    production = for_stacks(example_steps, ["production"], example_plan.resources_stack)
    assert {"circleci.config-policies", "vault.forwarded-for"} <= {s.id for s in production}


def test_a_placeholder_id_is_flagged_in_its_step(plan_variant) -> None:
    plan = plan_variant(lambda values: values["ci"]["circleci"].update(org_id=placeholder_uuid(1)))
    (step,) = [s for s in checklist(Setup(plan)) if s.id == "circleci.org-id"]
    assert "still the placeholder securepipe init wrote" in step.values[0].value


def test_every_placeholder_of_a_new_project_the_checklist_shows_is_flagged() -> None:
    """What `securepipe validate` counts as placeholders, the checklist flags wherever it asks for the id
    (GitLab's ids included: its plan keeps them as the strings its claims carry)."""
    values = YAML(typ="safe", pure=True).load(project_files("acme", "0.1.0")["stacks/declaration.yaml"])
    steps = checklist(Setup(build_plan(parse_declaration(values))))
    shown = {v.name for s in steps for v in s.values}
    flagged = {v.name for s in steps for v in s.values if "still the placeholder securepipe init wrote" in v.value}
    assert flagged == set(placeholder_fields(values)) & shown
    assert {f for f in flagged if ".gitlab_ci." in f} >= {"repositories[shop].ci.gitlab_ci.project_id",
                                                           "developers[lin].ci.gitlab_ci.user_id"}


def test_markdown_is_a_task_list_with_every_step_once_and_json_the_same_steps(example_steps: list[Step]) -> None:
    markdown = as_markdown(example_steps, "acme", ["dev", "staging", "production"])
    assert markdown.count("- [ ] **") == len(example_steps)
    assert all(f"(`{step.id}`)" in markdown for step in example_steps)
    assert "## 1. " in markdown and "### Environment production" in markdown
    records = json.loads(as_json(example_steps, "acme", ["dev", "staging", "production"]))["steps"]
    assert [r["id"] for r in records] == [s.id for s in example_steps]
    assert {"exact", "name", "value"} == set(records[0]["values"][0])


def test_the_command_reads_the_stacks_and_prints_json(securepipe, user_project) -> None:
    ran = securepipe("checklist", "-s", "staging", "-f", "json", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    document = json.loads(ran.stdout)
    assert document["stacks"] == ["staging"]
    steps = {step["id"]: step for step in document["steps"]}
    assert "circleci.context-variables.staging" in steps and "circleci.config-policies" not in steps
    assert {"name": "VAULT_ADDR", "value": "https://vault.globex.example:8200", "exact": True} in \
        steps["circleci.context-variables.staging"]["values"]


def test_the_github_app_is_created_with_exactly_the_permissions_and_repositories_the_stacks_need(
        example_plan: Plan, example_steps: list[Step]) -> None:
    needs = app_needs(example_plan)
    assert needs.permissions and needs.repositories
    steps = {step.id: step for step in example_steps}
    granted = {(value.name, value.value) for value in steps["github.app"].values}
    assert granted == {(f'{p.scope.capitalize()} "{p.name}"', p.access) for p in needs.permissions}
    (repositories,) = [v.value for v in steps["github.app-installation"].values if v.name == "repositories"]
    assert repositories.split(", ") == list(needs.repositories)
    keyed = {s.environment for s in example_steps if s.phase is Phase.APPLY
             for v in s.values if "githubAppPrivateKey" in v.value}
    assert keyed and keyed == {e.name for e in example_plan.environments if app_needs(example_plan, [e.name]).needed}


def test_the_checklist_names_what_the_gitlab_infrastructure_pipeline_expects(plan_variant: PlanVariant) -> None:
    plan = plan_variant(on_gitlab)
    assert plan.infrastructure is not None
    path = "repositories/infrastructure/.gitlab-ci.yml"
    text = render_files(plan, EXAMPLE_SOURCE)[path]
    steps = checklist(Setup(plan, {"production": "https://vault.acme.example:8200"}))
    names, values = _said_for(path, steps)
    expected = expected_by(path, text)
    assert expected["runner tag"] == {"infrastructure"}
    assert [(kind, name) for kind, found in expected.items() for name in found
            if name not in (names if kind == "variable" else values)] == []
    assert {f"gitlab-ci.infrastructure-environment.infrastructure.{stack}" for stack in plan.infrastructure.stacks} \
        <= {step.id for step in steps}
