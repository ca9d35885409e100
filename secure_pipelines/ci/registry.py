"""The one list of CI systems. Adding a CI system is adding its folder and one line here.

Everything else asks this module at call time (``systems()``, ``by_key``, ``by_name``), never keeps
a copy, so the list is the only place a system is registered.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..declaration.model import Declaration, Repository
from .base import CISystem
from .circleci import SYSTEM as CIRCLECI
from .github_actions import SYSTEM as GITHUB_ACTIONS
from .gitlab_ci import SYSTEM as GITLAB_CI

SYSTEMS: tuple[CISystem, ...] = (CIRCLECI, GITHUB_ACTIONS, GITLAB_CI)


def systems() -> tuple[CISystem, ...]:
    """Every registered CI system, in registration order."""
    return SYSTEMS


def keys() -> list[str]:
    """The declaration keys of every registered system."""
    return [system.key for system in SYSTEMS]


def by_key(key: str) -> CISystem | None:
    """The system declared under ``key`` in a ``ci:`` mapping, if there is one."""
    return next((system for system in SYSTEMS if system.key == key), None)


def by_name(name: str) -> CISystem:
    """The system of a plan's ``ci`` field (a role's, a deployment's, a job's)."""
    found = next((system for system in SYSTEMS if system.name == name), None)
    if found is None:
        raise KeyError(f"no CI system named {name!r} is registered (known: {', '.join(s.name for s in SYSTEMS)})")
    return found


def of_repository(repository: Repository) -> list[CISystem]:
    """The systems a repository builds on, in registration order."""
    return [system for system in SYSTEMS if system.key in repository.ci]


def in_use(declaration: Declaration) -> list[CISystem]:
    """The systems any repository builds on, in registration order."""
    return [system for system in SYSTEMS if any(system.key in r.ci for r in declaration.repositories)]


def named(names: Iterable[str]) -> list[CISystem]:
    """The systems with these names, in registration order."""
    wanted = set(names)
    return [system for system in SYSTEMS if system.name in wanted]
