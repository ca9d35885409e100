"""The rendered ``*_test.yaml`` files ``circleci policy test`` runs: the honest configs pass every
rule, and each rule's file holds the configs tampered against it with the decision expected."""

from __future__ import annotations

from ....plan.model import Plan
from ....render.templating import RenderSource
from ..plan import circleci_plan
from .bundle import TEMPLATES
from .cases import PolicyCase, policy_cases


def circleci_policy_tests(plan: Plan, source: RenderSource) -> dict[str, str]:
    """``honest_configs_test.yaml`` (every honest config passes), and one ``<rule>_test.yaml`` per rule:
    the rendered config passes it, and each config tampered against it fails as expected."""
    cases = policy_cases(plan)
    files = {
        "honest_configs_test.yaml": _test_file(
            plan, source, "the rendered configs pass every rule, on any branch", "honest",
            [c for c in cases if not c.rules], []),
    }
    for rule in circleci_plan(plan).config_policy.enabled_rules:
        chosen = [c for c in cases if rule in c.rules or c.name.endswith("_honest_on_default_branch")]
        notes = [] if any(rule in c.rules and c.violations for c in chosen) else [_no_fail_case_note(rule)]
        files[f"{rule}_test.yaml"] = _test_file(plan, source, f"rule {rule}", rule, chosen, notes)
    return files


def _test_file(plan: Plan, source: RenderSource, subject: str, prefix: str, cases: list[PolicyCase],
               notes: list[str]) -> str:
    tests = [
        {
            "name": f"test_{prefix}__{case.name}",
            "summary": case.summary,
            "meta": case.meta,
            "decision": case.expected_decision(plan).as_circleci(),
            "input": case.config,
        }
        for case in cases
    ]
    return TEMPLATES.render("policy_test.yaml.j2", header=source.header(), subject=subject, tests=tests, notes=notes)


def _no_fail_case_note(rule: str) -> str:
    reasons = {
        "code_freeze": "No repository is under a code freeze in this declaration, so there is no failing case "
                       "here; one appears when pipeline_policy.code_freeze names a repository.",
        "production_runner_class": "No production environment declares ci.circleci.runner_resource_class, so "
                                   "this rule has nothing to enforce.",
        "banned_orb_versions": "ci.circleci.config_policy.banned_orb_versions is empty, so no orb version is "
                               "refused.",
        "no_held_deploy_without_approval": "No environment CircleCI deploys to declares ci.circleci.approval_hold, "
                                           "so no deploy job must wait for an approval.",
        "runner_classes_reserved_to_deploys": "No environment CircleCI deploys to declares "
                                              "ci.circleci.runner_resource_class, so no runner class is reserved.",
    }
    return reasons.get(rule, "This declaration gives no way to break this rule.")
