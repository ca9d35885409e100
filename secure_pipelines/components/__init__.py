"""Pulumi components that turn the plan into Vault and GitHub resources.

Each component reads plan objects and never re-derives a name or a claim; each can be used alone
from another stack. ``Environment`` and ``Organization`` compose them for the stack program
(``secure_pipelines.stack``).

Identity across refactors: a child's URN is its stack, the chain of parent *types* and its own
name (from the plan's ``resource_name``); a component's own name is not part of it, so renaming a
component (the organisation, say) keeps every child. Every child also carries
``Alias(parent=ROOT_STACK_RESOURCE)``, so resources first created by a flat program are adopted,
not replaced, when moved into a component. Changing a component's type token or nesting needs an
alias on that component (``opts=ResourceOptions(aliases=[Alias(type_="secure-pipelines:index:Old")])``;
children inherit it). Storage is ``protect``-ed: a change that would replace a KV mount fails the
update instead of destroying secrets.
"""

from .admin_auth import AdminAuth, AdminAuthArgs
from .admin_role import AdminRole, AdminRoleArgs
from .branch_protection import DefaultBranchProtection, DefaultBranchProtectionArgs
from .ci_roles import CIRoles, CIRolesArgs
from .environment import Environment, EnvironmentArgs
from .github_environments import GitHubEnvironments, GitHubEnvironmentsArgs
from .jwt_mounts import JwtAuthMounts, JwtAuthMountsArgs
from .organization import Organization, OrganizationArgs
from .policies import AccessPolicies, AccessPoliciesArgs
from .secret_store import SecretStore, SecretStoreArgs

__all__ = [
    "AccessPolicies",
    "AccessPoliciesArgs",
    "AdminAuth",
    "AdminAuthArgs",
    "AdminRole",
    "AdminRoleArgs",
    "CIRoles",
    "CIRolesArgs",
    "DefaultBranchProtection",
    "DefaultBranchProtectionArgs",
    "Environment",
    "EnvironmentArgs",
    "GitHubEnvironments",
    "GitHubEnvironmentsArgs",
    "JwtAuthMounts",
    "JwtAuthMountsArgs",
    "Organization",
    "OrganizationArgs",
    "SecretStore",
    "SecretStoreArgs",
]
