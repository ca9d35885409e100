"""Evaluate CircleCI config policies in-process (regopy), with CircleCI's decision semantics.

CircleCI reads ``data.org`` after evaluating the bundle: ``enable_rule`` names the rules that run,
``hard_fail`` the ones that block; each enabled rule's value (a string, a set or array of strings,
or a map to strings) lists its violations. Any hard violation gives ``HARD_FAIL``, else any
violation ``SOFT_FAIL``, else ``PASS``. Rules, violations and reasons are sorted as CircleCI sorts
them, so a decision compares equal to the one ``circleci policy decide`` prints.

``run_policy_tests`` runs CircleCI's ``*_test.yaml`` policy tests (``test_*`` entries with
``input``, ``meta``, ``decision`` and nested ``cases`` that inherit and merge) the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from regopy import Interpreter, RegoError
from ruamel.yaml import YAML

from .errors import SecurePipelinesError

if TYPE_CHECKING:
    from .plan import Plan


class DecisionStatus(StrEnum):
    PASS = "PASS"
    SOFT_FAIL = "SOFT_FAIL"
    HARD_FAIL = "HARD_FAIL"


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """What CircleCI decides for one config and its pipeline metadata."""

    status: DecisionStatus
    enabled_rules: tuple[str, ...]
    hard_failures: tuple[Violation, ...]
    soft_failures: tuple[Violation, ...]

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(sorted(self.hard_failures + self.soft_failures))

    def reasons(self, rule: str) -> tuple[str, ...]:
        """Every reason ``rule`` gave, hard or soft."""
        return tuple(v.reason for v in self.violations if v.rule == rule)

    def as_circleci(self) -> dict[str, Any]:
        """The decision as CircleCI prints it (and as ``*_test.yaml`` files expect it)."""
        shown: dict[str, Any] = {"status": str(self.status)}
        if self.enabled_rules:
            shown["enabled_rules"] = list(self.enabled_rules)
        if self.hard_failures:
            shown["hard_failures"] = [{"rule": v.rule, "reason": v.reason} for v in self.hard_failures]
        if self.soft_failures:
            shown["soft_failures"] = [{"rule": v.rule, "reason": v.reason} for v in self.soft_failures]
        return shown


class PolicyError(SecurePipelinesError):
    """The policy bundle does not parse or evaluate (CircleCI would answer ``ERROR``)."""


def decide(enabled_rules: object, hard_fail_rules: object, violations: object) -> Decision:
    """CircleCI's decision from the rules enabled, the hard ones and each rule's violations."""
    enabled = sorted(_strings(enabled_rules))
    hard = set(_strings(hard_fail_rules))
    found = violations if isinstance(violations, Mapping) else {}
    hard_failures: list[Violation] = []
    soft_failures: list[Violation] = []
    for rule in enabled:
        target = hard_failures if rule in hard else soft_failures
        target.extend(Violation(rule, reason) for reason in _reasons(found.get(rule)))
    status = (
        DecisionStatus.HARD_FAIL if hard_failures
        else DecisionStatus.SOFT_FAIL if soft_failures
        else DecisionStatus.PASS
    )
    return Decision(
        status=status,
        enabled_rules=tuple(enabled),
        hard_failures=tuple(sorted(hard_failures, key=lambda v: v.rule + v.reason)),
        soft_failures=tuple(sorted(soft_failures, key=lambda v: v.rule + v.reason)),
    )


def evaluate_policies(
    policy_texts: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
) -> Decision:
    """Evaluate the Rego bundle ``policy_texts`` (file name -> text) against ``config`` (as written)
    and the pipeline metadata ``meta`` (``project_id``, ``vcs.branch``, ``ssh_rerun``)."""
    org = evaluate_org(policy_texts, config, meta)
    return decide(org.get("enable_rule"), org.get("hard_fail"), org)


def plan_policies(plan: Plan) -> dict[str, str]:
    """The Rego bundle rendered from ``plan`` (file name -> text), as ``securepipe render`` writes it."""
    from .render import RenderSource, circleci_policies  # render builds on this module

    return circleci_policies(plan, RenderSource(declaration="(in memory)", command="plan_policies"))


def evaluate_plan_policies(plan: Plan, config: Mapping[str, Any], meta: Mapping[str, Any]) -> Decision:
    """CircleCI's decision for ``config`` under the policies rendered from ``plan``."""
    return evaluate_policies(plan_policies(plan), config, meta)


def run_plan_policy_tests(plan: Plan) -> tuple[PolicyTestResult, ...]:
    """Run the ``*_test.yaml`` cases rendered from ``plan`` against its own policies."""
    from .render import RenderSource, circleci_policy_tests

    source = RenderSource(declaration="(in memory)", command="run_plan_policy_tests")
    return run_policy_tests(plan_policies(plan), circleci_policy_tests(plan, source))


def evaluate_org(
    policy_texts: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """The raw ``data.org`` document, for debugging a rule."""
    interpreter = Interpreter()
    try:
        for name in sorted(policy_texts):
            interpreter.add_module(name, policy_texts[name])
        interpreter.add_data({"meta": _plain(meta)})
        interpreter.set_input(_plain(config))
        output = interpreter.query("data.org")
    except RegoError as error:
        raise PolicyError(f"the policy bundle does not compile: {error}") from None
    except json.JSONDecodeError:
        raise PolicyError("the policy bundle failed to evaluate (see the interpreter's message above)") from None
    if not output.ok() or not output.results or not output.results[0].expressions:
        raise PolicyError(f"the policy bundle failed to evaluate: {output}")
    org = output.results[0].expressions[0]
    if not isinstance(org, dict):
        raise PolicyError(f"data.org is not a document: {org!r}")
    return org


def _strings(value: object) -> list[str]:
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, Mapping):
        return [k for k in value if isinstance(k, str)]
    return []


def _reasons(value: object) -> list[str]:
    """A rule's violations as CircleCI reads them; non-string reasons are ignored, as CircleCI does."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, Mapping):
        return [v for v in value.values() if isinstance(v, str)]
    return []


def _plain(value: Any) -> Any:
    """JSON-shaped data (YAML dates and custom mappings become plain values)."""
    return json.loads(json.dumps(value, default=str))


# --- CircleCI's *_test.yaml policy tests -------------------------------------------------------


@dataclass(frozen=True)
class PolicyTestResult:
    file: str
    name: str
    """``test_x`` or ``test_x/case`` for nested cases."""
    passed: bool
    expected: Mapping[str, Any]
    actual: Mapping[str, Any]

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        detail = "" if self.passed else (
            f"\n  expected: {json.dumps(self.expected, sort_keys=True)}"
            f"\n  actual:   {json.dumps(self.actual, sort_keys=True)}"
        )
        return f"{verdict}: {self.file} {self.name}{detail}"


def run_policy_tests(
    policy_texts: Mapping[str, str], test_texts: Mapping[str, str]
) -> tuple[PolicyTestResult, ...]:
    """Run every ``test_*`` entry (and its nested ``cases``) of the ``*_test.yaml`` texts."""
    results: list[PolicyTestResult] = []
    seen: set[str] = set()
    for file_name in sorted(test_texts):
        tests = YAML(typ="safe", pure=True).load(test_texts[file_name]) or {}
        if not isinstance(tests, dict):
            raise PolicyError(f"{file_name}: a policy test file is a mapping of test_* entries")
        for name in sorted(tests):
            if not str(name).startswith("test_"):
                continue
            if name in seen:
                raise PolicyError(f"{file_name}: test name conflict: {name}")
            seen.add(name)
            results.extend(_run_test(policy_texts, file_name, str(name), tests[name], {}))
    return tuple(results)


def _run_test(
    policy_texts: Mapping[str, str], file_name: str, name: str, test: Mapping[str, Any], parent: Mapping[str, Any]
) -> Iterator[PolicyTestResult]:
    context = {
        key: _merge(parent.get(key), test.get(key)) if test.get(key) is not None else parent.get(key)
        for key in ("input", "meta", "decision")
    }
    expected = context["decision"]
    if expected is not None:
        actual = evaluate_policies(policy_texts, context["input"] or {}, context["meta"] or {}).as_circleci()
        expected_plain = _plain(expected)
        yield PolicyTestResult(file_name, name, expected_plain == actual, expected_plain, actual)
    for case_name in sorted(test.get("cases") or {}):
        yield from _run_test(policy_texts, file_name, f"{name}/{case_name}", test["cases"][case_name], context)


def _merge(base: Any, override: Any) -> Any:
    """Cases inherit their parent's values; mappings merge key by key, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override
