"""``AdminAuth``: the OIDC auth mount admins log in through (organisation-wide)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import AdminAuthMount
from ._component import Component, child_options


@dataclass(frozen=True)
class AdminAuthArgs:
    """Arguments of :class:`AdminAuth`."""

    mount: AdminAuthMount
    """The plan's admin auth mount (``Plan.admin_auth``): path and identity provider."""
    oidc_client_id: pulumi.Input[str]
    """Vault's client id at the identity provider (stack config ``secure-pipelines:adminOidcClientId``)."""
    oidc_client_secret: pulumi.Input[str]
    """Vault's client secret at the identity provider; pass a Pulumi secret
    (``pulumi config set --secret secure-pipelines:adminOidcClientSecret``)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the mount must wait for (the deployer policies that admit writing it)."""


class AdminAuth(Component):
    """An OIDC auth mount; per-environment :class:`AdminRole` roles bind it to the admin group."""

    backend: vault.jwt.AuthBackend
    """The OIDC auth backend."""
    path: pulumi.Output[str]
    """The mount path, e.g. ``admins``."""

    def __init__(self, name: str, args: AdminAuthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("AdminAuth", name, opts)
        mount = args.mount
        self.backend = vault.jwt.AuthBackend(
            mount.resource_name,
            type="oidc",
            path=mount.path,
            description=mount.description,
            oidc_discovery_url=mount.oidc_discovery_url,
            oidc_client_id=args.oidc_client_id,
            oidc_client_secret=pulumi.Output.secret(args.oidc_client_secret),
            default_role=mount.default_role,
            opts=child_options(self, vault.jwt.AuthBackend, mount.resource_name, depends_on=args.depends_on),
        )
        self.path = self.backend.path.apply(lambda path: path or mount.path)
        self.register_outputs({"path": self.path})
