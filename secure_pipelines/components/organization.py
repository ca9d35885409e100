"""``Organization``: the organisation-wide resources, created only in ``Plan.resources_stack``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from ..plan import AdminAuthMount, BranchProtection, CIRole, Deployer, JwtMount, OrganizationRuleset, Plan
from ._component import Component
from .admin_auth import AdminAuth, AdminAuthArgs
from .branch_protection import DefaultBranchProtection, DefaultBranchProtectionArgs
from .deployer_roles import DeployerRoles, DeployerRolesArgs
from .deployers import Deployers, DeployersArgs
from .jwt_mounts import JwtAuthMounts, JwtAuthMountsArgs


@dataclass(frozen=True)
class OrganizationArgs:
    """Arguments of :class:`Organization`."""

    jwt_mounts: Sequence[JwtMount]
    """The plan's JWT mounts, one per CI issuer (``Plan.jwt_mounts``)."""
    admin_auth: AdminAuthMount
    """The plan's admin auth mount (``Plan.admin_auth``)."""
    admin_oidc_client_id: pulumi.Input[str]
    """Vault's client id at the admins' identity provider."""
    admin_oidc_client_secret: pulumi.Input[str]
    """Vault's client secret at the admins' identity provider (a Pulumi secret)."""
    branch_protections: Sequence[BranchProtection]
    """The plan's per-repository branch protections (``Plan.branch_protections``)."""
    organization_ruleset: OrganizationRuleset | None = None
    """The plan's organisation ruleset (``Plan.organization_ruleset``), if it uses one."""
    deployers: Sequence[Deployer] = ()
    """The plan's deployers, one per stack (``Plan.deployers``): their policies are written first."""
    deployer_roles: Sequence[CIRole] = ()
    """The infrastructure pipeline's roles, one per stack (``Plan.infrastructure.roles``), if declared."""


def organization_args(plan: Plan, admin_oidc_client_id: pulumi.Input[str],
                      admin_oidc_client_secret: pulumi.Input[str]) -> OrganizationArgs:
    """The organisation-wide part of ``plan``, as the stack program and ``DeclaredOrganization`` create it."""
    return OrganizationArgs(
        jwt_mounts=plan.jwt_mounts,
        admin_auth=plan.admin_auth,
        admin_oidc_client_id=admin_oidc_client_id,
        admin_oidc_client_secret=admin_oidc_client_secret,
        branch_protections=plan.branch_protections,
        organization_ruleset=plan.organization_ruleset,
        deployers=plan.deployers,
        deployer_roles=plan.infrastructure_roles,
    )


class Organization(Component):
    """Every stack's deployer policy, CI auth mounts, the admin auth mount and default-branch protection:
    owned by one stack."""

    jwt_mounts: JwtAuthMounts
    """One JWT auth mount per CI issuer."""
    admin_auth: AdminAuth
    """The admins' OIDC auth mount."""
    branch_protection: DefaultBranchProtection
    """Default-branch protection (per repository, or one organisation ruleset)."""
    deployers: Deployers
    """Every stack's deployer policy."""
    deployer_roles: DeployerRoles
    """The infrastructure pipeline's role per stack (none when no infrastructure repository is declared)."""
    auth_mounts: list[pulumi.Resource]
    """The auth backends environments write roles into (depend on these in the same stack)."""
    write_first: list[pulumi.Resource]
    """What this stack's environment must wait for: the deployer policies (they admit what it writes) and
    the auth mounts (its roles live in them)."""

    def __init__(self, name: str, args: OrganizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Organization", name, opts)
        self.deployers = Deployers(f"{name}-deployers", DeployersArgs(deployers=args.deployers),
                                   pulumi.ResourceOptions(parent=self))
        # Vault objects are written after the deployer policies: this stack's own token may only do what they
        # say. Each resource is told so itself (the engine's graph holds the edge; a component's dependencies
        # do not reach its children), and it waits for the policies, not for their component: Pulumi would walk
        # the component's children again for every resource that waits (thousands of roles).
        deployer_policies = list(self.deployers.policies.values())
        here = pulumi.ResourceOptions(parent=self)
        self.jwt_mounts = JwtAuthMounts(
            f"{name}-jwt-mounts", JwtAuthMountsArgs(mounts=args.jwt_mounts, depends_on=deployer_policies), here)
        self.admin_auth = AdminAuth(
            f"{name}-admin-auth",
            AdminAuthArgs(
                mount=args.admin_auth,
                oidc_client_id=args.admin_oidc_client_id,
                oidc_client_secret=args.admin_oidc_client_secret,
                depends_on=deployer_policies,
            ),
            here,
        )
        # GitHub's objects are written with the GitHub App's token, which Vault's policies do not govern.
        self.branch_protection = DefaultBranchProtection(
            f"{name}-branch-protection",
            DefaultBranchProtectionArgs(
                protections=args.branch_protections, ruleset=args.organization_ruleset
            ),
            here,
        )
        self.deployer_roles = DeployerRoles(
            f"{name}-deployer-roles",
            DeployerRolesArgs(roles=args.deployer_roles,
                              depends_on=[*deployer_policies, *self.jwt_mounts.backends.values()]),
            here,
        )
        self.auth_mounts = [*self.jwt_mounts.backends.values(), self.admin_auth.backend]
        self.write_first = [*deployer_policies, *self.auth_mounts]
        self.register_outputs({"jwtMounts": self.jwt_mounts.paths, "adminAuthPath": self.admin_auth.path})
