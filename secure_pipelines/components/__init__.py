"""Pulumi components that turn the plan into Vault and GitHub resources.

Each component reads plan objects and never re-derives a name or a claim; each can be used alone
from another stack. ``Environment`` and ``Organization`` compose them for the stack program
(``secure_pipelines.stack``).

Three components take plain, documented inputs instead, so that a stack in any Pulumi language can
use them through the component package (``components/`` at the repository root, ``package.py``):
``DeclaredEnvironment`` and ``DeclaredOrganization`` (from a declaration's text, exactly what the
stack program creates) and ``CIJwtRole`` (one CI role from explicit fields, refused where the
declaration would be).

Identity across refactors: a child's URN is its stack, the chain of parent *types* and its own
name (from the plan's ``resource_name``); a component's own name is not part of it, so renaming a
component (the organisation, say) keeps every child. Every child also answers to its URN at the
stack root (given as that URN, or as ``Alias(parent=ROOT_STACK_RESOURCE)`` under a component of
another package), so resources first created by a flat program are adopted, not replaced, when
moved into a component; a renamed child answers to its old names under the same parent. Changing
a component's type token or nesting needs an alias on that component
(``opts=ResourceOptions(aliases=[Alias(type_="secure-pipelines:index:Old")])``; children inherit
it). Storage is ``protect``-ed: a change that would replace a KV mount fails the update instead of
destroying secrets.
"""

from ._inputs import InvalidComponentInputs
from .admin_auth import AdminAuth, AdminAuthArgs
from .admin_role import AdminRole, AdminRoleArgs
from .branch_protection import DefaultBranchProtection, DefaultBranchProtectionArgs
from .ci_jwt_role import CIJwtRole, CIJwtRoleArgs, CIJwtRoleOverrides
from .ci_roles import CIRoles, CIRolesArgs
from .declared import DeclaredEnvironment, DeclaredEnvironmentArgs, DeclaredOrganization, DeclaredOrganizationArgs
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
    "CIJwtRole",
    "CIJwtRoleArgs",
    "CIJwtRoleOverrides",
    "CIRoles",
    "CIRolesArgs",
    "DeclaredEnvironment",
    "DeclaredEnvironmentArgs",
    "DeclaredOrganization",
    "DeclaredOrganizationArgs",
    "DefaultBranchProtection",
    "DefaultBranchProtectionArgs",
    "Environment",
    "EnvironmentArgs",
    "GitHubEnvironments",
    "GitHubEnvironmentsArgs",
    "InvalidComponentInputs",
    "JwtAuthMounts",
    "JwtAuthMountsArgs",
    "Organization",
    "OrganizationArgs",
    "SecretStore",
    "SecretStoreArgs",
]
