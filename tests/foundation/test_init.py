"""``securepipe init``: a new project that validates, never an overwritten file, the stack config files
an existing project lacks, and a starting point that stays the worked example but for its ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines.declaration.loader import load_declaration_text
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.project import read_project
from secure_pipelines.scaffold.checks import missing_stack_files, placeholder_fields, placeholders_left
from secure_pipelines.scaffold.model import placeholder_number, placeholder_uuid
from secure_pipelines.scaffold.project import organization_name, project_files
from secure_pipelines.version import compatible_requirement, installed_version

ROOT = Path(__file__).resolve().parents[2]
ID_FIELDS = {"owner_id", "org_id", "github_id", "project_id", "pipeline_definition_id", "namespace_id", "user_id",
             "id"}
EXAMPLE_ONLY = {
    # The worked example shows a public repository deploying through self-hosted runners, which needs an
    # override naming the owner's reason, and production reviewers, which GitHub enforces on a private
    # repository only on Enterprise: a new project gets a private repository and the reviewers commented out.
    "repositories[api].visibility", "repositories[api].overrides", "environments[production].reviewers",
}


def _yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _leaves(values: Any, path: str = "") -> dict[str, Any]:
    """Field path -> value; list items named by their ``name``; lists of scalars are one value."""
    if isinstance(values, dict):
        found: dict[str, Any] = {}
        for key, value in values.items():
            found.update(_leaves(value, f"{path}.{key}" if path else str(key)))
        return found or {path: {}}
    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        found = {}
        for index, item in enumerate(values):
            found.update(_leaves(item, f"{path}[{item.get('name', index)}]"))
        return found
    return {path: values}


def _outside(path: str, excluded: set[str]) -> bool:
    return not any(path == e or path.startswith(e + ".") for e in excluded)


@pytest.fixture(scope="module")
def acme_files() -> dict[str, str]:
    return project_files("acme", "0.1.0")


def test_the_example_is_what_init_writes_for_acme_but_for_its_ids(acme_files: dict[str, str]) -> None:
    example = {p: v for p, v in _leaves(_yaml((ROOT / "stacks" / "declaration.yaml").read_text())).items()
               if _outside(p, EXAMPLE_ONLY)}
    started = {p: v for p, v in _leaves(_yaml(acme_files["stacks/declaration.yaml"])).items()
               if _outside(p, EXAMPLE_ONLY)}
    assert len(example) > 80, "too few fields compared: this test would prove nothing"
    assert sorted(set(example) ^ set(started)) == []
    differing = sorted(p for p in example if example[p] != started[p])
    assert differing, "no id differs: init wrote the example's real-looking ids instead of placeholders"
    assert [p for p in differing if p.rsplit(".", 1)[-1] not in ID_FIELDS] == []


def test_the_examples_stack_files_are_what_init_writes_for_acme(acme_files: dict[str, str]) -> None:
    examples = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert [p.name for p in examples] == sorted(Path(p).name for p in acme_files if "/Pulumi." in p)
    for path in examples:
        assert _yaml(path.read_text()) == _yaml(acme_files[f"stacks/{path.name}"]), path.name


def test_the_repositorys_stack_program_and_project_settings_are_inits(acme_files: dict[str, str]) -> None:
    assert (ROOT / "__main__.py").read_text() == acme_files["__main__.py"]
    ours, theirs = _yaml((ROOT / "Pulumi.yaml").read_text()), _yaml(acme_files["Pulumi.yaml"])
    assert {k: ours[k] for k in ("runtime", "stackConfigDir")} == {k: theirs[k] for k in ("runtime", "stackConfigDir")}


def test_the_new_declaration_validates_and_every_id_is_a_placeholder(acme_files: dict[str, str]) -> None:
    text = acme_files["stacks/declaration.yaml"]
    plan = build_plan(load_declaration_text(text))
    assert {e.name for e in plan.environments} == {"dev", "qa", "staging", "production"}
    ids = {p for p in _leaves(_yaml(text)) if p.rsplit(".", 1)[-1] in ID_FIELDS}
    assert ids and ids <= set(placeholder_fields(_yaml(text)))


def test_each_placeholder_id_says_where_to_find_the_real_one(acme_files: dict[str, str]) -> None:
    lines = [line for line in acme_files["stacks/declaration.yaml"].splitlines()
             if "00000000-0000-4000-8000-" in line or "9000000" in line]
    assert len(lines) >= 15
    assert [line for line in lines if "# placeholder: " not in line] == []


def test_the_requirement_pins_the_running_versions_compatible_range(acme_files: dict[str, str]) -> None:
    assert "secure-pipelines>=0.1.0,<0.2" in acme_files["requirements.txt"].splitlines()


@pytest.mark.parametrize(("installed", "pinned"), [
    ("0.1.0", "secure-pipelines>=0.1.0,<0.2"), ("0.4.2", "secure-pipelines>=0.4.2,<0.5"),
    ("1.3", "secure-pipelines>=1.3.0,<2"), ("2.0.1rc1", "secure-pipelines>=2.0.1,<3"),
])
def test_a_compatible_range_stops_before_the_next_breaking_release(installed: str, pinned: str) -> None:
    assert compatible_requirement(installed) == pinned


@pytest.mark.parametrize(("directory", "name"), [
    ("globex", "globex"), ("Globex_Infra", "globex-infra"), ("2024-infra", None), ("---", None),
])
def test_the_organisation_name_comes_from_the_directory_when_it_can(directory: str, name: str | None) -> None:
    assert organization_name(directory) == name


def test_version_prints_the_installed_version(securepipe, tmp_path: Path) -> None:
    ran = securepipe("--version", cwd=tmp_path)
    assert ran.exit_code == 0
    assert ran.stdout == f"securepipe {installed_version()}\n"


def test_init_writes_every_project_file_and_the_next_steps(securepipe, tmp_path: Path) -> None:
    ran = securepipe("init", "infra", "--organization", "globex", cwd=tmp_path)
    assert ran.exit_code == 0, ran.output
    assert sorted(p.relative_to(tmp_path / "infra").as_posix() for p in (tmp_path / "infra").rglob("*")
                  if p.is_file()) == sorted(project_files("globex", installed_version()))
    assert "securepipe checklist --all" in ran.stdout
    assert read_project(tmp_path / "infra").stack_config_dir == tmp_path / "infra" / "stacks"


def test_init_refuses_to_overwrite_names_the_files_and_writes_nothing(securepipe, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "declaration.yaml").write_text("mine\n")
    (tmp_path / ".gitignore").write_text("mine too\n")
    ran = securepipe("init", "--organization", "globex", cwd=tmp_path)
    assert ran.exit_code == 2
    assert "already has .gitignore, stacks/declaration.yaml; nothing was written" in ran.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".gitignore", "declaration.yaml", "stacks"]
    assert (tmp_path / "stacks" / "declaration.yaml").read_text() == "mine\n"


@pytest.mark.parametrize(("given", "suggested"), [("Acme Corp", "acme-corp"), ("9lives", None)])
def test_init_refuses_an_organisation_name_the_declaration_would_refuse_and_writes_nothing(
    securepipe, tmp_path: Path, given: str, suggested: str | None,
) -> None:
    ran = securepipe("init", "--organization", given, cwd=tmp_path)
    assert ran.exit_code == 2
    assert f"--organization {given!r} is not a name the declaration accepts" in ran.stderr
    assert (f"(e.g. --organization {suggested})" in ran.stderr) is (suggested is not None)
    assert list(tmp_path.iterdir()) == []


def test_init_stacks_writes_only_the_missing_stack_files(securepipe, tmp_path: Path) -> None:
    assert securepipe("init", "--organization", "globex", cwd=tmp_path).exit_code == 0
    production = (tmp_path / "stacks" / "Pulumi.production.yaml").read_text()
    (tmp_path / "stacks" / "Pulumi.staging.yaml").unlink()
    ran = securepipe("init", "--stacks", cwd=tmp_path)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.strip() == "wrote stacks/Pulumi.staging.yaml"
    assert (tmp_path / "stacks" / "Pulumi.production.yaml").read_text() == production
    assert _yaml((tmp_path / "stacks" / "Pulumi.staging.yaml").read_text())["config"]["github:owner"] == "globex"


def test_init_stacks_outside_a_project_says_how_to_start_one(securepipe, tmp_path: Path) -> None:
    ran = securepipe("init", "--stacks", cwd=tmp_path)
    assert ran.exit_code == 2
    assert "holds no Pulumi project" in ran.stderr and "securepipe init" in ran.stderr


def test_a_declared_environment_without_a_stack_file_is_a_warning(user_project) -> None:
    project = read_project(user_project.root)
    (user_project.root / "config" / "Pulumi.staging.yaml").unlink()
    (warning,) = missing_stack_files(project, ["staging", "production"])
    assert warning.field == "environments[staging]" and "securepipe init --stacks" in warning.message


def test_placeholders_left_are_one_warning_naming_the_fields() -> None:
    values = {"ci": {"circleci": {"org_id": placeholder_uuid(1)}},
              "repositories": [{"name": "shop", "github_id": placeholder_number(11)}, {"name": "b", "github_id": 7}]}
    warning = placeholders_left(values)
    assert warning is not None
    assert "2 still hold the placeholders" in warning.message
    assert "ci.circleci.org_id, repositories[shop].github_id" in warning.message
    assert placeholders_left({"organization": {"github": {"owner_id": 91234567}}}) is None
