"""``CIRoles``: one Vault JWT role per (repository, environment, CI system[, developer]).

Two ways to write a role, chosen per role from the plan:

* ``vault.jwt.AuthBackendRole`` when every bound value is a string. Its ``bound_claims`` is a
  ``Mapping[str, str]`` and the provider splits each value on commas into a list, so a claim's
  values are joined with ``,`` (the plan guarantees no value contains one; it is checked here).
* ``vault.generic.Endpoint`` with the role's full Vault API body when a bound value is typed
  (``CIRole.has_typed_claims``), e.g. a CI system's ``ssh-rerun`` claim bound to the JSON boolean
  ``false``. Vault's string matching compares JSON values, so the provider's string ``"false"``
  would refuse every token; only a JSON ``false`` in the role body admits normal runs and refuses
  SSH reruns.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pulumi
import pulumi_vault as vault

from ..plan import CIRole
from ..plan.model import BoundClaim, ClaimsMatch, TokenType
from ._component import Component, child_options, no_comma


class JwtRoleSettings(Protocol):
    """What Vault stores for one CI role: the plan's :class:`CIRole` has it, and so does a role the
    ``CIJwtRole`` component builds from explicit fields. One function writes both."""

    @property
    def resource_name(self) -> str: ...
    @property
    def mount_path(self) -> str: ...
    @property
    def role_name(self) -> str: ...
    @property
    def role_type(self) -> Literal["jwt"]: ...
    @property
    def bound_audiences(self) -> tuple[str, ...]: ...
    @property
    def bound_claims(self) -> tuple[BoundClaim, ...]: ...
    @property
    def claims_match(self) -> ClaimsMatch: ...
    @property
    def user_claim(self) -> str: ...
    @property
    def token_policies(self) -> tuple[str, ...]: ...
    @property
    def token_bound_cidrs(self) -> tuple[str, ...]: ...
    @property
    def token_ttl(self) -> int: ...
    @property
    def token_max_ttl(self) -> int: ...
    @property
    def token_type(self) -> TokenType: ...
    @property
    def has_typed_claims(self) -> bool: ...


def _vault_cidr(cidr: str) -> str:
    """A CIDR as Vault reads it back: a one-address network is shown as the bare address.

    Writing ``203.0.113.7/32`` would read back as ``203.0.113.7`` and show as drift on every
    refresh; the bare address binds exactly the same caller.
    """
    network = ipaddress.ip_network(cidr)
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _vault_role_body(role: JwtRoleSettings) -> dict[str, Any]:
    """The role exactly as Vault's ``auth/<mount>/role/<name>`` API takes it.

    Every security setting is written; ``bound_claims`` keeps each claim's values as a JSON list
    (any-of), with booleans left as booleans. A write to an existing role keeps every field it
    does not name, and drift detection reads back only the fields written, so the two settings
    that could widen access if set by hand are pinned too: ``token_period`` (a periodic token is
    renewable for ever) and ``groups_claim`` (identity groups can carry more policies).
    """
    return {
        "role_type": role.role_type,
        "bound_audiences": list(role.bound_audiences),
        "bound_claims": {claim.claim: list(claim.values) for claim in role.bound_claims},
        "bound_claims_type": role.claims_match,
        "user_claim": role.user_claim,
        "token_policies": list(role.token_policies),
        "token_no_default_policy": True,
        "token_bound_cidrs": [_vault_cidr(cidr) for cidr in role.token_bound_cidrs],
        "token_ttl": role.token_ttl,
        "token_max_ttl": role.token_max_ttl,
        "token_period": 0,
        "token_type": role.token_type,
        "groups_claim": "",
    }


def _role_api_path(role: JwtRoleSettings) -> str:
    return f"auth/{role.mount_path}/role/{role.role_name}"


def _provider_bound_claims(role: JwtRoleSettings) -> dict[str, str]:
    """``bound_claims`` for ``vault.jwt.AuthBackendRole``: each claim's values joined with ``,``."""
    if role.has_typed_claims:
        raise ValueError(
            f"role {role.role_name}: a bound value is not a string; the provider's Mapping[str, str] "
            "cannot express it (write this role with its API body instead)"
        )
    joined: dict[str, str] = {}
    for claim in role.bound_claims:
        values = [no_comma(f"role {role.role_name}: bound_claims.{claim.claim}", str(v)) for v in claim.values]
        joined[claim.claim] = ",".join(values)
    return joined


@dataclass(frozen=True)
class CIRolesArgs:
    """Arguments of :class:`CIRoles`."""

    roles: Sequence[CIRole]
    """The plan's CI roles of one environment (``EnvironmentPlan.roles``)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The JWT mounts, when the same stack creates them (roles are written into a mount)."""


class CIRoles(Component):
    """The JWT roles CI jobs log in with: issuer, audience, claims, CIDRs, TTLs and policies."""

    roles: dict[str, pulumi.CustomResource]
    """Each role's resource (``AuthBackendRole`` or ``generic.Endpoint``), keyed by ``<mount>/<role>``."""
    role_paths: list[str]
    """The API path of every role, e.g. ``auth/<mount>/role/production.webapp``."""

    def __init__(self, name: str, args: CIRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("CIRoles", name, opts)
        # A loop, not a comprehension: Pulumi records the call stack of every resource it registers, at a cost
        # per frame, and a comprehension is one more frame for each of thousands of roles.
        self.roles = {}
        for role in args.roles:
            self.roles[f"{role.mount_path}/{role.role_name}"] = jwt_role(
                self, role, args.depends_on, role.previous_resource_names
            )
        self.role_paths = [_role_api_path(role) for role in args.roles]
        self.register_outputs({"rolePaths": self.role_paths})


def jwt_role(
    parent: pulumi.Resource, role: JwtRoleSettings, depends_on: Sequence[pulumi.Resource] = (),
    previous_names: Sequence[str] = (),
) -> pulumi.CustomResource:
    """The one resource that writes ``role`` into Vault, as a child of ``parent``.

    A ``generic.Endpoint`` with the role's API body when a bound value is typed (a boolean the
    provider's string map cannot say), else a ``jwt.AuthBackendRole``. ``previous_names``: its
    resource names before a rename (aliases).
    """
    if role.has_typed_claims:
        # Read back after every refresh (drift detection on exactly the fields written);
        # Vault returns many more fields than we write, so absent ones are ignored.
        return vault.generic.Endpoint(
            role.resource_name,
            path=_role_api_path(role),
            data_json=json.dumps(_vault_role_body(role), sort_keys=True),
            disable_read=False,
            ignore_absent_fields=True,
            opts=child_options(parent, vault.generic.Endpoint, role.resource_name, depends_on=depends_on,
                               previous_names=previous_names),
        )
    return vault.jwt.AuthBackendRole(
        role.resource_name,
        backend=role.mount_path,
        role_name=role.role_name,
        role_type=role.role_type,
        bound_audiences=list(role.bound_audiences),
        bound_claims=_provider_bound_claims(role),
        bound_claims_type=role.claims_match,
        user_claim=role.user_claim,
        token_policies=list(role.token_policies),
        token_no_default_policy=True,
        token_bound_cidrs=[_vault_cidr(cidr) for cidr in role.token_bound_cidrs],
        token_ttl=role.token_ttl,
        token_max_ttl=role.token_max_ttl,
        token_type=role.token_type,
        opts=child_options(parent, vault.jwt.AuthBackendRole, role.resource_name, depends_on=depends_on,
                           previous_names=previous_names),
    )
