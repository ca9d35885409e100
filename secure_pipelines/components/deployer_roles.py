"""``DeployerRoles``: the infrastructure pipeline's JWT roles, one per stack, each holding only that stack's
deployer policy (organisation-wide, created only in ``Plan.resources_stack``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from ..plan import CIRole
from ._component import Component
from .ci_roles import jwt_role


@dataclass(frozen=True)
class DeployerRolesArgs:
    """Arguments of :class:`DeployerRoles`."""

    roles: Sequence[CIRole]
    """The plan's infrastructure roles (``Plan.infrastructure.roles``)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The JWT mount they live in and the deployer policies they carry."""


class DeployerRoles(Component):
    """The roles the infrastructure repository's pipeline applies each stack with."""

    roles: dict[str, pulumi.CustomResource]
    """Each role's resource, keyed by stack."""

    def __init__(self, name: str, args: DeployerRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("DeployerRoles", name, opts)
        self.roles = {role.environment: jwt_role(self, role, args.depends_on) for role in args.roles}
        self.register_outputs({"roles": [f"auth/{r.mount_path}/role/{r.role_name}" for r in args.roles]})
