"""``JwtAuthMounts``: one Vault JWT auth mount per CI issuer (organisation-wide)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import JwtMount
from ._component import Component, child_options


@dataclass(frozen=True)
class JwtAuthMountsArgs:
    """Arguments of :class:`JwtAuthMounts`."""

    mounts: Sequence[JwtMount]
    """The plan's JWT mounts (``Plan.jwt_mounts``): path, issuer and discovery URL of each CI issuer."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What each mount must wait for (the deployer policies that admit writing it)."""


class JwtAuthMounts(Component):
    """The JWT auth mounts CI jobs log in through; each trusts exactly one issuer."""

    backends: dict[str, vault.jwt.AuthBackend]
    """The auth backend of each mount, keyed by mount path (one per CI issuer)."""
    paths: pulumi.Output[list[str]]
    """The mount paths, as Vault reports them."""

    def __init__(self, name: str, args: JwtAuthMountsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("JwtAuthMounts", name, opts)
        self.backends = {
            mount.path: vault.jwt.AuthBackend(
                mount.resource_name,
                type="jwt",
                path=mount.path,
                description=mount.description,
                oidc_discovery_url=mount.oidc_discovery_url,
                bound_issuer=mount.issuer,
                opts=child_options(self, vault.jwt.AuthBackend, mount.resource_name, depends_on=args.depends_on),
            )
            for mount in args.mounts
        }
        self.paths = pulumi.Output.all(*(backend.path for backend in self.backends.values()))
        self.register_outputs({"paths": self.paths})
