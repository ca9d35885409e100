"""The stack program: settings -> model -> plan -> components -> exports.

``__main__.py`` at the project root calls :func:`main`, which reads the stack's view through the same
front door as every command (``secure_pipelines.views``); ``capture_stack`` registers the same view
under Pulumi's mocks runtime. The stack's name selects the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_github as github

from ..components.collector import pace_for_registration
from ..components.environment import Environment, EnvironmentArgs
from ..components.organization import Organization, organization_args
from ..errors import SecurePipelinesError, UnknownStack
from ..plan.github_app import app_needs
from ..plan.model import EnvironmentPlan, Plan
from ..project import CONFIG_NAMESPACE, DECLARATION_FILE_SETTING, DECLARATION_SETTING
from ..views import StackView, program_view

ADMIN_OIDC_CLIENT_ID_KEY = "adminOidcClientId"
ADMIN_OIDC_CLIENT_SECRET_KEY = "adminOidcClientSecret"
GITHUB_APP_ID_KEY = "githubAppId"
GITHUB_APP_INSTALLATION_ID_KEY = "githubAppInstallationId"
GITHUB_APP_PRIVATE_KEY_KEY = "githubAppPrivateKey"
SECRET_CONFIG_KEYS = (f"{CONFIG_NAMESPACE}:{ADMIN_OIDC_CLIENT_SECRET_KEY}",
                      f"{CONFIG_NAMESPACE}:{GITHUB_APP_PRIVATE_KEY_KEY}")
"""Config the stacks need as secrets; ``capture_stack`` stands in placeholders for them."""
GITHUB_APP_PROVIDER = "github-app"


@dataclass(frozen=True)
class GitHubApp:
    """The GitHub App installation the stacks apply the GitHub side with (never a personal token)."""

    app_id: pulumi.Input[str]
    installation_id: pulumi.Input[str]
    private_key: pulumi.Input[str]
    """The App's private key, PEM content (a Pulumi secret)."""


def github_app_from_config(config: pulumi.Config) -> GitHubApp:
    """The App installation from the stack config; a missing key names itself and how to set it."""
    return GitHubApp(
        app_id=config.require(GITHUB_APP_ID_KEY),
        installation_id=config.require(GITHUB_APP_INSTALLATION_ID_KEY),
        private_key=config.require_secret(GITHUB_APP_PRIVATE_KEY_KEY),
    )


def github_app_provider(plan: Plan, app: GitHubApp) -> github.Provider:
    """The GitHub provider for the App installation. The provider prefers App auth to any token it might
    find (``GITHUB_TOKEN``), so no personal token is ever used for these stacks."""
    return github.Provider(GITHUB_APP_PROVIDER, owner=plan.github_owner, app_auth=github.ProviderAppAuthArgs(
        id=app.app_id, installation_id=app.installation_id, pem_file=app.private_key))


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
        github_app=lambda: github_app_from_config(config),
    )


def register_stack(
    plan: Plan,
    stack: str,
    admin_oidc_client_id: Callable[[], pulumi.Input[str]],
    admin_oidc_client_secret: Callable[[], pulumi.Input[str]],
    github_app: Callable[[], GitHubApp] | None = None,
) -> None:
    """The components (and exports) of one stack: its environment, and the organisation if it owns it.

    With ``github_app``, a stack that writes anything on GitHub does it through that App installation
    (read only where needed); without it, through the default GitHub provider.
    """
    environment = select_environment(plan, stack)
    write_first: list[pulumi.Resource] = []
    providers: list[pulumi.ProviderResource] = []
    if github_app is not None and app_needs(plan, (stack,)).needed:
        providers.append(github_app_provider(plan, github_app()))
    opts = pulumi.ResourceOptions(providers=providers) if providers else None
    if stack == plan.resources_stack:
        organization = Organization(
            plan.organization,
            organization_args(plan, admin_oidc_client_id(), admin_oidc_client_secret()),
            opts,
        )
        write_first = organization.write_first
        pulumi.export("jwtMounts", organization.jwt_mounts.paths)
        pulumi.export("adminAuthPath", organization.admin_auth.path)
        pulumi.export("protectedRepositories", list(organization.branch_protection.protections))
        pulumi.export("deployerPolicies", [d.policy.name for d in plan.deployers])
        pulumi.export("deployerRoles", [f"auth/{r.mount_path}/role/{r.role_name}"
                                        for r in plan.infrastructure_roles])

    if environment is not None:
        resources = Environment(environment.name, EnvironmentArgs(environment=environment, depends_on=write_first),
                                opts)
        pulumi.export("environment", environment.name)
        pulumi.export("secretMount", resources.secret_store.mount_path)
        pulumi.export("secretDataPaths", resources.secret_store.data_paths)
        pulumi.export("policies", resources.policies.names)
        pulumi.export("ciRoles", resources.ci_roles.role_paths)
        pulumi.export("adminRole", resources.admin_role.role_name)
