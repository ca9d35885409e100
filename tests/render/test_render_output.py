"""``securepipe render`` keeps the output directory in step with the declaration: a manifest of what
it generated, stale files removed (only its own, only if unedited), ``--check`` for CI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from secure_pipelines.render.output import MANIFEST_NAME

SHOP_CONFIG = "repositories/shop/.circleci/config.yml"
BILLING_WORKFLOW = "repositories/billing/.github/workflows/deploy.yml"


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def rendered(user_project, securepipe) -> Path:
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    return user_project.root / "out"


def _without_billing(user_project) -> None:
    values = user_project.declaration()
    values["repositories"] = [r for r in values["repositories"] if r["name"] != "billing"]
    for environment in values["environments"]:
        environment["repositories"].remove("billing")
    user_project.write_declaration(values)


def test_the_manifest_lists_every_generated_file_with_its_sha256_and_the_declaration(rendered: Path) -> None:
    manifest = json.loads((rendered / MANIFEST_NAME).read_text())
    files = {path: content for path, content in _files(rendered).items() if path != MANIFEST_NAME}
    assert manifest["declaration"] == "stacks/declaration.yaml"
    assert manifest["files"] == {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}
    assert SHOP_CONFIG in manifest["files"] and BILLING_WORKFLOW in manifest["files"]


def test_check_after_a_render_exits_0_and_writes_nothing(rendered: Path, user_project, securepipe) -> None:
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in rendered.rglob("*") if p.is_file()}
    ran = securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout == "" and "out is in step with the declaration" in ran.stderr
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in rendered.rglob("*") if p.is_file()} == before


def test_check_after_a_declaration_change_exits_1_with_a_unified_diff(rendered: Path, user_project,
                                                                       securepipe) -> None:
    values = user_project.declaration()
    values["pipeline_policy"]["required_security_jobs"] = ["security-scan", "sast"]
    user_project.write_declaration(values)
    before = _files(rendered)
    ran = securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root)
    assert ran.exit_code == 1
    assert f"--- a/{SHOP_CONFIG}\n+++ b/{SHOP_CONFIG}\n" in ran.stdout
    assert "\n+  sast:\n" in ran.stdout
    assert "changed" in ran.stderr and "run securepipe render --all" in ran.stderr
    assert _files(rendered) == before, "--check writes nothing"
    assert securepipe("render", "--all", "-o", "out", cwd=user_project.root).exit_code == 0
    assert securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root).exit_code == 0


def test_check_of_a_missing_output_directory_lists_every_file_as_missing(user_project, securepipe) -> None:
    ran = securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root)
    assert ran.exit_code == 1
    assert f"--- /dev/null\n+++ b/{SHOP_CONFIG}\n" in ran.stdout
    assert not (user_project.root / "out").exists()


def test_a_removed_repositorys_files_disappear_while_unrelated_files_stay(rendered: Path, user_project,
                                                                           securepipe) -> None:
    (rendered / "NOTES.md").write_text("ours, not generated\n")
    (rendered / "repositories" / "billing" / "README.md").write_text("also ours\n")
    _without_billing(user_project)
    check = securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root)
    assert check.exit_code == 1 and f"--- a/{BILLING_WORKFLOW}\n+++ /dev/null\n" in check.stdout
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert f"removed out/{BILLING_WORKFLOW} (no longer rendered)" in ran.stdout
    files = _files(rendered)
    assert not [p for p in files if p.startswith("repositories/billing/.github")]
    assert files["NOTES.md"] == b"ours, not generated\n"
    assert files["repositories/billing/README.md"] == b"also ours\n"
    assert not (rendered / "repositories" / "billing" / ".github").exists(), "emptied directories go too"
    assert BILLING_WORKFLOW not in json.loads((rendered / MANIFEST_NAME).read_text())["files"]


def test_a_stale_file_edited_by_hand_is_reported_and_kept(rendered: Path, user_project, securepipe) -> None:
    workflow = rendered / BILLING_WORKFLOW
    workflow.write_text(workflow.read_text() + "# a hand edit\n")
    _without_billing(user_project)
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert workflow.exists()
    assert f"warning: out/{BILLING_WORKFLOW} is no longer rendered but is not as it was rendered" in ran.stderr
    assert securepipe("render", "--all", "-o", "out", "--check", cwd=user_project.root).exit_code == 1


def test_a_render_of_one_stack_leaves_the_other_environments_files_alone(rendered: Path, user_project,
                                                                         securepipe) -> None:
    production = {p: c for p, c in _files(rendered).items() if p.startswith("vault/production/")}
    assert production
    ran = securepipe("render", "-s", "staging", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert {p: c for p, c in _files(rendered).items() if p.startswith("vault/production/")} == production
    assert set(production) <= set(json.loads((rendered / MANIFEST_NAME).read_text())["files"])


def test_a_manifest_naming_a_path_outside_the_output_is_refused_and_nothing_is_removed(
    rendered: Path, user_project, securepipe, tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    manifest = json.loads((rendered / MANIFEST_NAME).read_text())
    manifest["files"]["../../victim.txt"] = hashlib.sha256(b"keep me\n").hexdigest()
    (rendered / MANIFEST_NAME).write_text(json.dumps(manifest))
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 2
    assert "'../../victim.txt', which is not inside the output directory" in ran.stderr
    assert victim.read_text() == "keep me\n"


def test_a_stale_path_that_is_a_link_out_of_the_directory_is_kept(rendered: Path, user_project, securepipe,
                                                                  tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yml"
    workflow = rendered / BILLING_WORKFLOW
    outside.write_bytes(workflow.read_bytes())
    workflow.unlink()
    os.symlink(outside, workflow)
    _without_billing(user_project)
    ran = securepipe("render", "--all", "-o", "out", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert outside.exists() and workflow.is_symlink()
    assert "(edited, or not a plain file), so it was kept" in ran.stderr
