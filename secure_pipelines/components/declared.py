"""``DeclaredEnvironment`` and ``DeclaredOrganization``: what the stack program creates, from a
declaration's text, for a stack in any language.

Each loads the text through the toolkit's own loader (the checks and messages of ``securepipe
validate``), plans it, and creates the very components the stack program creates (``Environment``,
``Organization``), under the same names. Those inner components also answer to the URN they have
in the stack program, so a stack moving from that program to these components keeps its resources.

No ``from __future__ import annotations`` here: Pulumi infers the package schema from these
annotations at run time, and reads each field's documentation from this file.
"""

from typing import Any, TypedDict

import pulumi

from ..declaration.model import Strict
from ..errors import Problem
from ..plan.model import EnvironmentPlan, Plan
from ._component import Component
from ._inputs import InvalidComponentInputs, declared_plan, explicit_dependencies, validated_inputs
from .environment import Environment, EnvironmentArgs
from .organization import Organization, organization_args

ENVIRONMENT_COMPONENT = "DeclaredEnvironment"
ORGANIZATION_COMPONENT = "DeclaredOrganization"


def _as_in_the_stack_program(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """A child that also answers to its URN in the stack program, where it sits at the stack root."""
    return pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])


class DeclaredEnvironmentArgs(TypedDict):
    """A declaration and the one environment of it to create."""

    declaration: str
    """The declaration's YAML text (e.g. the contents of ``stacks/declaration.yaml``), checked exactly as
    ``securepipe validate`` checks it."""
    environment: str
    """The declared environment to create, e.g. ``production``."""


class _EnvironmentInputs(Strict):
    declaration: str
    environment: str


def _environment(component: str, name: str, plan: Plan, environment: str) -> EnvironmentPlan:
    found = next((env for env in plan.environments if env.name == environment), None)
    if found is None:
        known = ", ".join(env.name for env in plan.environments)
        raise InvalidComponentInputs(component, name, [Problem(
            "environment", environment, f"is not an environment of the declaration (known: {known})")])
    return found


class DeclaredEnvironment(Component):
    """Everything one environment of a declaration owns, as the secure-pipelines stack program creates it:
    its KV v2 secret store (protected and retained: no Pulumi run can destroy it), its CI read and
    admin write policies, one JWT role per repository that deploys there (and per developer where
    the environment is per developer), its admin role and its GitHub deployment environments. The
    roles are written into the JWT auth mounts a ``DeclaredOrganization`` creates: in the stack that
    creates both, make this component depend on that one."""

    environment: str
    """The environment's name."""
    tier: str
    """The environment's tier: ``development``, ``test``, ``staging`` or ``production``."""
    secret_mount: pulumi.Output[str]
    """The KV v2 mount holding the environment's secrets, e.g. ``kv-production``."""
    secret_data_paths: list[str]
    """The API path of every secret a CI role reads, e.g. ``kv-production/data/apps/webapp``."""
    policies: list[str]
    """The names of the environment's Vault policies."""
    ci_roles: list[str]
    """The API path of every CI role, e.g. ``auth/<mount>/role/production.webapp``."""
    admin_role: pulumi.Output[str]
    """The role the environment's secret admins log in with, e.g. ``production.admins``."""

    def __init__(self, name: str, args: DeclaredEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        inputs = validated_inputs(ENVIRONMENT_COMPONENT, name, _EnvironmentInputs, args)
        plan = declared_plan(ENVIRONMENT_COMPONENT, name, inputs.declaration)
        environment = _environment(ENVIRONMENT_COMPONENT, name, plan, inputs.environment)
        depends_on = explicit_dependencies(ENVIRONMENT_COMPONENT, name, opts)
        super().__init__(ENVIRONMENT_COMPONENT, name, opts)
        for warning in plan.warnings:
            if warning.environment == environment.name:
                pulumi.log.warn(str(warning), resource=self)
        self.resources = Environment(
            environment.name,
            EnvironmentArgs(environment=environment, depends_on=depends_on),
            _as_in_the_stack_program(self),
        )
        self.environment = environment.name
        self.tier = str(environment.tier)
        self.secret_mount = self.resources.secret_store.mount_path
        self.secret_data_paths = self.resources.secret_store.data_paths
        self.policies = self.resources.policies.names
        self.ci_roles = self.resources.ci_roles.role_paths
        self.admin_role = self.resources.admin_role.role_name
        self.register_outputs({
            "environment": self.environment,
            "tier": self.tier,
            "secretMount": self.secret_mount,
            "secretDataPaths": self.secret_data_paths,
            "policies": self.policies,
            "ciRoles": self.ci_roles,
            "adminRole": self.admin_role,
        })


class DeclaredOrganizationArgs(TypedDict):
    """A declaration, and the credentials Vault needs at the admins' identity provider."""

    declaration: str
    """The declaration's YAML text (e.g. the contents of ``stacks/declaration.yaml``), checked exactly as
    ``securepipe validate`` checks it."""
    admin_oidc_client_id: pulumi.Input[str]
    """Vault's client id at the identity provider the admins log in with."""
    admin_oidc_client_secret: pulumi.Input[str]
    """Vault's client secret at that identity provider; pass a secret (it is stored as one either way)."""


class _OrganizationInputs(Strict):
    declaration: str
    admin_oidc_client_id: Any
    admin_oidc_client_secret: Any


class DeclaredOrganization(Component):
    """The organisation-wide resources of a declaration, as the stack program creates them in its
    resources stack: one JWT auth mount per CI issuer, the admins' OIDC auth mount, and default-branch
    protection (per repository, or one organisation ruleset). Create it in one stack only."""

    jwt_mounts: pulumi.Output[list[str]]
    """The JWT auth mount paths, one per CI issuer."""
    admin_auth_path: pulumi.Output[str]
    """The admins' OIDC auth mount path."""
    protected_repositories: list[str]
    """The repositories whose default branch is protected one by one."""
    unprotected_repositories: list[str]
    """Repositories whose protection GitHub cannot enforce on their plan (accepted by an override)."""

    def __init__(self, name: str, args: DeclaredOrganizationArgs, opts: pulumi.ResourceOptions | None = None):
        inputs = validated_inputs(ORGANIZATION_COMPONENT, name, _OrganizationInputs, args,
                                  outputs_allowed=("admin_oidc_client_id", "admin_oidc_client_secret"))
        plan = declared_plan(ORGANIZATION_COMPONENT, name, inputs.declaration)
        super().__init__(ORGANIZATION_COMPONENT, name, opts)
        for warning in plan.warnings:
            if warning.environment is None:
                pulumi.log.warn(str(warning), resource=self)
        self.resources = Organization(
            plan.organization,
            organization_args(plan, inputs.admin_oidc_client_id, inputs.admin_oidc_client_secret),
            _as_in_the_stack_program(self),
        )
        self.jwt_mounts = self.resources.jwt_mounts.paths
        self.admin_auth_path = self.resources.admin_auth.path
        self.protected_repositories = list(self.resources.branch_protection.protections)
        self.unprotected_repositories = list(self.resources.branch_protection.skipped)
        self.register_outputs({
            "jwtMounts": self.jwt_mounts,
            "adminAuthPath": self.admin_auth_path,
            "protectedRepositories": self.protected_repositories,
            "unprotectedRepositories": self.unprotected_repositories,
        })
