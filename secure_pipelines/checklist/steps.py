"""One step of the setup checklist, and the order steps are taken in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ..plan.model import Plan
from ..scaffold.model import is_placeholder


class Phase(StrEnum):
    """When a step is taken; phases run in this order."""

    DECLARE = "declare"
    VAULT = "vault"
    APPLY = "apply"
    CI = "ci"
    REPOSITORIES = "repositories"
    SECRETS = "secrets"
    VERIFY = "verify"


PHASE_TITLES: Mapping[Phase, str] = {
    Phase.DECLARE: "Create what the declaration names, and paste its ids into it",
    Phase.VAULT: "Prepare Vault and the admins' identity provider",
    Phase.APPLY: "Apply the stacks",
    Phase.CI: "Set up each CI system: what Pulumi cannot configure",
    Phase.REPOSITORIES: "Set up each repository and commit its rendered pipeline",
    Phase.SECRETS: "Write the secrets",
    Phase.VERIFY: "Check the whole chain",
}
PHASE_ORDER = tuple(Phase)

ScopeKind = Literal["organization", "ci", "repository", "environment"]
SCOPE_TITLES: Mapping[ScopeKind, str] = {
    "organization": "Organisation", "ci": "CI system", "repository": "Repository", "environment": "Environment",
}


@dataclass(frozen=True)
class Scope:
    """What a step is about: the organisation, one CI system, one repository or one environment."""

    kind: ScopeKind
    name: str

    @property
    def title(self) -> str:
        return f"{SCOPE_TITLES[self.kind]} {self.name}"


@dataclass(frozen=True)
class Value:
    """One value to enter, and what it is (a field, a variable, a setting)."""

    name: str
    value: str
    exact: bool = True
    """``False``: guidance in words (a name to choose, a kind of machine), not text to copy."""


def hint(name: str, text: str) -> Value:
    """A value described in words rather than given exactly."""
    return Value(name, text, exact=False)


@dataclass(frozen=True)
class Step:
    """One thing to do by hand: what, the exact values, where, how to check it, and why."""

    id: str
    """Stable, for tools and tests: ``<part>.<what>[.<repository or environment>]``, e.g.
    ``admins.group.staging``."""
    phase: Phase
    scope: Scope
    title: str
    """What to do, in the imperative."""
    values: tuple[Value, ...] = ()
    where: str = ""
    """The settings page, API URL or command where it is done."""
    verify: str = ""
    """How to check it is done (or still holds)."""
    why: str = ""
    environment: str | None = None
    """The stack whose checklist holds it (``None``: the organisation's, held by the resources stack)."""


def declared(value: object) -> str:
    """A declared id as a step shows it, flagging the placeholders ``securepipe init`` wrote."""
    return f"{value} (still the placeholder securepipe init wrote: replace it)" if is_placeholder(value) else str(value)


@dataclass(frozen=True)
class Setup:
    """What the checklist is written from: the plan, and each stack's Vault address where its config says."""

    plan: Plan
    vault_addresses: Mapping[str, str] = field(default_factory=dict)
    """Environment -> the ``vault:address`` its stack config sets."""

    def vault_address(self, environment: str) -> Value:
        """``VAULT_ADDR`` of ``environment``'s jobs: exact where its stack config sets ``vault:address``."""
        known = self.vault_addresses.get(environment)
        return Value("VAULT_ADDR", known) if known else hint("VAULT_ADDR", "your Vault's address, e.g. "
                                                                          "https://vault.example:8200")
