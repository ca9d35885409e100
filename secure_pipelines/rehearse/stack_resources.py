"""The Vault resources a rehearsal applies: what the stack program registers, captured under mocks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..plan import Plan
from ..stack.capture import capture_stack
from .apply import AUTH_BACKEND, VaultResource


def captured_vault_resources(plan: Plan, environments: Sequence[str], declaration: Path | None
                             ) -> list[VaultResource]:
    """The Vault resources of each environment's stack, plus the organisation-wide auth mounts.

    Organisation-wide resources (the JWT and admin auth mounts) belong to exactly one stack
    (``plan.resources_stack``); a rehearsal of another stack alone takes those mounts from it, as a
    real ``pulumi up`` of that stack relies on them already existing.
    """
    chosen: dict[tuple[str, str], VaultResource] = {}
    for stack in environments:
        for resource in capture_stack(stack, declaration):
            if resource.type_token.startswith("vault:"):
                chosen.setdefault((resource.type_token, resource.name), resource)
    if plan.resources_stack not in environments:
        for resource in capture_stack(plan.resources_stack, declaration):
            if resource.type_token == AUTH_BACKEND:
                chosen.setdefault((resource.type_token, resource.name), resource)
    return list(chosen.values())
