"""One stack config file per environment (``stacks/Pulumi.<environment>.yaml``): the provider settings
``pulumi up -s <environment>`` needs, never a credential."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ruamel.yaml import YAML

from ..project import CONFIG_NAMESPACE
from ..render.templating import Templates
from .model import placeholder_number

VAULT_ADDRESS_KEY = "vault:address"
GITHUB_OWNER_KEY = "github:owner"
ADMIN_OIDC_CLIENT_ID_KEY = f"{CONFIG_NAMESPACE}:adminOidcClientId"
GITHUB_APP_ID_KEY = f"{CONFIG_NAMESPACE}:githubAppId"
GITHUB_APP_INSTALLATION_ID_KEY = f"{CONFIG_NAMESPACE}:githubAppInstallationId"
TEMPLATES = Templates(__package__ or "secure_pipelines.scaffold")


@dataclass(frozen=True)
class Setting:
    """One stack config key, its value and why it has that value."""

    key: str
    value: str
    comment: str = ""


@dataclass(frozen=True)
class StackSettings:
    """What one stack's config file says."""

    stack: str
    resources: bool
    """The stack owns the organisation-wide resources (the declaration's ``resources_stack``)."""
    settings: tuple[Setting, ...]


def placeholder_vault_address(organization: str) -> str:
    return f"https://vault.{organization}.example:8200"


def provider_settings(stack: str, *, owner: str, resources: bool, vault_address: str | None,
                      admin_client_id: str, organization: str) -> StackSettings:
    """The provider settings of one stack: Vault's address, the GitHub owner and the GitHub App installation
    the GitHub side is applied with (its private key is a Pulumi secret); for the resources stack also Vault's
    client id at the admins' identity provider (its secret is set with
    ``pulumi config set --secret``, never written here)."""
    known = vault_address and vault_address != placeholder_vault_address(organization)
    address = (Setting(VAULT_ADDRESS_KEY, vault_address) if known and vault_address else
               Setting(VAULT_ADDRESS_KEY, placeholder_vault_address(organization),
                       "placeholder: your Vault's address (or VAULT_ADDR)"))
    settings = [
        address, Setting(GITHUB_OWNER_KEY, owner, "the GitHub organisation"),
        Setting(GITHUB_APP_ID_KEY, str(placeholder_number(90)), "placeholder: the GitHub App's id (GitHub > "
                "Organization settings > Developer settings > GitHub Apps > the App > App ID)"),
        Setting(GITHUB_APP_INSTALLATION_ID_KEY, str(placeholder_number(91)), "placeholder: its installation id on "
                f"{owner} (the number ending https://github.com/organizations/{owner}/settings/installations/<id>)"),
    ]
    if resources:
        settings.append(Setting(ADMIN_OIDC_CLIENT_ID_KEY, admin_client_id,
                                "Vault's client id at your identity provider: one of admins.auth.bound_audiences"))
    return StackSettings(stack, resources, tuple(settings))


def stack_file_text(stack: StackSettings) -> str:
    """The file's text; values are JSON-quoted where YAML would read them as something else."""
    settings = [Setting(s.key, _scalar(s.value), s.comment) for s in stack.settings]
    return TEMPLATES.render("stack.yaml.j2", stack=stack.stack, resources=stack.resources, settings=settings)


def _scalar(value: str) -> str:
    """``value`` as YAML reads it back as the same string: plain where it can be, else quoted."""
    try:
        reads_back = YAML(typ="safe", pure=True).load(value) == value
    except Exception:
        reads_back = False
    return value if reads_back and "#" not in value else json.dumps(value)
