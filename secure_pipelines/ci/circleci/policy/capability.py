"""CircleCI's config-policy capability: the files ``securepipe render`` writes (the bundle and its
tests under ``circleci/policies/``) and the verdicts of those policies on the rendered configs."""

from __future__ import annotations

from ....changes import AccessChange
from ....errors import Problem
from ....plan.model import Plan
from ....render.templating import RenderSource
from ..plan import circleci_plan
from .bundle import POLICY_DIR, circleci_policies
from .review import gate_changes, policy_changes
from .tests_file import circleci_policy_tests
from .verdicts import failing_policy_tests, policy_refusals


class CircleCIConfigPolicy:
    """CircleCI config policies (OPA Rego), rendered from the plan, with their tests."""

    def files(self, plan: Plan, source: RenderSource) -> dict[str, str]:
        if not circleci_plan(plan).config_policy.projects:
            return {}
        files = {**circleci_policies(plan, source), **circleci_policy_tests(plan, source)}
        return {f"{POLICY_DIR}/{name}": text for name, text in files.items()}

    def refusals(self, plan: Plan) -> tuple[Problem, ...]:
        return policy_refusals(plan)

    def failing_tests(self, plan: Plan) -> tuple[Problem, ...]:
        return failing_policy_tests(plan)

    def changes(self, old: Plan | None, new: Plan | None) -> list[AccessChange]:
        before, after = (circleci_plan(old) if old else None), (circleci_plan(new) if new else None)
        return [*policy_changes(before.config_policy if before else None, after.config_policy if after else None),
                *gate_changes(before, after)]
