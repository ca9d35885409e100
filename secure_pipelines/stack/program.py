"""The stack program: settings -> model -> plan -> components -> exports.

``__main__.py`` at the project root calls :func:`main`; so does ``capture_stack`` (under Pulumi's
mocks runtime). The stack's name selects the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

from ..components.collector import pace_for_registration
from ..components.environment import Environment, EnvironmentArgs
from ..components.organization import Organization, OrganizationArgs
from ..declaration.loader import load_declaration
from ..errors import SecurePipelinesError, UnknownStack
from ..plan.assembly import build_plan
from ..plan.model import EnvironmentPlan, Plan

CONFIG_NAMESPACE = "secure-pipelines"
DECLARATION_FILE_KEY = "declarationFile"
"""Stack config key overriding the declaration file (relative to the project directory)."""
DECLARATION_KEY = "declaration"
"""Stack config object merged over the declaration file (see ``secure_pipelines.loader``)."""
ADMIN_OIDC_CLIENT_ID_KEY = "adminOidcClientId"
ADMIN_OIDC_CLIENT_SECRET_KEY = "adminOidcClientSecret"
SECRET_CONFIG_KEYS = (f"{CONFIG_NAMESPACE}:{ADMIN_OIDC_CLIENT_SECRET_KEY}",)
"""Config the resources stack needs as secrets; ``capture_stack`` stands in placeholders for them."""
DEFAULT_DECLARATION_FILE = Path("stacks") / "declaration.yaml"


def select_environment(plan: Plan, stack: str) -> EnvironmentPlan | None:
    """The environment a stack owns; ``None`` for a resources stack that is no environment."""
    for environment in plan.environments:
        if environment.name == stack:
            return environment
    if stack == plan.resources_stack:
        return None
    known = ", ".join(e.name for e in plan.environments)
    raise UnknownStack(
        f"stack {stack!r} is not an environment of the declaration (known: {known}); "
        "name the stack after an environment, e.g. `pulumi stack select production`"
    )


def declaration_file(config: pulumi.Config, project_dir: Path) -> Path:
    configured = config.get(DECLARATION_FILE_KEY)
    path = Path(configured) if configured else DEFAULT_DECLARATION_FILE
    return path if path.is_absolute() else project_dir / path


def load_plan(config: pulumi.Config, project_dir: Path) -> Plan:
    pulumi_config: Any = config.get_object(DECLARATION_KEY)
    return build_plan(load_declaration(declaration_file(config, project_dir), pulumi_config=pulumi_config))


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
    """Register this stack's resources: its environment, plus org-wide ones in the resources stack."""
    stack = pulumi.get_stack()
    config = pulumi.Config(CONFIG_NAMESPACE)
    plan = load_plan(config, project_dir)
    for warning in plan.warnings_for(stack):
        pulumi.log.warn(str(warning))
    register_stack(
        plan,
        stack,
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
