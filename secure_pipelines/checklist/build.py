"""The checklist in the order to work through it: by phase, then organisation, CI systems (in
registration order), repositories and environments (the resources stack's first), then as each part
listed its steps."""

from __future__ import annotations

from collections.abc import Sequence

from ..ci import registry
from .core import CORE_PARTS
from .steps import PHASE_ORDER, Setup, Step


def checklist(setup: Setup) -> list[Step]:
    """Every step of the plan of ``setup``: the core's parts, then each CI system's in use."""
    steps = [step for part in CORE_PARTS for step in part(setup)]
    for system in registry.named(mount.ci for mount in setup.plan.jwt_mounts):
        if system.setup_steps is not None:
            steps += system.setup_steps.steps(setup)
    return ordered(setup, steps)


def ordered(setup: Setup, steps: Sequence[Step]) -> list[Step]:
    plan = setup.plan
    systems = [system.title for system in registry.systems()]
    repositories = [r.name for r in plan.repositories]
    environments = sorted((e.name for e in plan.environments), key=lambda name: name != plan.resources_stack)

    def rank(step: Step) -> tuple[int, int]:
        kind, name = step.scope.kind, step.scope.name
        if kind == "organization":
            return (0, 0)
        if kind == "ci":
            return (1, systems.index(name) if name in systems else len(systems))
        if kind == "repository":
            return (2, repositories.index(name) if name in repositories else len(repositories))
        return (3, environments.index(name) if name in environments else len(environments))

    positions = {id(step): index for index, step in enumerate(steps)}
    return sorted(steps, key=lambda s: (PHASE_ORDER.index(s.phase), rank(s), positions[id(s)]))


def for_stacks(steps: Sequence[Step], stacks: Sequence[str], resources_stack: str) -> list[Step]:
    """The steps of these stacks: each one's environment's, and the organisation's with the resources stack."""
    return [s for s in steps if s.environment in stacks or (s.environment is None and resources_stack in stacks)]
