"""Evaluate the config policy bundle in-process (regopy), and run CircleCI's ``*_test.yaml`` tests.

``run_policy_tests`` runs CircleCI's policy tests (``test_*`` entries with ``input``, ``meta``,
``decision`` and nested ``cases`` that inherit and merge) the way ``circleci policy test`` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from regopy import Bundle, Interpreter, RegoError

from ....errors import SecurePipelinesError
from ....progress import progress
from ....yaml_files import parse_rendered_yaml
from .decision import Decision, decide


class PolicyError(SecurePipelinesError):
    """The policy bundle does not parse or evaluate (CircleCI would answer ``ERROR``)."""


def evaluate_policies(
    policy_texts: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
) -> Decision:
    """Evaluate the Rego bundle ``policy_texts`` (file name -> text) against ``config`` (as written)
    and the pipeline metadata ``meta`` (``project_id``, ``vcs.branch``, ``ssh_rerun``)."""
    return _decision(evaluate_org(policy_texts, config, meta))


def _decision(org: Mapping[str, Any]) -> Decision:
    return decide(org.get("enable_rule"), org.get("hard_fail"), org)


def evaluate_org(
    policy_texts: Mapping[str, str], config: Mapping[str, Any], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """The raw ``data.org`` document, for debugging a rule."""
    return _query(compile_bundle(policy_texts, meta), config)


def compile_bundle(policy_texts: Mapping[str, str], meta: Mapping[str, Any]) -> Bundle:
    """The bundle compiled with ``meta`` as its data: configs that share both are evaluated against one (compiling
    is about a quarter of an evaluation)."""
    builder = Interpreter()
    try:
        for name in sorted(policy_texts):
            builder.add_module(name, policy_texts[name])
        builder.add_data({"meta": _plain(meta)})
        bundle = builder.build("data.org")
    except RegoError as error:
        raise PolicyError(f"the policy bundle does not compile: {error}") from None
    if not bundle.ok():
        raise PolicyError("the policy bundle does not compile")
    return bundle


def _query(bundle: Bundle, config: Mapping[str, Any]) -> dict[str, Any]:
    interpreter = Interpreter()
    try:
        interpreter.set_input(_plain(config))
        output = interpreter.query_bundle(bundle)
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
    decided: dict[str, dict[str, Any]] = {}
    """The bundle's decision by (input, meta): test files share configs (each rule's file repeats the honest one)."""
    compiled: dict[str, Bundle] = {}
    """The bundle compiled with each test's metadata: many tests share a project and branch."""
    report = progress()
    report.phase("running the rendered config policy tests", total=len(test_texts))
    for file_name in sorted(test_texts):
        tests = parse_rendered_yaml(test_texts[file_name]) or {}
        if not isinstance(tests, dict):
            raise PolicyError(f"{file_name}: a policy test file is a mapping of test_* entries")
        for name in sorted(tests):
            if not str(name).startswith("test_"):
                continue
            if name in seen:
                raise PolicyError(f"{file_name}: test name conflict: {name}")
            seen.add(name)
            results.extend(_run_test(policy_texts, file_name, str(name), tests[name], {}, decided, compiled))
        report.advance()
    return tuple(results)


def _run_test(
    policy_texts: Mapping[str, str], file_name: str, name: str, test: Mapping[str, Any], parent: Mapping[str, Any],
    decided: dict[str, dict[str, Any]], compiled: dict[str, Bundle],
) -> Iterator[PolicyTestResult]:
    context = {
        key: _merge(parent.get(key), test.get(key)) if test.get(key) is not None else parent.get(key)
        for key in ("input", "meta", "decision")
    }
    expected = context["decision"]
    if expected is not None:
        meta = context["meta"] or {}
        key = json.dumps([context["input"] or {}, meta], sort_keys=True, default=str)
        if key not in decided:
            with_meta = json.dumps(meta, sort_keys=True, default=str)
            if with_meta not in compiled:
                compiled[with_meta] = compile_bundle(policy_texts, meta)
            org = _query(compiled[with_meta], context["input"] or {})
            decided[key] = _decision(org).as_circleci()
        actual = decided[key]
        expected_plain = _plain(expected)
        yield PolicyTestResult(file_name, name, expected_plain == actual, expected_plain, actual)
    for case_name in sorted(test.get("cases") or {}):
        yield from _run_test(policy_texts, file_name, f"{name}/{case_name}", test["cases"][case_name], context,
                             decided, compiled)


def _merge(base: Any, override: Any) -> Any:
    """Cases inherit their parent's values; mappings merge key by key, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override
