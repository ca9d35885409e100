"""``Environment``: everything one environment owns, composed from the smaller components.

A stack creates exactly one of these, for the environment its name selects; it holds that
environment's secret store, policies, CI roles, admin role and GitHub environments and nothing
of any other environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from ..plan import EnvironmentPlan
from ._component import Component
from .admin_role import AdminRole, AdminRoleArgs
from .ci_roles import CIRoles, CIRolesArgs
from .github_environments import GitHubEnvironments, GitHubEnvironmentsArgs
from .policies import AccessPolicies, AccessPoliciesArgs
from .secret_store import SecretStore, SecretStoreArgs


@dataclass(frozen=True)
class EnvironmentArgs:
    """Arguments of :class:`Environment`."""

    environment: EnvironmentPlan
    """The plan of the one environment this component owns (``Plan.environment(name)``)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Organisation-wide resources this stack also creates (deployer policies, auth mounts); empty in other
    stacks, whose policies and roles are written under deployer policies and into mounts another stack owns."""


class Environment(Component):
    """One environment: secret store, policies, CI roles, admin role, GitHub environments."""

    secret_store: SecretStore
    """The environment's KV v2 store (protected, retained)."""
    policies: AccessPolicies
    """The environment's CI read and admin write policies."""
    ci_roles: CIRoles
    """The environment's CI roles."""
    admin_role: AdminRole
    """The environment's admin role."""
    github_environments: GitHubEnvironments
    """The environment's GitHub deployment environments."""

    def __init__(self, name: str, args: EnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Environment", name, opts)
        env = args.environment
        here = pulumi.ResourceOptions(parent=self)
        self.secret_store = SecretStore(f"{env.name}-secrets", SecretStoreArgs(store=env.secret_store), here)
        self.policies = AccessPolicies(
            f"{env.name}-policies", AccessPoliciesArgs(policies=env.policies, depends_on=args.depends_on), here
        )
        self.ci_roles = CIRoles(
            f"{env.name}-ci-roles", CIRolesArgs(roles=env.roles, depends_on=args.depends_on), here
        )
        self.admin_role = AdminRole(
            f"{env.name}-admin-role", AdminRoleArgs(role=env.admin_role, depends_on=args.depends_on), here
        )
        self.github_environments = GitHubEnvironments(
            f"{env.name}-github-environments",
            GitHubEnvironmentsArgs(environments=env.github_environments),
            here,
        )
        self.register_outputs({
            "secretMount": self.secret_store.mount_path,
            "policies": self.policies.names,
            "ciRoles": self.ci_roles.role_paths,
        })
