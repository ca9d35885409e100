"""The infrastructure pipeline's roles, rehearsed like CI roles against a real OpenBao: each stack's role
admits its legitimate job, whose token holds that stack's deployer policy alone and reaches no secret; every
attack one change away (another repository, branch, pull request, stack environment, workflow, address,
audience) is refused by Vault. GitHub Actions in the example's full rehearsal; GitLab CI here."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal

from .conftest import EXAMPLE_PROJECT

REQUIRED_ATTACKS = ("wrong audience", "another project / repository", "feature branch refs/heads/feature/x",
                    "pull request refs/pull/7/merge", "another environment's context / environment",
                    "login from outside the allowlist", "missing context / environment")
PIPELINE_ATTACKS = {"github-actions": ("another workflow file of the repository", "a third-party reusable workflow",
                                       "pull_request_target event"),
                    "gitlab-ci": ("another CI config file of the project", "merge-request pipeline from a branch named",
                                  "unprotected (ref_protected false)", "GitLab-hosted runner")}
"""Attacks on the reviewed pipeline itself, fired at every stack's role whatever its tier."""


def _gitlab_declaration(directory: Path) -> Path:
    yaml = YAML(typ="safe", pure=True)
    values: dict[str, Any] = copy.deepcopy(yaml.load((EXAMPLE_PROJECT / "stacks" / "declaration.yaml").read_text()))
    repo = next(r for r in values["repositories"] if r["name"] == "infrastructure")
    repo["ci"] = {"gitlab_ci": {"project_id": 61000002, "namespace_id": 9912345,
                                "project_path": "acme/infrastructure"}}
    del repo["github_id"]
    values["infrastructure"]["ci"] = "gitlab_ci"
    path = directory / "declaration.yaml"
    with path.open("w") as out:
        yaml.dump(values, out)
    return path


@pytest.fixture(scope="module")
def gitlab_rehearsal(rehearse_example, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Rehearsal]:
    """The resources stack rehearsed alone (it writes every deployer role), its infrastructure on GitLab CI."""
    return rehearse_example("production", _gitlab_declaration(tmp_path_factory.mktemp("infra-gitlab")))


def assert_rehearsed(plan: Plan, rehearsal: Rehearsal) -> None:
    assert plan.infrastructure is not None
    assert rehearsal.escapes == [] and rehearsal.refused_legitimate == []
    for role in plan.infrastructure.roles:
        rows = [o for o in rehearsal.outcomes if o.flow.startswith(f"infrastructure -> {role.environment}:")]
        legitimate = [o for o in rows if o.kind == "legitimate"]
        assert any(o.flow.endswith(": log in") and o.got == "admitted" for o in legitimate), role.role_name
        assert any(f"holds only {role.token_policies[0]}" in o.flow and o.verdict == "ok" for o in legitimate)
        attacks = [o for o in rows if o.kind == "attack"]
        for needle in (*REQUIRED_ATTACKS, *PIPELINE_ATTACKS[role.ci]):
            fired = [o for o in attacks if needle in o.flow]
            assert fired and all(o.got.startswith("refused") and o.verdict == "ok" for o in fired), (role, needle)
        reach = next(o for o in attacks if "secret paths readable or writable" in o.flow)
        assert reach.got.startswith("refused: 0 of")


def test_the_gitlab_infrastructure_roles_admit_their_job_and_refuse_every_attack(
        gitlab_rehearsal: tuple[Plan, Rehearsal]) -> None:
    assert_rehearsed(*gitlab_rehearsal)
