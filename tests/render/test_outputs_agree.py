"""Outputs checked against each other: a declaration whose own rendered config policy would refuse
the pipeline it renders is refused, with the rule, the jobs and the field to change, by every
command and by the stack program alike, before anything is written."""

from __future__ import annotations

import re

import pytest

from secure_pipelines.ci.circleci.policy.for_plan import plan_policies
from secure_pipelines.errors import InvalidDeclaration
from secure_pipelines.plan import Plan
from secure_pipelines.render.agreement import disagreements

MYCORP_ONLY = ["ghcr.io/mycorp/"]


def _registries(user_project, registries: list[str], **rules: str) -> None:
    values = user_project.declaration()
    values["pipeline_policy"]["approved_registries"] = registries
    if rules:
        values["ci"]["circleci"]["config_policy"] = {"rules": rules}
    user_project.write_declaration(values)


def test_the_issues_registries_mismatch_fails_validation_with_its_message(user_project, securepipe) -> None:
    _registries(user_project, MYCORP_ONLY)
    ran = securepipe("validate", cwd=user_project.root)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines()[1] == "InvalidDeclaration: 1 problem(s)"
    (problem,) = ran.stderr.splitlines()[2:]
    assert problem.startswith("  - pipeline_policy.approved_registries: ['ghcr.io/mycorp/']: rule "
                              "images_from_approved_registries of the rendered CircleCI config policy refuses the "
                              "rendered shop config (on main and feature/login-form, jobs test, security-scan, "
                              "build-image)")
    assert problem.endswith("Fix: the rendered jobs run cimg/base:2025.01; add cimg/ to "
                            "pipeline_policy.approved_registries")
    assert "Traceback" not in ran.output


@pytest.mark.parametrize("command", [
    ("render", "--all", "-o", "out"), ("rehearse", "--all"), ("explain", "--all"), ("resources", "-s", "staging"),
], ids=lambda c: c[0])
def test_every_command_refuses_the_mismatch_the_same_way(user_project, securepipe, command) -> None:
    _registries(user_project, MYCORP_ONLY)
    expected = securepipe("validate", cwd=user_project.root).stderr.splitlines()[1:]
    ran = securepipe(*command, cwd=user_project.root)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines()[1:] == expected
    assert not (user_project.root / "out").exists(), "nothing is written"


def test_the_stack_program_refuses_the_mismatch_with_the_same_problem(user_project, pulumi_up) -> None:
    _registries(user_project, MYCORP_ONLY)
    error = pulumi_up(user_project.root, "production").error
    assert error is not None and isinstance(error.__cause__, InvalidDeclaration)
    assert [p.field for p in error.__cause__.problems] == ["pipeline_policy.approved_registries"]
    assert "images_from_approved_registries" in str(error)


def test_a_soft_rule_that_the_rendered_config_breaks_is_refused_too(user_project, securepipe) -> None:
    """A soft rule would warn on every pipeline, and the rendered policy tests would fail."""
    _registries(user_project, MYCORP_ONLY, images_from_approved_registries="soft")
    ran = securepipe("validate", cwd=user_project.root)
    assert ran.exit_code == 2
    assert "rule images_from_approved_registries of the rendered CircleCI config policy warns about (soft rule) " \
           "the rendered shop config" in ran.stderr


def test_one_mistake_is_one_problem_whatever_the_number_of_repositories(plan_variant) -> None:
    def two_circleci_repositories(values) -> None:
        values["pipeline_policy"]["approved_registries"] = MYCORP_ONLY
        # Only CircleCI repositories: GitLab checks its own images against the registries at validation.
        gitlab = {r["name"] for r in values["repositories"] if "gitlab_ci" in r["ci"]}
        values["repositories"] = [r for r in values["repositories"] if r["name"] not in gitlab]
        for environment in values["environments"]:
            environment["repositories"] = [name for name in environment["repositories"] if name not in gitlab]
            for shared in environment.get("shared_secrets", []):
                shared["repositories"] = [name for name in shared["repositories"] if name not in gitlab]
        api = next(r for r in values["repositories"] if r["name"] == "api")
        api["ci"] = {"circleci": {"project_id": "0e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a3b",
                                  "pipeline_definition_id": "1f2a3b4c-5d6e-4f70-8b8c-9d0e1f2a3b4c"}}

    (problem,) = disagreements(plan_variant(two_circleci_repositories))
    assert problem.field == "pipeline_policy.approved_registries"
    assert "refuses the rendered webapp and api configs (on main and feature/login-form" in problem.message


def test_the_example_renders_files_its_own_policies_accept(example_plan: Plan) -> None:
    assert disagreements(example_plan) == ()


def test_no_rendered_rule_reads_what_a_job_runs(example_plan: Plan) -> None:
    """The cross-check judges projects whose configs differ only in their jobs' steps through one of
    them (it scales to many repositories). A rule that reads steps must change that grouping first."""
    bundle = plan_policies(example_plan)
    assert bundle and [name for name, text in bundle.items() if re.search(r"\bsteps\b", text)] == []
