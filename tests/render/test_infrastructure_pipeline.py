"""The infrastructure repository's own pipeline: pull requests are checked with no credential at all; the
default branch applies each stack in order, the resources stack first, each job in the stack's environment,
logged in through that stack's deployer role, its Vault token given to ``pulumi up`` alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines.plan import Plan
from secure_pipelines.render.files import render_files

from .conftest import EXAMPLE_SOURCE, PlanVariant, tool

WORKFLOW = "repositories/infrastructure/.github/workflows/infrastructure.yml"
GITLAB_CONFIG = "repositories/infrastructure/.gitlab-ci.yml"


def _load(text: str) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(text)


def on_gitlab(values: dict[str, Any]) -> None:
    """The example with its infrastructure repository on GitLab CI."""
    repo = next(r for r in values["repositories"] if r["name"] == "infrastructure")
    repo["ci"] = {"gitlab_ci": {"project_id": 61000002, "namespace_id": 9912345,
                                "project_path": "acme/infrastructure"}}
    del repo["github_id"]
    values["infrastructure"]["ci"] = "gitlab_ci"


@pytest.fixture(scope="module")
def gitlab_files(plan_variant: PlanVariant) -> dict[str, str]:
    return render_files(plan_variant(on_gitlab), EXAMPLE_SOURCE)


def test_the_infrastructure_repository_gets_only_its_infrastructure_pipeline(example_files: dict[str, str]) -> None:
    assert sorted(p for p in example_files if p.startswith("repositories/infrastructure/")) == [
        "repositories/infrastructure/.github/actionlint.yaml", WORKFLOW]


def test_changes_are_checked_without_any_credential(example_files: dict[str, str]) -> None:
    jobs = _load(example_files[WORKFLOW])["jobs"]
    checks = jobs["test"]
    assert "if" not in checks and "permissions" not in checks and "environment" not in checks  # contents: read
    scan = jobs["security-scan"]
    assert scan["steps"][1]["run"] == "make security-scan" and "permissions" not in scan
    script = checks["steps"][1]["run"]
    for command in ("securepipe validate --all", "securepipe render --all --check",
                    'securepipe diff --all --base "origin/$BASE_REF"', "securepipe resources --stack production"):
        assert command in script
    assert "VAULT" not in script and "pulumi " not in script and "secrets." not in example_files[WORKFLOW]


def test_the_default_branch_applies_each_stack_in_order_with_its_own_role(
        example_plan: Plan, example_files: dict[str, str]) -> None:
    assert example_plan.infrastructure is not None
    jobs = _load(example_files[WORKFLOW])["jobs"]
    previous = None
    for role in example_plan.infrastructure.roles:
        job = jobs[f"apply-{role.environment}"]
        assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
        assert job["needs"] == ([previous] if previous else ["test", "security-scan"])
        assert job["environment"] == role.environment
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert job["steps"][2]["shell"] == "bash"
        script = job["steps"][2]["run"]
        assert f"role='{role.role_name}'" in script and f"auth/{role.mount_path}/login" in script
        assert f"audience={role.bound_audiences[0]}" in script
        # The token reaches pulumi alone, through its environment (never an argument), and is revoked on exit.
        assert script.count("VAULT_TOKEN=") == 1 and "export" not in script
        assert f"VAULT_TOKEN=\"$vault_token\" pulumi up --yes --non-interactive --stack '{role.environment}'" in script
        assert "trap end_job EXIT" in script and "vault POST auth/token/revoke-self" in script
        previous = f"apply-{role.environment}"


def test_the_gitlab_infrastructure_pipeline_passes_gitlabs_schema(
        gitlab_files: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(gitlab_files[GITLAB_CONFIG])
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_on_gitlab_only_apply_jobs_of_the_protected_default_branch_get_an_id_token(
        plan_variant: PlanVariant, gitlab_files: dict[str, str]) -> None:
    config = _load(gitlab_files[GITLAB_CONFIG])
    assert "id_tokens" not in config["test"] and "id_tokens" not in config["security-scan"]
    assert config["workflow"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'},
                                           {"if": '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"'}]
    plan = plan_variant(on_gitlab)
    assert plan.infrastructure is not None
    assert [r.environment for r in plan.infrastructure.roles] == ["production", "dev", "qa", "staging"]
    for index, role in enumerate(plan.infrastructure.roles):
        job = config[f"apply-{role.environment}"]
        assert job["rules"] == [{"if": '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"'}]
        assert job["needs"] == ([f"apply-{plan.infrastructure.roles[index - 1].environment}"] if index
                                else ["test", "security-scan"])
        assert job["environment"]["name"] == role.environment and job["tags"] == ["infrastructure"]
        assert job["id_tokens"]["VAULT_ID_TOKEN"]["aud"] == role.bound_audiences[0]
        assert role.claims["ci_config_ref_uri"] == ("gitlab.com/acme/infrastructure//.gitlab-ci.yml@refs/heads/main",)
        assert role.claims["environment_protected"] == ("true",) and role.claims["ref_protected"] == ("true",)
