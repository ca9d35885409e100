"""The CircleCI config policies under CircleCI's decision semantics (regopy in-process)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from secure_pipelines import build_plan, load_declaration
from secure_pipelines.ci.circleci.plan import circleci_plan
from secure_pipelines.ci.circleci.policy import DecisionStatus, Violation, decide
from secure_pipelines.ci.circleci.policy.bundle import circleci_policies, rego_set, row_table
from secure_pipelines.ci.circleci.policy.cases import (
    FEATURE_BRANCH,
    PolicyCase,
    honest_cases,
    parse_config,
    policy_cases,
    tampered_cases,
)
from secure_pipelines.ci.circleci.policy.evaluate import PolicyError, evaluate_org, evaluate_policies, run_policy_tests
from secure_pipelines.ci.circleci.policy.tests_file import circleci_policy_tests
from secure_pipelines.plan import Plan

from .conftest import EXAMPLE_DECLARATION, EXAMPLE_SOURCE

PlanVariant = Callable[[Callable[[dict[str, Any]], None]], Plan]
EXAMPLE = build_plan(load_declaration(EXAMPLE_DECLARATION))
EXAMPLE_POLICY = circleci_plan(EXAMPLE).config_policy


def frozen(values: dict[str, Any]) -> None:
    values["pipeline_policy"]["code_freeze"] = ["webapp"]


def orbs_soft(values: dict[str, Any]) -> None:
    values["ci"]["circleci"]["config_policy"]["rules"]["orbs_from_allowlist"] = "soft"


def all_soft(values: dict[str, Any]) -> None:
    values["ci"]["circleci"]["config_policy"]["rules"] = {rule: "soft" for rule, _ in EXAMPLE_POLICY.rule_modes}


@pytest.fixture(scope="module")
def policies(example_plan: Plan) -> dict[str, str]:
    return circleci_policies(example_plan, EXAMPLE_SOURCE)


def case(plan: Plan, name: str) -> PolicyCase:
    return next(c for c in policy_cases(plan) if c.name == f"webapp_{name}")


# --- the bundle itself -------------------------------------------------------------------------


def test_every_rule_is_enabled_and_hard_by_default(example_plan: Plan, policies: dict[str, str]) -> None:
    decision = evaluate_policies(policies, {}, {})
    assert set(decision.enabled_rules) == set(circleci_plan(example_plan).config_policy.enabled_rules)
    assert len(decision.enabled_rules) == 13
    plan_file = policies["secure_pipelines_plan.rego"]
    for rule in circleci_plan(example_plan).config_policy.hard_fail_rules:
        assert f'hard_fail contains "{rule}"' in plan_file


def test_each_policy_file_is_package_org_with_policy_name_first(policies: dict[str, str]) -> None:
    names = set()
    for file_name, text in policies.items():
        code = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert code[0] == "package org", file_name
        assert code[1] == "import future.keywords", file_name
        assert code[2].startswith('policy_name["'), file_name
        names.add(code[2])
    assert len(names) == len(policies)


def test_no_two_policy_files_define_the_same_name(policies: dict[str, str]) -> None:
    """One package holds every file, so a helper defined in two files is one function whose clauses OR
    together: a stricter copy would silently take the looser one's answers."""
    defined: dict[str, set[str]] = {}
    for file_name, text in policies.items():
        for name in re.findall(r"^([a-z_][a-z0-9_]*)(?:\(| :=| contains |\[| if )", text, re.MULTILINE):
            defined.setdefault(name, set()).add(file_name)
    shared = {name: files for name, files in defined.items() if len(files) > 1 and name != "policy_name"}
    assert shared == {}


def test_each_rule_has_its_own_file_named_after_it(example_plan: Plan, policies: dict[str, str]) -> None:
    for rule in circleci_plan(example_plan).config_policy.enabled_rules:
        assert f'policy_name["{rule}"]' in policies[f"{rule}.rego"]
        assert f"\n{rule} contains reason if {{" in policies[f"{rule}.rego"]


def test_the_sets_come_from_the_plan(example_plan: Plan, policies: dict[str, str]) -> None:
    plan_file = policies["secure_pipelines_plan.rego"]
    assert 'production_contexts := {"acme-production"}' in plan_file
    assert 'approved_orbs := {"circleci/docker", "circleci/node"}' in plan_file
    assert 'production_resource_classes := {"acme/prod-deployers"}' in plan_file
    policy = circleci_plan(example_plan).config_policy
    deploying = [f"acme/staging-deployers {p.project_id}" for p in policy.projects]
    org = lookups(policies, {"runner_classes": ("reserved_runner_classes_table", [r.resource_class for r in
                                                                                  policy.reserved_runner_classes]),
                             "projects": ("projects_table", [p.project_id for p in policy.projects]),
                             "deploying": ("runner_class_projects_table",
                                           [*deploying, f"acme/staging-deployers {OTHER_PROJECT}",
                                            f"acme/other {policy.projects[0].project_id}"])})
    assert org["runner_classes"]["acme/staging-deployers"] == {
        "environment": "staging", "context": "acme-staging", "branches": ["main"],
    }
    assert org["deploying"] == {key: {"deploys": True} for key in deploying}  # and no other project or class
    assert set(org["reserved_runner_class_names"]) == {r.resource_class for r in policy.reserved_runner_classes}
    assert set(org["runner_classes"]) == set(org["reserved_runner_class_names"])
    assert org["projects"] == {
        p.project_id: {"repository": p.repository, "default_branch": p.default_branch,
                       "contexts": sorted(p.contexts), "frozen": p.frozen}
        for p in policy.projects
    }
    logic = "".join(text for name, text in policies.items() if name != "secure_pipelines_plan.rego")
    for value in ("acme-production", "circleci/node", "acme/prod-deployers", "webapp", "main"):
        assert f'"{value}"' not in logic


OTHER_PROJECT = "00000000-0000-4000-8000-00000000dead"


def lookups(policies: dict[str, str], tables: dict[str, tuple[str, list[str]]]) -> dict[str, Any]:
    """``data.org`` with, for each name, the rows the bundle's ``table_row`` finds for those keys in that table."""
    rules = "".join(f"{name} := {{key: row | some key in {rego_set(keys)}; row := table_row({table}, key)}}\n\n"
                    for name, (table, keys) in tables.items())
    return evaluate_org({**policies, "lookups.rego": f"package org\n\nimport future.keywords\n\n{rules}"}, {}, {})


def table_lookups(policies: dict[str, str], rows: list[tuple[str, dict[str, Any]]], keys: list[str]) -> dict[str, Any]:
    table = f"package org\n\ntest_table := {row_table(rows)}\n"
    return lookups({**policies, "table.rego": table}, {"found": ("test_table", keys)})["found"]


@pytest.mark.parametrize("value", ["plain", "back`tick", "``", 'quote" here', "ünïcode ✓", "${x}",
                                   "`) bad := true x := (`", '"} second {"'])
def test_a_row_table_reads_back_as_its_rows(policies: dict[str, str], value: str) -> None:
    key = value if value.isascii() else "non-ascii"
    rows = [("first", {"text": "x"}), (key, {"text": value, "list": [value, "other"], "none": None, "flag": True}),
            ("second", {"text": value})]
    assert table_lookups(policies, rows, [k for k, _ in rows]) == dict(rows)


def test_a_row_table_finds_each_key_alone(policies: dict[str, str]) -> None:
    rows = [("ab", {"n": 1}), ("abc", {"n": 2, "other": "ab c"}), ("b", {"n": 3, "key": "abc"}), ("c", {"n": 4})]
    # A prefix of another key, a key inside another row's text, missing keys, and keys that would span
    # rows (a tab or newline inside) find their own row or none.
    asked = ["ab", "abc", "b", "c", "a", "bc", "", 'ab\t{"n": 1}\nabc', "c\n", "\nab", "ab\t"]
    assert table_lookups(policies, rows, asked) == {"ab": {"n": 1}, "abc": {"n": 2, "other": "ab c"},
                                                    "b": {"n": 3, "key": "abc"}, "c": {"n": 4}}


def test_an_empty_row_table_has_no_row(policies: dict[str, str]) -> None:
    assert table_lookups(policies, [], ["a", ""]) == {}


def test_a_row_table_refuses_two_rows_with_one_key() -> None:
    with pytest.raises(ValueError, match="'a'"):
        row_table([("a", {}), ("a", {"x": 1})])


@pytest.mark.parametrize("text", ["a\tb", "a\nb", "a\\nb", "back\\slash", "a\x01", "a\x7f"])
def test_a_row_table_refuses_text_json_would_escape(text: str) -> None:
    # rego-cpp's split finds "\n" inside an escape, so an escaped row could be cut short.
    with pytest.raises(ValueError, match="printable ASCII without a backslash"):
        row_table([(text, {})])
    with pytest.raises(ValueError, match="control character or a backslash"):
        row_table([("a", {"branches": [text]})])


@pytest.mark.parametrize("key", ["", "ünïcode", "a b\u2028"])
def test_a_row_table_refuses_a_key_that_is_not_printable_ascii(key: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        row_table([(key, {})])


def test_a_policy_that_does_not_compile_is_an_error_not_a_pass(policies: dict[str, str]) -> None:
    broken = {**policies, "broken.rego": "package org\n\npolicy_name[\"broken\"]\n\nx := \n"}
    with pytest.raises(PolicyError):
        evaluate_policies(broken, {}, {})


# --- CircleCI's decision semantics ---------------------------------------------------------------


def test_a_rule_may_answer_with_a_string_a_list_or_a_map() -> None:
    decision = decide(["a", "b", "c"], ["a"], {"a": "one", "b": ["two", 3], "c": {"k": "four", "n": 5}})
    assert decision.status is DecisionStatus.HARD_FAIL
    assert decision.hard_failures == (Violation("a", "one"),)
    assert decision.soft_failures == (Violation("b", "two"), Violation("c", "four"))


def test_rules_not_enabled_are_ignored_and_soft_only_is_soft_fail() -> None:
    assert decide(["b"], ["a"], {"a": ["x"], "b": ["y"]}).status is DecisionStatus.SOFT_FAIL
    assert decide(["b"], [], {"a": ["x"]}).status is DecisionStatus.PASS


# --- honest configs pass, tampered ones fail with their sentence ----------------------------------


@pytest.mark.parametrize("honest", honest_cases(EXAMPLE), ids=lambda c: c.name)
def test_every_rendered_honest_config_passes(honest: PolicyCase, policies: dict[str, str]) -> None:
    decision = evaluate_policies(policies, honest.config, honest.meta)
    assert decision.status is DecisionStatus.PASS, decision.violations


def test_the_honest_configs_are_the_rendered_files(example_files: dict[str, str]) -> None:
    rendered = parse_config(example_files["repositories/webapp/.circleci/config.yml"])
    assert case(EXAMPLE, "honest_on_default_branch").config == rendered


@pytest.mark.parametrize("tampered", tampered_cases(EXAMPLE), ids=lambda c: c.name)
def test_every_tampered_config_hard_fails_with_its_sentence(tampered: PolicyCase, policies: dict[str, str]) -> None:
    decision = evaluate_policies(policies, tampered.config, tampered.meta)
    assert decision.status is DecisionStatus.HARD_FAIL
    assert decision.hard_failures == tampered.expected_decision(EXAMPLE).hard_failures
    assert set(decision.violations) == set(tampered.violations)


@pytest.mark.parametrize(("name", "rule", "sentence"), [
    ("production_context_on_feature_branch", "prod_context_only_on_default_branch",
     'workflow "deliver", job "deploy-production": uses production context acme-production but is not '
     "filtered to branch main alone; set filters.branches.only to main"),
    ("production_branch_filter_removed", "prod_context_only_on_default_branch", 'job "deploy-production"'),
    ("production_branch_added", "prod_context_only_on_default_branch", 'job "deploy-production"'),
    ("orb_swapped_for_lookalike", "orbs_from_allowlist",
     "orbs.node: circleci-lookalike/node@1.0.0 is not an approved orb; use one of circleci/docker, circleci/node"),
    ("banned_orb_version", "banned_orb_versions", "orbs.pinned: circleci/node@5.0.0 is a banned orb version"),
    ("security_job_removed", "security_jobs_before_deploy",
     'workflow "deliver", job "deploy-production": deploys with context acme-production without requiring '
     "security job security-scan to succeed first"),
    ("security_job_not_required", "security_jobs_before_deploy", 'job "deploy-staging"'),
    ("contexts_used_by_another_project", "contexts_reserved_to_projects",
     'job "deploy-production": context acme-production is reserved to other projects'),
    ("ssh_rerun_on_default_branch", "no_ssh_rerun_with_protected_context",
     'job "deploy-production": would run with protected context acme-production in an SSH rerun on branch main'),
    ("production_on_cloud_resource_class", "production_runner_class",
     "on resource class large; define job deploy-production in this config with resource_class acme/prod-deployers"),
    ("executor_image_from_unapproved_registry", "images_from_approved_registries",
     'executor "cloud": image unapproved.example/tools:latest is not from an approved registry'),
    ("approve_production_removed", "no_held_deploy_without_approval",
     'workflow "deliver", job "deploy-production": deploys with context acme-production, which is held for '
     "approval, without requiring an approval job (type: approval) first"),
    ("approve_production_not_required", "no_held_deploy_without_approval", 'job "deploy-production"'),
    ("approve_production_impersonated", "no_held_deploy_without_approval", "(type: approval)"),
    ("floating_orb_major", "no_floating_orb_versions",
     "orbs.node: circleci/node@1 is not pinned to a full version, and CircleCI resolves it to the newest match "
     "on every run; pin it as circleci/node@x.y.z"),
    ("floating_orb_minor", "no_floating_orb_versions", "orbs.node: circleci/node@1.0 is not pinned"),
    ("floating_orb_volatile", "no_floating_orb_versions", "orbs.node: circleci/node@volatile is not pinned"),
    ("floating_orb_dev", "no_floating_orb_versions", "orbs.node: circleci/node@dev:feature-x is not pinned"),
    ("floating_orb_no_version", "no_floating_orb_versions", "orbs.node: circleci/node is not pinned"),
    ("test_on_production_runner", "runner_classes_reserved_to_deploys",
     'workflow "deliver", job "test": asks for runner class acme/prod-deployers, which is reserved to the deploy '
     "jobs of production (context acme-production); run this job on another resource class"),
    ("test_on_production_runner_through_an_executor", "runner_classes_reserved_to_deploys",
     'job "test": asks for runner class acme/prod-deployers, which is reserved to the deploy jobs of production'),
    ("orb_job_on_production_runner", "runner_classes_reserved_to_deploys",
     'job "node/test": asks for runner class acme/prod-deployers'),
    ("test_on_production_runner_through_a_parameter", "runner_classes_reserved_to_deploys",
     'job "test": asks for runner class acme/prod-deployers'),
    ("qa_runner_opened_to_another_branch", "runner_classes_reserved_to_deploys",
     'job "deploy-qa": asks for runner class acme/qa-deployers, reserved to qa deploys from main, release/qa, '
     "but is not filtered to that alone; set filters.branches.only to main, release/qa"),
    ("contexts_used_by_another_project", "runner_classes_reserved_to_deploys",
     'job "deploy-production": asks for runner class acme/prod-deployers, reserved to the projects that deploy to '
     "production, and project 00000000-0000-4000-8000-000000000000 is not one of them"),
    ("floating_orb_may_resolve_to_banned_version", "banned_orb_versions",
     "orbs.floating: circleci/node@5 may resolve to the banned orb version circleci/node@5.0.0"),
    ("approve_production_filtered_to_another_branch", "no_held_deploy_without_approval",
     'workflow "deliver", job "deploy-production": deploys with context acme-production, which is held for '
     "approval, but approval job approve-production is not sure to run on branch main, where this job runs; give "
     "approve-production, and each job between them, this job's filters or none, with no matrix or serial-group"),
    ("approve_production_ignores_the_default_branch", "no_held_deploy_without_approval",
     "approval job approve-production is not sure to run on branch main"),
    ("approve_production_ignored_by_an_unreadable_pattern", "no_held_deploy_without_approval",
     "approval job approve-production is not sure to run on branch main"),
    ("approve_production_filtered_to_tags", "no_held_deploy_without_approval",
     "approval job approve-production is not sure to run on branch main"),
    ("approve_production_in_a_matrix", "no_held_deploy_without_approval",
     "approval job approve-production is not sure to run on branch main"),
    ("approve_production_filtered_to_another_branch", "security_jobs_before_deploy",
     'job "deploy-production": deploys with context acme-production, but security job security-scan is not sure '
     "to run on branch main, where this job runs"),
    ("approve_production_may_fail", "no_held_deploy_without_approval",
     'job "deploy-production": deploys with context acme-production, which is held for approval, without requiring '
     "an approval job (type: approval) first"),
    ("approve_production_may_be_canceled", "no_held_deploy_without_approval", "(type: approval)"),
    ("security_job_ignores_the_default_branch", "security_jobs_before_deploy",
     'workflow "deliver", job "deploy-qa": deploys with context acme-qa, but security job security-scan is not sure '
     "to run on branches main, release/qa, where this job runs; give security-scan, and each job between them, "
     "this job's filters or none, with no matrix or serial-group"),
    ("security_job_filtered_to_feature_branches", "security_jobs_before_deploy",
     'job "deploy-dev": deploys with context acme-dev, but security job security-scan is not sure to run '
     "everywhere this job runs"),
    ("build_job_skipped_on_the_default_branch", "security_jobs_before_deploy",
     'job "deploy-staging": deploys with context acme-staging, but security job security-scan is not sure to run '
     "on branch main"),
    ("security_job_overridden_by_an_orb_job", "security_jobs_before_deploy",
     'job "deploy-production": deploys with context acme-production without requiring security job security-scan '
     "to succeed first"),
    ("production_deploy_in_a_job_group_on_a_feature_branch", "prod_context_only_on_default_branch",
     'workflow "deliver", job "ship/deploy-production": uses production context acme-production but is not '
     "filtered to branch main alone"),
    ("production_deploy_in_a_job_group_on_a_feature_branch", "no_held_deploy_without_approval",
     'job "ship/deploy-production": deploys with context acme-production, which is held for approval, but approval '
     "job approve-production is not sure to run on branch feature/login-form, where this job runs"),
    ("production_release_in_a_job_group_opened_to_another_branch", "prod_context_only_on_default_branch",
     'job "release/deploy-production": uses production context acme-production but is not filtered to branch main'),
    ("production_deploy_in_a_job_group_without_approval", "no_held_deploy_without_approval",
     'job "ship/deploy-production": deploys with context acme-production, which is held for approval, without '
     "requiring an approval job (type: approval) first"),
    ("production_deploy_in_a_job_group_on_a_cloud_resource_class", "production_runner_class",
     'job "release/deploy-production": deploys with production context acme-production on resource class large; '
     "define job deploy-production in this config with resource_class acme/prod-deployers"),
    ("staging_deploy_in_a_job_group_opened_to_every_branch", "no_ssh_rerun_with_protected_context",
     'job "stage/deploy-staging": would run with protected context acme-staging in an SSH rerun on branch '
     "feature/login-form"),
    ("test_in_a_job_group_on_production_runner", "runner_classes_reserved_to_deploys",
     'job "checks/test": asks for runner class acme/prod-deployers, which is reserved to the deploy jobs of '
     "production"),
    ("production_release_in_a_job_group_copied_by_another_project", "contexts_reserved_to_projects",
     'job "release/deploy-production": context acme-production is reserved to other projects'),
    ("security_job_in_a_job_group_ignores_the_default_branch", "security_jobs_before_deploy",
     'job "deploy-production": deploys with context acme-production, but security job security-scan is not sure '
     "to run on branch main"),
    ("checks_job_group_invoked_in_a_serial_group", "security_jobs_before_deploy",
     'job "deploy-staging": deploys with context acme-staging, but security job security-scan is not sure to run'),
    ("approval_impersonated_by_a_job_group_name", "job_groups_as_documented",
     'workflow "deliver", job "release/approve-production": names a job of job group release'),
    ("job_group_nested", "job_groups_as_documented",
     'job group "checks", job "hidden": invokes job group hidden, which CircleCI does not nest and this policy '
     "cannot read; list the jobs of hidden in checks itself"),
    ("job_group_invoked_with_a_context", "job_groups_as_documented",
     'workflow "deliver", job "checks": invokes job group checks with context'),
])
def test_the_attacks_named_in_the_issue_are_refused_with_a_sentence_naming_job_and_fix(
    policies: dict[str, str], name: str, rule: str, sentence: str
) -> None:
    tampered = case(EXAMPLE, name)
    decision = evaluate_policies(policies, tampered.config, tampered.meta)
    assert decision.status is DecisionStatus.HARD_FAIL
    assert any(sentence in reason for reason in decision.reasons(rule)), decision.reasons(rule)


# --- job groups: a group's jobs are jobs of each workflow that invokes it -----------------------------


def invocations(policies: dict[str, str], config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs every rule reads in ``config``'s workflow ``w``, by name: what each invokes, and its parameters."""
    org = evaluate_org(policies, config, {})
    return {i["job"]: {"definition": i["definition"], **i["params"]} for i in org["job_invocations"]
            if i["workflow"] == "w"}


def test_a_job_groups_jobs_are_read_as_jobs_of_the_workflow_that_invokes_it(policies: dict[str, str]) -> None:
    """CircleCI inlines a group's jobs between a group-start job, which takes the invocation's requires and
    filters, and a group-end job, which requires the leaf jobs and which the jobs requiring the invocation wait
    for; an invocation's `name:` prefixes the jobs' names."""
    only_main = {"branches": {"only": "main"}}
    config = {
        "job-groups": {"release": {"jobs": [
            "scan",
            {"approve": {"type": "approval", "requires": ["scan"]}},
            {"deploy": {"context": "c", "requires": [{"approve": "success"}, "build"], "filters": only_main}},
            {"notify": {"requires": [{"approve": ["failed"]}]}},
        ]}},
        "workflows": {"w": {"jobs": [
            "build",
            {"release": {"name": "eu", "requires": ["build"], "filters": {"branches": {"ignore": "wip"}}}},
            {"smoke": {"requires": ["eu"]}},
        ]}},
    }
    assert invocations(policies, config) == {
        "build": {"definition": "build"},
        "eu/scan": {"definition": "scan", "requires": ["build"], "filters": {"branches": {"ignore": "wip"}}},
        "eu/approve": {"definition": "approve", "type": "approval", "requires": [{"eu/scan": "success"}],
                       "filters": {"branches": {"ignore": "wip"}}},
        "eu/deploy": {"definition": "deploy", "context": "c", "requires": [{"eu/approve": "success"}],
                      "filters": only_main},
        "eu/notify": {"definition": "notify", "requires": [{"eu/approve": ["failed"]}],
                      "filters": {"branches": {"ignore": "wip"}}},
        "eu": {"definition": None, "requires": ["eu/deploy", "eu/notify"], "filters": {"branches": {"ignore": "wip"}}},
        "smoke": {"definition": "smoke", "requires": ["eu"]},
    }


def test_a_group_invoked_by_its_name_alone_names_its_jobs_after_the_group(policies: dict[str, str]) -> None:
    config = {"job-groups": {"checks": {"jobs": ["test"]}}, "workflows": {"w": {"jobs": ["checks"]}}}
    assert invocations(policies, config) == {"checks/test": {"definition": "test", "requires": []},
                                             "checks": {"definition": None, "requires": ["checks/test"]}}


def checks_in_a_group(**invocation: object) -> dict[str, Any]:
    """The rendered config with its test and security jobs in job group checks, invoked with ``invocation``."""
    config = copy.deepcopy(case(EXAMPLE, "checks_in_a_job_group").config)
    jobs = config["workflows"]["deliver"]["jobs"]
    jobs[jobs.index("checks")] = {"checks": dict(invocation)}
    return config


@pytest.mark.parametrize(("invocation", "runs_on_main"), [
    ({}, True),
    ({"filters": {"branches": {"only": "/.*/"}}}, True),
    ({"filters": {"branches": {"ignore": "main"}}}, False),
    ({"filters": {"branches": {"only": FEATURE_BRANCH}}}, False),
    ({"serial-group": "checks"}, False),
])
def test_a_security_job_in_a_group_counts_only_where_the_whole_group_surely_runs(
    policies: dict[str, str], invocation: dict[str, Any], runs_on_main: bool
) -> None:
    """A deploy after the group waits for its group-end job, which an invocation's filters or serial group may
    leave out of the pipeline; CircleCI drops a requirement that filters leave out."""
    meta = case(EXAMPLE, "honest_on_default_branch").meta
    decision = evaluate_policies(policies, checks_in_a_group(**invocation), meta)
    reasons = [r for r in decision.reasons("security_jobs_before_deploy") if 'job "deploy-production"' in r]
    assert (reasons == []) is runs_on_main, reasons


@pytest.mark.parametrize("status", ["not_run", ["success", "not_run"], "terminal"])
def test_a_group_required_in_a_status_other_than_success_does_not_gate(policies: dict[str, str],
                                                                       status: object) -> None:
    """The group-end job is `not_run` when a job of the group fails (CircleCI's guide, job groups)."""
    config = checks_in_a_group()
    build = next(item["build-image"] for item in config["workflows"]["deliver"]["jobs"]
                 if isinstance(item, dict) and "build-image" in item)
    build["requires"] = [{"checks": status}]
    decision = evaluate_policies(policies, config, case(EXAMPLE, "honest_on_default_branch").meta)
    assert any("without requiring security job security-scan" in r
               for r in decision.reasons("security_jobs_before_deploy")), decision.violations


def test_a_group_invoked_twice_under_two_names_passes(policies: dict[str, str]) -> None:
    config = checks_in_a_group(name="first")
    jobs = config["workflows"]["deliver"]["jobs"]
    jobs.insert(1, {"checks": {"name": "second"}})
    next(item["build-image"] for item in jobs if isinstance(item, dict) and "build-image" in item)["requires"] = [
        "first", "second"]
    decision = evaluate_policies(policies, config, case(EXAMPLE, "honest_on_default_branch").meta)
    assert decision.status is DecisionStatus.PASS, decision.violations


def test_a_group_named_like_the_security_job_is_not_the_security_job(policies: dict[str, str]) -> None:
    """The group-end job invokes no job definition: a group cannot stand in for the security job by its name."""
    config = copy.deepcopy(case(EXAMPLE, "honest_on_default_branch").config)
    del config["jobs"]["security-scan"]
    config["job-groups"] = {"security-scan": {"jobs": ["test"]}}
    config["workflows"]["deliver"]["jobs"] = [item for item in config["workflows"]["deliver"]["jobs"] if item != "test"]
    decision = evaluate_policies(policies, config, case(EXAMPLE, "honest_on_default_branch").meta)
    assert any('job "deploy-production"' in r and "without requiring security job security-scan" in r
               for r in decision.reasons("security_jobs_before_deploy")), decision.violations


@pytest.mark.parametrize(("key", "refused"), [
    ("matrix", True), ("override-with", True), ("context", True), ("pre-steps", True), ("post-steps", True),
    ("type", True), ("resource_class", True),
    ("name", False), ("requires", False), ("filters", False), ("serial-group", False),
])
def test_a_group_invocation_takes_only_what_circleci_documents_for_one(policies: dict[str, str], key: str,
                                                                        refused: bool) -> None:
    values = {"name": "checks", "requires": [], "filters": {"branches": {"only": "/.*/"}}, "serial-group": "checks",
              "type": "approval", "context": "acme-production", "resource_class": "acme/prod-deployers"}
    decision = evaluate_policies(policies, checks_in_a_group(**{key: values.get(key, {"x": "y"})}),
                                 case(EXAMPLE, "honest_on_default_branch").meta)
    assert bool(decision.reasons("job_groups_as_documented")) is refused, decision.violations


# --- a gate counts where it surely runs ------------------------------------------------------------


def approval_filtered(filters: object, **params: object) -> dict[str, Any]:
    """The rendered config with production, its approval job filtered by ``filters`` (``None``: none)."""
    config = copy.deepcopy(case(EXAMPLE, "approve_production_filtered_to_another_branch").config)
    approval = next(item["approve-production"] for item in config["workflows"]["deliver"]["jobs"]
                    if isinstance(item, dict) and "approve-production" in item)
    approval.pop("filters")
    if filters is not None:
        approval["filters"] = filters
    approval.update(params)
    return config


@pytest.mark.parametrize(("filters", "runs_on_main"), [
    (None, True),
    ({"branches": {"only": "main"}}, True),
    ({"branches": {"only": ["release", "main"]}}, True),
    ({"branches": {"only": "/ma.n/"}}, True),
    ({"branches": {"only": "/(?:main|master)(?:-.+)?/"}}, True),
    ({"branches": {"ignore": "/release\\/.+/"}}, True),
    ({"branches": {"only": "main"}, "tags": {"only": "/^v.*/"}}, True),
    ({"branches": {"only": "/((((main))))/"}}, True),
    ({"branches": {"only": "/(((((main)))))/"}}, False),
    ({"branches": {"only": "never-matching"}}, False),
    ({"branches": {"only": "/main.+/"}}, False),
    ({"branches": {"ignore": "main"}}, False),
    ({"branches": {"ignore": ["release", "/m.*/"]}}, False),
    ({"branches": {"only": "main", "ignore": "main"}}, False),
    ({"branches": {"ignore": "Main "}}, False),
    ({"branches": {"only": "/[m]ain/"}}, False),
    ({"branches": {"only": "/ma{1}in/"}}, False),
    ({"branches": {"ignore": "/(?!x)main/"}}, False),
    ({"branches": {"ignore": "/ma*+in/"}}, False),
    ({"branches": {"ignore": "/(?i)MAIN/"}}, False),
    ({"branches": {"only": "/m(ain/"}}, False),
    ({"branches": {"ignore": "<< pipeline.parameters.skip >>"}}, False),
    ({"branches": {"only": None}}, False),
    ({"branches": {"ignore": 7}}, False),
    ({"branches": {}}, False),
    ({"tags": {"only": "/.*/"}}, False),
    ({"branches": {"only": "main"}, "when": "always"}, False),
    ("not pipeline.parameters.skip-approval", False),
])
def test_an_approval_counts_only_where_its_filters_surely_admit_the_deploys_branch(
    policies: dict[str, str], filters: object, runs_on_main: bool
) -> None:
    """Names match exactly, /patterns/ whole branches in the subset Java and RE2 read alike; anything the policy
    cannot decide (classes, braces, look-arounds, flags, parameters, tags alone, expressions) leaves it out."""
    decision = evaluate_policies(policies, approval_filtered(filters), case(EXAMPLE, "honest_on_default_branch").meta)
    assert (decision.reasons("no_held_deploy_without_approval") == ()) is runs_on_main, decision.violations


@pytest.mark.parametrize("params", [{"matrix": {"parameters": {"region": ["eu"]}}}, {"serial-group": "deploys"}],
                         ids=["matrix", "serial_group"])
def test_an_approval_that_may_be_skipped_whatever_its_filters_does_not_count(
    policies: dict[str, str], params: dict[str, Any]
) -> None:
    decision = evaluate_policies(policies, approval_filtered(None, **params),
                                 case(EXAMPLE, "honest_on_default_branch").meta)
    assert decision.reasons("no_held_deploy_without_approval")


def test_a_gate_filtered_exactly_like_its_deploy_counts_whatever_the_filter(policies: dict[str, str]) -> None:
    """The same filters run in the same pipelines, even where the policy cannot read them."""
    expression = "pipeline.parameters.release-train"
    config = approval_filtered(expression)
    next(item["deploy-production"] for item in config["workflows"]["deliver"]["jobs"]
         if isinstance(item, dict) and "deploy-production" in item)["filters"] = expression
    decision = evaluate_policies(policies, config, case(EXAMPLE, "honest_on_default_branch").meta)
    assert decision.reasons("no_held_deploy_without_approval") == ()
    assert decision.reasons("prod_context_only_on_default_branch")


def test_a_workflow_condition_holds_gate_and_deploy_alike(policies: dict[str, str]) -> None:
    """`when`, `unless` and triggers belong to the workflow, which runs the gate and the deploy together or not
    at all: they change nothing here."""
    config = approval_filtered({"branches": {"only": "main"}})
    config["workflows"]["deliver"]["when"] = "pipeline.parameters.release-train"
    decision = evaluate_policies(policies, config, case(EXAMPLE, "honest_on_default_branch").meta)
    assert decision.status is DecisionStatus.PASS, decision.violations


def test_a_deploy_that_needs_no_approval_is_not_asked_for_one(plan_variant: PlanVariant) -> None:
    def no_hold(values: dict[str, Any]) -> None:
        next(e for e in values["environments"] if e["name"] == "production")["ci"]["circleci"]["approval_hold"] = False

    plan = plan_variant(no_hold)
    assert circleci_plan(plan).config_policy.approval_contexts == ()
    honest = case(plan, "honest_on_default_branch")
    assert "approve-production" not in str(honest.config["workflows"])
    assert evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), honest.config, honest.meta).status \
        is DecisionStatus.PASS


@pytest.mark.parametrize(("reference", "banned"), [
    ("circleci/node@5.2.1", True), ("circleci/node@5.0.0", True), ("circleci/node@50.0.0", False),
    ("circleci/node@4.9.9", False), ("circleci/docker@5.0.0", False),
])
def test_a_ban_of_a_major_version_covers_every_pinned_release_of_it(
    plan_variant: PlanVariant, reference: str, banned: bool
) -> None:
    def ban_major_5(values: dict[str, Any]) -> None:
        values["ci"]["circleci"]["config_policy"]["banned_orb_versions"] = ["circleci/node@5"]

    plan = plan_variant(ban_major_5)
    honest = case(plan, "honest_on_default_branch")
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), {**honest.config, "orbs": {"x": reference}},
                                 honest.meta)
    assert bool(decision.reasons("banned_orb_versions")) is banned
    assert decision.reasons("no_floating_orb_versions") == ()


def test_without_a_compiled_config_a_parameterised_resource_class_cannot_be_judged(policies: dict[str, str]) -> None:
    """What the rule reads: the parameter route is caught in CircleCI's compiled config, which CircleCI
    always hands the policies; the config as written alone does not name the class."""
    tampered = case(EXAMPLE, "test_on_production_runner_through_a_parameter")
    written = {k: v for k, v in tampered.config.items() if k != "_compiled_"}
    assert evaluate_policies(policies, written, tampered.meta).reasons("runner_classes_reserved_to_deploys") == ()
    assert evaluate_policies(policies, tampered.config, tampered.meta).reasons("runner_classes_reserved_to_deploys")


def test_a_feature_branch_pipeline_with_production_filtered_to_main_passes(policies: dict[str, str]) -> None:
    honest = case(EXAMPLE, "honest_on_default_branch")
    meta = {**honest.meta, "vcs": {"branch": FEATURE_BRANCH}}
    assert evaluate_policies(policies, honest.config, meta).status is DecisionStatus.PASS


def test_every_rule_has_a_passing_and_a_failing_case(example_plan: Plan, plan_variant: PlanVariant) -> None:
    covered = {c.rule for c in tampered_cases(plan_variant(frozen)) for c in c.violations}
    assert covered == set(circleci_plan(example_plan).config_policy.enabled_rules)
    assert honest_cases(example_plan)


# --- rollout: soft mode, and the code freeze ------------------------------------------------------


def test_a_rule_set_to_soft_gives_soft_fail(plan_variant: PlanVariant) -> None:
    plan = plan_variant(orbs_soft)
    tampered = case(plan, "orb_swapped_for_lookalike")
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), tampered.config, tampered.meta)
    assert decision.status is DecisionStatus.SOFT_FAIL
    assert [v.rule for v in decision.soft_failures] == ["orbs_from_allowlist"]
    assert not decision.hard_failures


def test_a_soft_rule_does_not_soften_a_hard_one(plan_variant: PlanVariant) -> None:
    plan = plan_variant(orbs_soft)
    tampered = case(plan, "banned_orb_version")
    config = {**tampered.config, "orbs": {**tampered.config["orbs"], "node": "circleci-lookalike/node@1.0.0"}}
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), config, tampered.meta)
    assert decision.status is DecisionStatus.HARD_FAIL
    assert {v.rule for v in decision.soft_failures} == {"orbs_from_allowlist"}


def _first_case_of_each_rule(cases: list[PolicyCase]) -> list[PolicyCase]:
    """One tampered case per rule it is about: soft mode changes only the bundle's hard_fail set, so what a rule
    reports is already checked case by case in hard mode; this checks each rule's soft mode."""
    chosen: dict[str, PolicyCase] = {}
    for tampered in cases:
        for rule in tampered.rules:
            chosen.setdefault(rule, tampered)
    return list({c.name: c for c in chosen.values()}.values())


@pytest.mark.parametrize("tampered", _first_case_of_each_rule(tampered_cases(EXAMPLE)), ids=lambda c: c.name)
def test_with_every_rule_soft_a_tampered_config_of_each_rule_soft_fails(
    tampered: PolicyCase, plan_variant: PlanVariant
) -> None:
    plan = plan_variant(all_soft)
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), tampered.config, tampered.meta)
    assert decision.status is DecisionStatus.SOFT_FAIL
    assert set(decision.soft_failures) == set(tampered.violations)


def test_code_freeze_stops_production_even_from_the_default_branch(plan_variant: PlanVariant) -> None:
    plan = plan_variant(frozen)
    tampered = case(plan, "production_deploy_during_code_freeze")
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), tampered.config, tampered.meta)
    assert tampered.meta["vcs"]["branch"] == "main"
    assert decision.status is DecisionStatus.HARD_FAIL
    (reason,) = decision.reasons("code_freeze")
    assert "webapp is under a code freeze" in reason and 'job "deploy-production"' in reason


def test_the_frozen_repositorys_rendered_config_passes(plan_variant: PlanVariant) -> None:
    plan = plan_variant(frozen)
    honest = case(plan, "honest_on_default_branch")
    decision = evaluate_policies(circleci_policies(plan, EXAMPLE_SOURCE), honest.config, honest.meta)
    assert decision.status is DecisionStatus.PASS


# --- the rendered *_test.yaml files ---------------------------------------------------------------


def test_the_rendered_policy_tests_run_and_pass(example_plan: Plan, policies: dict[str, str]) -> None:
    results = run_policy_tests(policies, circleci_policy_tests(example_plan, EXAMPLE_SOURCE))
    rules = circleci_plan(example_plan).config_policy.enabled_rules
    assert len(results) >= len(policy_cases(example_plan)) + len(rules)
    assert all(r.passed for r in results), "\n".join(str(r) for r in results if not r.passed)


@pytest.mark.parametrize("variant", [frozen, orbs_soft], ids=["frozen", "orbs_soft"])
def test_the_rendered_policy_tests_of_variants_pass(variant: Callable[[dict[str, Any]], None],
                                                    plan_variant: PlanVariant) -> None:
    plan = plan_variant(variant)
    results = run_policy_tests(circleci_policies(plan, EXAMPLE_SOURCE), circleci_policy_tests(plan, EXAMPLE_SOURCE))
    assert all(r.passed for r in results), "\n".join(str(r) for r in results if not r.passed)


def test_each_rule_test_file_has_a_pass_and_a_fail_case(plan_variant: PlanVariant) -> None:
    from ruamel.yaml import YAML

    plan = plan_variant(frozen)
    for file_name, text in circleci_policy_tests(plan, EXAMPLE_SOURCE).items():
        if file_name == "honest_configs_test.yaml":
            continue
        rule = file_name.removesuffix("_test.yaml")
        tests = YAML(typ="safe", pure=True).load(text)
        statuses = {t["decision"]["status"] for t in tests.values()}
        assert "PASS" in statuses, file_name
        failing = [t for t in tests.values() if t["decision"]["status"] != "PASS"]
        assert any(f["rule"] == rule for t in failing for f in t["decision"].get("hard_failures", [])), file_name


def test_the_example_says_why_its_code_freeze_tests_have_no_failing_case(example_files: dict[str, str]) -> None:
    assert "No repository is under a code freeze" in example_files["circleci/policies/code_freeze_test.yaml"]


def test_a_wrong_expectation_in_a_policy_test_fails(example_plan: Plan, policies: dict[str, str]) -> None:
    tests = circleci_policy_tests(example_plan, EXAMPLE_SOURCE)
    name = "orbs_from_allowlist_test.yaml"
    broken = tests[name].replace("status: HARD_FAIL", "status: PASS", 1)
    results = run_policy_tests(policies, {name: broken})
    assert sum(not r.passed for r in results) == 1


def test_nested_cases_inherit_and_merge_like_circleci(policies: dict[str, str]) -> None:
    honest = case(EXAMPLE, "honest_on_default_branch")
    from secure_pipelines.render.templating import to_yaml

    test_file = "\n".join([
        "test_parent:",
        "  input:",
        "    " + to_yaml(honest.config, 4),
        "  meta:",
        "    " + to_yaml(honest.meta, 4),
        "  decision:",
        "    status: PASS",
        "    enabled_rules: [" + ", ".join(sorted(EXAMPLE_POLICY.enabled_rules)) + "]",
        "  cases:",
        "    ssh_rerun:",
        "      meta: {ssh_rerun: true}",
        "      decision: {status: HARD_FAIL}",
    ])
    results = {r.name: r for r in run_policy_tests(policies, {"nested_test.yaml": test_file})}
    assert results["test_parent"].passed
    child = results["test_parent/ssh_rerun"]
    assert child.actual["status"] == "HARD_FAIL" and not child.passed  # its expected decision lacks the failures


def test_the_plan_level_api_renders_and_decides_in_one_call(example_plan: Plan) -> None:
    from secure_pipelines.ci.circleci.policy.for_plan import evaluate_plan_policies

    # run_plan_policy_tests, the other half of this API, is what `securepipe validate` runs: the CLI tests
    # (test_cli_validate) cover it on the example, which the test above runs through the rendered files.
    tampered = case(example_plan, "ssh_rerun_on_default_branch")
    assert evaluate_plan_policies(example_plan, tampered.config, tampered.meta).status is DecisionStatus.HARD_FAIL
    honest = case(example_plan, "honest_on_default_branch")
    assert evaluate_plan_policies(example_plan, honest.config, honest.meta).status is DecisionStatus.PASS
