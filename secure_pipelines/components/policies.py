"""``AccessPolicies``: an environment's Vault ACL policies, with the plan's HCL verbatim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from ..plan import VaultPolicy
from ._component import Component, child_options


@dataclass(frozen=True)
class AccessPoliciesArgs:
    """Arguments of :class:`AccessPolicies`."""

    policies: Sequence[VaultPolicy]
    """The plan's policies of one environment (``EnvironmentPlan.policies``): CI read, admin write."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Resources to write first (in the resources stack: the deployer policies that admit these)."""


class AccessPolicies(Component):
    """Least privilege: each CI role reads its own paths; admins write and rotate but never read."""

    policies: dict[str, vault.Policy]
    """Each policy, keyed by its Vault name."""
    names: list[str]
    """The Vault names of the policies."""

    def __init__(self, name: str, args: AccessPoliciesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("AccessPolicies", name, opts)
        self.policies = {}
        for policy in args.policies:  # a loop, not a comprehension: see `CIRoles`
            self.policies[policy.name] = vault.Policy(
                policy.resource_name,
                name=policy.name,
                policy=policy.hcl,
                opts=child_options(self, vault.Policy, policy.resource_name, depends_on=args.depends_on,
                                   previous_names=policy.previous_resource_names),
            )
        self.names = list(self.policies)
        self.register_outputs({"names": self.names})
