"""``Deployers``: each stack's deployer policy (organisation-wide, created only in ``Plan.resources_stack``).

A stack's ``pulumi up`` runs with a token holding its deployer policy alone; the resources stack writes
them all, and first: the other stacks' objects (and its own environment's) are written under them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import Deployer
from ._component import Component, child_options


@dataclass(frozen=True)
class DeployersArgs:
    """Arguments of :class:`Deployers`."""

    deployers: Sequence[Deployer]
    """The plan's deployers, one per stack (``Plan.deployers``)."""


class Deployers(Component):
    """The deployer policy of every stack: exactly what its ``pulumi up`` needs in Vault."""

    policies: dict[str, vault.Policy]
    """Each deployer policy, keyed by stack."""

    def __init__(self, name: str, args: DeployersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Deployers", name, opts)
        self.policies = {
            deployer.stack: vault.Policy(
                deployer.policy.resource_name,
                name=deployer.policy.name,
                policy=deployer.policy.hcl,
                opts=child_options(self, vault.Policy, deployer.policy.resource_name),
            )
            for deployer in args.deployers
        }
        self.register_outputs({"policies": [d.policy.name for d in args.deployers]})
