"""``SecretStore``: an environment's KV v2 mount, which no Pulumi run may ever destroy.

No secret value is written here: Pulumi state would hold it. Admins write values with their
write-only policy; the store's ``data_paths`` says where.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import SecretStore as SecretStorePlan
from ._component import Component, child_options


@dataclass(frozen=True)
class SecretStoreArgs:
    """Arguments of :class:`SecretStore`."""

    store: SecretStorePlan
    """The plan's secret store of one environment (``EnvironmentPlan.secret_store``)."""


class SecretStore(Component):
    """A KV v2 mount, protected and retained: neither ``pulumi destroy`` nor a refactor loses it."""

    mount: vault.Mount
    """The KV v2 mount."""
    mount_path: pulumi.Output[str]
    """The mount's path, e.g. ``kv-production``."""
    data_paths: list[str]
    """The API path of every secret CI roles read, e.g. ``kv-production/data/apps/webapp``."""

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("SecretStore", name, opts)
        store = args.store
        self.mount = vault.Mount(
            store.resource_name,
            path=store.mount,
            type="kv",
            options={"version": "2"},
            description=store.description,
            opts=child_options(self, vault.Mount, store.resource_name, keep=True),
        )
        self.mount_path = self.mount.path
        self.data_paths = [path.data_path for path in store.paths]
        self.register_outputs({"mountPath": self.mount_path, "dataPaths": self.data_paths})
