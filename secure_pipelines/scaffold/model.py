"""What the parts of a new project's declaration are written from: the organisation's name, its
environments and developers, and placeholder ids that validate but are plainly not real."""

from __future__ import annotations

from dataclasses import dataclass

from ..declaration.model import Tier

PLACEHOLDER_UUID_PREFIX = "00000000-0000-4000-8000-"
"""Every placeholder UUID starts so: no CI system hands out such an id."""
PLACEHOLDER_NUMBER_BASE = 9_000_000_000
"""Placeholder numeric ids are ``PLACEHOLDER_NUMBER_BASE + n`` (n below 1000): far above any id a VCS host
or CI system has handed out so far."""


def placeholder_uuid(number: int) -> str:
    """A valid, plainly fake UUID, distinct per ``number`` (1 -> ``00000000-0000-4000-8000-000000000001``)."""
    return f"{PLACEHOLDER_UUID_PREFIX}{number:012d}"


def placeholder_number(number: int) -> int:
    """A valid, plainly fake numeric id, distinct per ``number`` (1 -> 9000000001)."""
    return PLACEHOLDER_NUMBER_BASE + number


def is_placeholder(value: object) -> bool:
    """Whether ``value`` is one of the ids a new declaration starts with (a numeric id may come as its digits,
    as plans keep the ids claims carry as strings)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int):
        return PLACEHOLDER_NUMBER_BASE < value < PLACEHOLDER_NUMBER_BASE + 1000
    return isinstance(value, str) and value.lower().startswith(PLACEHOLDER_UUID_PREFIX)


@dataclass(frozen=True)
class NewEnvironment:
    """One environment of the new declaration."""

    name: str
    tier: Tier
    number: int
    """1, 2, 3...: placeholder ids of this environment's parts are derived from it."""

    @property
    def protected(self) -> bool:
        """Deploys only from declared branches, from closed allowlists (test, staging and production)."""
        return self.tier is not Tier.DEVELOPMENT


@dataclass(frozen=True)
class NewDeveloper:
    """A developer with a per-developer environment in the new declaration."""

    name: str
    number: int


@dataclass(frozen=True)
class NewOrganization:
    """The organisation a new declaration describes (names derived from ``name``)."""

    name: str
    """``organization.name``; also the GitHub owner and the prefix of context and runner names."""
    environments: tuple[NewEnvironment, ...]
    developers: tuple[NewDeveloper, ...]

    @property
    def owner(self) -> str:
        return self.name

    def environment(self, tier: Tier) -> NewEnvironment:
        return next(e for e in self.environments if e.tier is tier)


def new_organization(name: str) -> NewOrganization:
    """The starting point's organisation: dev (one environment per developer), qa (the test tier),
    staging and production."""
    return NewOrganization(
        name=name,
        environments=(NewEnvironment("dev", Tier.DEVELOPMENT, 1), NewEnvironment("qa", Tier.TEST, 4),
                      NewEnvironment("staging", Tier.STAGING, 2), NewEnvironment("production", Tier.PRODUCTION, 3)),
        developers=(NewDeveloper("lin", 1), NewDeveloper("sam", 2)),
    )
