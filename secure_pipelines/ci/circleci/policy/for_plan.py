"""The config policy of a plan in one call: its bundle, decisions on a config, and its own tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ....plan.model import Plan
from ....render.templating import RenderSource
from .bundle import circleci_policies
from .decision import Decision
from .evaluate import PolicyTestResult, evaluate_policies, run_policy_tests
from .tests_file import circleci_policy_tests

_IN_MEMORY = RenderSource(declaration="(in memory)", command="secure_pipelines.ci.circleci.policy")


def plan_policies(plan: Plan) -> dict[str, str]:
    """The Rego bundle rendered from ``plan`` (file name -> text), as ``securepipe render`` writes it."""
    return circleci_policies(plan, _IN_MEMORY)


def evaluate_plan_policies(plan: Plan, config: Mapping[str, Any], meta: Mapping[str, Any]) -> Decision:
    """CircleCI's decision for ``config`` under the policies rendered from ``plan``."""
    return evaluate_policies(plan_policies(plan), config, meta)


def run_plan_policy_tests(plan: Plan) -> tuple[PolicyTestResult, ...]:
    """Run the ``*_test.yaml`` cases rendered from ``plan`` against its own policies."""
    return run_policy_tests(plan_policies(plan), circleci_policy_tests(plan, _IN_MEMORY))
