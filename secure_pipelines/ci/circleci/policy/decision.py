"""CircleCI's decision semantics for config policies, as pure functions.

CircleCI reads ``data.org`` after evaluating the bundle: ``enable_rule`` names the rules that run,
``hard_fail`` the ones that block; each enabled rule's value (a string, a set or array of strings,
or a map to strings) lists its violations. Any hard violation gives ``HARD_FAIL``, else any
violation ``SOFT_FAIL``, else ``PASS``. Rules, violations and reasons are sorted as CircleCI sorts
them, so a decision compares equal to the one ``circleci policy decide`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
