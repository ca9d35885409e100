"""``AdminRole``: the role admins of one environment log in with (its admin group only, from the admins'
networks, write-only policy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import AdminRole as AdminRolePlan
from ._component import Component, child_options, no_comma
from .ci_roles import _vault_cidr


def _admin_bound_claims(role: AdminRolePlan) -> dict[str, str]:
    """Only members of the admin group: ``{groups_claim: admin_group}``."""
    return {role.groups_claim: no_comma(f"admin role {role.role_name}: admin_group", role.admin_group)}


@dataclass(frozen=True)
class AdminRoleArgs:
    """Arguments of :class:`AdminRole`."""

    role: AdminRolePlan
    """The plan's admin role of one environment (``EnvironmentPlan.admin_role``)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The admin auth mount, when the same stack creates it."""


class AdminRole(Component):
    """An OIDC role on the admin mount granting only the environment's write-only policy, to its admin
    group, for tokens bound to the admins' networks (``token_bound_cidrs``)."""

    role: vault.jwt.AuthBackendRole
    """The OIDC role."""
    role_name: pulumi.Output[str]
    """The role's name, e.g. ``production.admins``."""

    def __init__(self, name: str, args: AdminRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("AdminRole", name, opts)
        role = args.role
        self.role = vault.jwt.AuthBackendRole(
            role.resource_name,
            backend=role.mount_path,
            role_name=role.role_name,
            role_type="oidc",
            bound_audiences=list(role.bound_audiences),
            user_claim=role.user_claim,
            groups_claim=role.groups_claim,
            bound_claims=_admin_bound_claims(role),
            bound_claims_type="string",
            allowed_redirect_uris=list(role.allowed_redirect_uris),
            token_policies=list(role.token_policies),
            token_no_default_policy=True,
            token_bound_cidrs=[_vault_cidr(cidr) for cidr in role.token_bound_cidrs],
            token_ttl=role.token_ttl,
            token_max_ttl=role.token_max_ttl,
            opts=child_options(self, vault.jwt.AuthBackendRole, role.resource_name, depends_on=args.depends_on),
        )
        self.role_name = self.role.role_name
        self.register_outputs({"roleName": self.role_name})
