"""The stack program: settings -> model -> plan -> components -> exports.

``__main__.py`` at the project root calls :func:`main`, which reads the stack's view through the same
front door as every command (``secure_pipelines.views``); ``capture_stack`` registers the same view
under Pulumi's mocks runtime. The stack's name selects the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

from ..components.collector import pace_for_registration
from ..components.environment import Environment, EnvironmentArgs
from ..components.organization import Organization, OrganizationArgs
from ..errors import SecurePipelinesError, UnknownStack
from ..plan.model import EnvironmentPlan, Plan
from ..project import CONFIG_NAMESPACE, DECLARATION_FILE_SETTING, DECLARATION_SETTING
from ..views import StackView, program_view

ADMIN_OIDC_CLIENT_ID_KEY = "adminOidcClientId"
ADMIN_OIDC_CLIENT_SECRET_KEY = "adminOidcClientSecret"
SECRET_CONFIG_KEYS = (f"{CONFIG_NAMESPACE}:{ADMIN_OIDC_CLIENT_SECRET_KEY}",)
"""Config the resources stack needs as secrets; ``capture_stack`` stands in placeholders for them."""


def select_environment(plan: Plan, stack: str) -> EnvironmentPlan | None:
    """The environment a stack owns; ``None`` for a resources stack that is no environment."""
    for environment in plan.environments:
        if environment.name == stack:
            return environment
    if stack == plan.resources_stack:
        return None
    raise UnknownStack(stack, [e.name for e in plan.environments])


def main(project_dir: Path) -> None:
    """The stack program as ``pulumi up`` runs it from ``project_dir``.

    A user's mistake (unknown stack, invalid declaration) becomes a ``pulumi.RunError``: the Pulumi
    CLI prints its message, without a traceback.
    """
    pace_for_registration()
    try:
        run_stack_program(project_dir)
    except SecurePipelinesError as error:
        raise pulumi.RunError(str(error)) from error


def run_stack_program(project_dir: Path) -> None:
    """Read this stack's view through the front door (as every command does), then register it."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    declaration_object: Any = config.get_object(DECLARATION_SETTING)
    view = program_view(pulumi.get_stack(), project_dir, config.get(DECLARATION_FILE_SETTING), declaration_object)
    register_view(view)


def register_view(view: StackView) -> None:
    """Warn about this stack's risky choices and register its resources (config read from ``pulumi.Config``)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    for warning in view.stack_warnings:
        pulumi.log.warn(str(warning))
    register_stack(
        view.plan,
        view.stack,
        # Read only where used: the other stacks need no identity-provider credentials.
        admin_oidc_client_id=lambda: config.require(ADMIN_OIDC_CLIENT_ID_KEY),
        admin_oidc_client_secret=lambda: config.require_secret(ADMIN_OIDC_CLIENT_SECRET_KEY),
    )


def register_stack(
    plan: Plan,
    stack: str,
    admin_oidc_client_id: Callable[[], pulumi.Input[str]],
    admin_oidc_client_secret: Callable[[], pulumi.Input[str]],
) -> None:
    """The components (and exports) of one stack: its environment, and the organisation if it owns it."""
    environment = select_environment(plan, stack)
    auth_mounts: list[pulumi.Resource] = []
    if stack == plan.resources_stack:
        organization = Organization(
            plan.organization,
            OrganizationArgs(
                jwt_mounts=plan.jwt_mounts,
                admin_auth=plan.admin_auth,
                admin_oidc_client_id=admin_oidc_client_id(),
                admin_oidc_client_secret=admin_oidc_client_secret(),
                branch_protections=plan.branch_protections,
                organization_ruleset=plan.organization_ruleset,
            ),
        )
        auth_mounts = organization.auth_mounts
        pulumi.export("jwtMounts", organization.jwt_mounts.paths)
        pulumi.export("adminAuthPath", organization.admin_auth.path)
        pulumi.export("protectedRepositories", list(organization.branch_protection.protections))

    if environment is not None:
        resources = Environment(environment.name, EnvironmentArgs(environment=environment, depends_on=auth_mounts))
        pulumi.export("environment", environment.name)
        pulumi.export("secretMount", resources.secret_store.mount_path)
        pulumi.export("secretDataPaths", resources.secret_store.data_paths)
        pulumi.export("policies", resources.policies.names)
        pulumi.export("ciRoles", resources.ci_roles.role_paths)
        pulumi.export("adminRole", resources.admin_role.role_name)
