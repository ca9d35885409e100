"""Compare what the declared components create with what the stack program creates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from secure_pipelines.stack import CapturedResource

DECLARED_COMPONENTS = {"secure-pipelines:index:DeclaredEnvironment", "secure-pipelines:index:DeclaredOrganization"}
STACK_PROGRAM_COMPONENTS = {"secure-pipelines:index:Environment", "secure-pipelines:index:Organization"}
ROLE_COMPONENT = "secure-pipelines:index:CIJwtRole"


def declared_part(resources: Iterable[CapturedResource]) -> dict[tuple[str, str], CapturedResource]:
    """By (type, name): what the declared components created, without them and without role components."""
    listed = list(resources)
    roles = {r.name for r in listed if r.type_token == ROLE_COMPONENT}
    return {(r.type_token, r.name): r for r in listed
            if r.type_token not in DECLARED_COMPONENTS and r.type_token != ROLE_COMPONENT and r.parent not in roles}


def comparable(resource: CapturedResource) -> tuple[Any, ...]:
    """Everything that must match: parent, options, inputs (the admin client secret's value aside) and
    which inputs are secret. The stack program's two components sit at the stack root, the package's
    inside their declared wrapper."""
    inputs = {k: v for k, v in resource.inputs.items() if k != "oidcClientSecret"}
    parent = None if resource.type_token in STACK_PROGRAM_COMPONENTS else resource.parent
    return (parent, resource.protect, resource.retain_on_delete, json.dumps(inputs, sort_keys=True),
            sorted(resource.secret_keys))
