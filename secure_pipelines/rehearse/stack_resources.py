"""The Vault resources a rehearsal applies: what the stack program registers, captured under mocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..stack.capture import capture_view
from ..views import Views
from .apply import AUTH_BACKEND


@dataclass(frozen=True)
class StackResource:
    """One Vault resource a stack registers, and that stack: its deployer applies it."""

    stack: str
    type_token: str
    name: str
    inputs: Mapping[str, Any]


def captured_vault_resources(views: Views) -> list[StackResource]:
    """The Vault resources of each opened stack, plus the organisation-wide auth mounts.

    Organisation-wide resources (the JWT and admin auth mounts) belong to exactly one stack (the
    resources stack); a rehearsal of another stack alone takes those mounts from that stack's own
    view, as a real ``pulumi up`` of that stack relies on them already existing.
    """
    chosen: dict[tuple[str, str], StackResource] = {}
    for view in views.views:
        for resource in capture_view(view).resources:
            if resource.type_token.startswith("vault:"):
                chosen.setdefault((resource.type_token, resource.name),
                                  StackResource(view.stack, resource.type_token, resource.name, resource.inputs))
    organization = views.organization
    if organization is not None and organization.stack not in views.stacks:
        for resource in capture_view(organization).resources:
            if resource.type_token == AUTH_BACKEND:
                chosen.setdefault((resource.type_token, resource.name), StackResource(
                    organization.stack, resource.type_token, resource.name, resource.inputs))
    return list(chosen.values())
