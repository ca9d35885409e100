"""The outputs of one plan checked against each other, in memory, before anything is written or applied.

Every pipeline file must render, and each CI system with config policies judges its own rendered
pipeline configs by its own rendered policies (the policies' test files, which take longest to render,
are left to ``render`` and to ``validate``'s run of them): a config its policy refuses is a problem of the
declaration (a rule, the jobs, the field to change), so ``validate``, ``render``, ``rehearse`` and
the stack program all refuse it alike. ``validate`` also runs the rendered policy tests
(:func:`failing_policy_tests`), which only fail where a refusal has not already said why.
"""

from __future__ import annotations

from ..ci import registry
from ..errors import Problem
from ..plan.model import Plan
from .files import pipeline_files
from .templating import RenderSource

IN_MEMORY = RenderSource(declaration="(in memory)", command="securepipe validate")


def disagreements(plan: Plan) -> tuple[Problem, ...]:
    """Render every pipeline file in memory (a template that cannot render fails here, before anything
    is written) and ask each CI system's config policy what it refuses of them."""
    pipeline_files(plan, IN_MEMORY)
    return tuple(problem for system in registry.named(m.ci for m in plan.jwt_mounts)
                 if system.config_policy is not None for problem in system.config_policy.refusals(plan))


def failing_policy_tests(plan: Plan) -> tuple[Problem, ...]:
    """The rendered policy tests of every CI system with config policies that fail against its policies."""
    return tuple(problem for system in registry.named(m.ci for m in plan.jwt_mounts)
                 if system.config_policy is not None for problem in system.config_policy.failing_tests(plan))
