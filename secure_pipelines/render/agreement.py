"""The outputs of one plan checked against each other, in memory, before anything is written or applied.

Every pipeline file must render, and each CI system with config policies judges its own rendered
pipeline configs by its own rendered policies: a config its policy refuses is a problem of the
declaration (a rule, the jobs, the field to change), so ``validate``, ``render``, ``rehearse`` and
the stack program all refuse it alike. ``validate`` also runs the rendered policy tests
(:func:`failing_policy_tests`), which only fail where a refusal has not already said why.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ci import registry
from ..errors import Problem
from ..plan.model import Plan
from .files import render_files
from .pipelines import UnrenderableDeclaration
from .templating import RenderSource

IN_MEMORY = RenderSource(declaration="(in memory)", command="securepipe validate")


@dataclass(frozen=True)
class Agreement:
    """What the cross-check found: problems refuse the declaration, warnings are shown."""

    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


def check_outputs(plan: Plan) -> Agreement:
    """Render every file in memory and ask each CI system's config policy for its verdicts."""
    try:
        render_files(plan, IN_MEMORY)
    except UnrenderableDeclaration as error:
        return Agreement(problems=(Problem("declaration", None, str(error)),))
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for system in registry.named(m.ci for m in plan.jwt_mounts):
        policy = system.config_policy
        if policy is None:
            continue
        verdicts = policy.verdicts(plan)
        problems.extend(verdicts.refusals)
        warnings.extend(verdicts.warnings)
    return Agreement(tuple(problems), tuple(warnings))


def failing_policy_tests(plan: Plan) -> tuple[Problem, ...]:
    """The rendered policy tests of every CI system with config policies that fail against its policies."""
    return tuple(problem for system in registry.named(m.ci for m in plan.jwt_mounts)
                 if system.config_policy is not None for problem in system.config_policy.failing_tests(plan))
