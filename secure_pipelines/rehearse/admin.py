"""Admins: write and rotate, never read; only their environment's group; only from their networks.

Admins log in through the identity provider in a browser (OIDC), which the rehearsal cannot do. The
nearest OpenBao allows: the admin role is read back from Vault as the stack wrote it, and its exact
bindings (audiences, the group claim, user claim, policies, ``token_bound_cidrs``, TTLs) are written
to a JWT role on a rehearsal-only JWT mount trusting a locally generated key for the identity
provider's issuer. ID tokens shaped like the provider's (``iss``, ``aud``, ``sub``, the user claim, the
groups claim) then log in there, from inside and outside the admins' networks. What is substituted:
the browser flow and the provider's signature (a local key), nothing the role binds. The rehearsal
mount is removed afterwards.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SecurePipelinesError
from ..plan import Plan, PromotionRecords, SecretPath
from ..plan.model import AdminRole
from .addresses import inside_address, outside_addresses
from .grants import capabilities_of, grants_of
from .keys import IssuerKey, generate_issuer_keys
from .outcomes import Expectation, Kind, Outcome, Rehearsal, verdict_for
from .probe import client_token, refusing_layer
from .revocation import revocation_rows
from .seeding import MARKER_KEY
from .server import OpenBaoServer
from .tokens import mint
from .vault_client import Answer, VaultSession

NEIGHBOURS_WRITTEN = 3
REHEARSAL_MOUNT_PREFIX = "securepipe-rehearsal-admins-"
ID_TOKEN_LIFETIME_SECONDS = 300
NO_ADMIN_GROUP = "securepipe-rehearsal-not-an-admin-group"
"""The only group of someone who administers nothing (a name no declaration uses)."""
SUBSTITUTION = ("the OIDC browser login is replaced by a JWT login with the admin role's exact bindings, read "
                "back from Vault, on a rehearsal-only mount")
# Read back from the admin role and copied to its stand-in: everything that decides who gets in and what
# the token may do. (OIDC-only fields, such as redirect URIs, have no meaning for a JWT login.)
_BINDINGS = ("bound_audiences", "bound_claims", "bound_claims_type", "bound_subject", "user_claim", "groups_claim",
             "token_policies", "token_no_default_policy", "token_bound_cidrs", "token_ttl", "token_max_ttl",
             "token_type", "token_period", "token_explicit_max_ttl", "token_num_uses")


@dataclass(frozen=True)
class _StandIn:
    """The admin role's bindings on a rehearsal-only JWT mount, and the key its ID tokens are signed with."""

    mount: str
    role: str
    key: IssuerKey
    audience: str
    user_claim: str
    groups_claim: str


def rehearse_admin(rehearsal: Rehearsal, server: OpenBaoServer, plan: Plan, env_name: str,
                   paths: Sequence[SecretPath], records: Sequence[PromotionRecords] = ()) -> None:
    """One environment's admins: log in only with their group and from their networks, rotate every
    path of the environment, read none, write no other environment's, end their token."""
    env = plan.environment(env_name)
    admin = env.admin_role
    root = VaultSession(server.api_addr, server.root_token)
    role_answer = root.read(f"auth/{admin.mount_path}/role/{admin.role_name}")
    if not role_answer.ok:
        rehearsal.outcomes.append(Outcome(
            "legitimate", f"admin role {admin.mount_path}/{admin.role_name} exists in Vault", env_name, None, None,
            None, "admitted", role_answer.shown, "", "refused-legitimate"))
        return
    role: dict[str, Any] = role_answer.body.get("data") or {}
    rehearsal.outcomes.extend(_read_back(admin, role, env_name))
    stand_in = _stand_in(root, plan, admin, role)
    try:
        _rehearse_logins(rehearsal, server, plan, admin, stand_in, env_name, paths, records)
    finally:
        root.call("delete", f"sys/auth/{stand_in.mount}")


def _as_vault_shows(cidr: str) -> str:
    """Vault reads a single address back without its prefix length (``/32`` in IPv4, ``/128`` in IPv6 only)."""
    network = ipaddress.ip_network(cidr)
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else cidr


def _read_back(admin: AdminRole, role: dict[str, Any], env_name: str) -> list[Outcome]:
    """The role as Vault holds it binds this environment's group and the admins' networks."""
    bound = role.get("bound_claims") or {}
    group_bound = (bound.get(admin.groups_claim) or []) == [admin.admin_group]
    cidrs = sorted(role.get("token_bound_cidrs") or [])
    expected = sorted(_as_vault_shows(c) for c in admin.token_bound_cidrs)
    return [
        Outcome("verification", f"admin role {admin.role_name} binds {admin.groups_claim} to {admin.admin_group} "
                "alone (read back from Vault)", env_name, None, None, None, "admitted", f"bound_claims={bound}", "",
                "ok" if group_bound else "escape", proof=SUBSTITUTION),
        Outcome("verification", f"admin role {admin.role_name} binds its tokens to the admins' networks "
                f"{', '.join(admin.token_bound_cidrs) or '(none declared)'} (read back from Vault)", env_name, None,
                None, None, "admitted", f"token_bound_cidrs={cidrs}", "", "ok" if cidrs == expected else "escape"),
    ]


def _stand_in(root: VaultSession, plan: Plan, admin: AdminRole, role: dict[str, Any]) -> _StandIn:
    issuer = plan.admin_auth.oidc_discovery_url
    key = generate_issuer_keys([issuer])[issuer]
    mount = REHEARSAL_MOUNT_PREFIX + admin.environment
    root.call("delete", f"sys/auth/{mount}")  # left over by an interrupted rehearsal on this Vault, if any
    steps = [
        ("post", f"sys/auth/{mount}", {"type": "jwt", "description": "secure-pipelines rehearsal: admin logins"}),
        ("post", f"auth/{mount}/config", {"bound_issuer": issuer, "jwt_validation_pubkeys": [key.public_pem]}),
        ("post", f"auth/{mount}/role/{admin.role_name}",
         {"role_type": "jwt", **{name: role[name] for name in _BINDINGS if role.get(name) not in (None, "")}}),
    ]
    for method, path, body in steps:
        answer = root.call(method, path, body)
        if not answer.ok:
            raise SecurePipelinesError(f"cannot set up the admin login stand-in ({path}): {answer.reason}")
    return _StandIn(mount, admin.role_name, key, str((role.get("bound_audiences") or [""])[0]),
                    str(role.get("user_claim") or "email"), str(role.get("groups_claim") or admin.groups_claim))


def _id_token(stand_in: _StandIn, plan: Plan, groups: list[str]) -> str:
    """An ID token as the identity provider would issue it to an admin who belongs to ``groups``."""
    now = int(time.time())
    return mint(stand_in.key, {
        "iss": plan.admin_auth.oidc_discovery_url, "aud": stand_in.audience, "sub": "rehearsal-admin",
        stand_in.user_claim: "admin@rehearsal.invalid", stand_in.groups_claim: groups,
        "iat": now, "nbf": now, "exp": now + ID_TOKEN_LIFETIME_SECONDS,
    })


def _login(server: OpenBaoServer, stand_in: _StandIn, token: str, address: str | None) -> Answer:
    session = VaultSession(server.forwarded_addr, client_address=address)
    return session.write(f"auth/{stand_in.mount}/login", {"role": stand_in.role, "jwt": token})


def _rehearse_logins(rehearsal: Rehearsal, server: OpenBaoServer, plan: Plan, admin: AdminRole,
                     stand_in: _StandIn, env_name: str, paths: Sequence[SecretPath],
                     records: Sequence[PromotionRecords]) -> None:
    inside = inside_address(admin.token_bound_cidrs[0]) if admin.token_bound_cidrs else None
    own_group = [admin.admin_group]
    answer = _login(server, stand_in, _id_token(stand_in, plan, own_group), inside)
    rehearsal.outcomes.append(_admin_row(
        "legitimate", f"admin {env_name} logs in (group {admin.admin_group}, from {inside or 'anywhere'})", env_name,
        "admitted", answer, ""))
    for cidr in admin.token_bound_cidrs[1:]:
        address = inside_address(cidr)
        other = _login(server, stand_in, _id_token(stand_in, plan, own_group), address)
        rehearsal.outcomes.append(_admin_row(
            "legitimate", f"admin {env_name} logs in (group {admin.admin_group}, from {address} ({cidr}))",
            env_name, "admitted", other, ""))
    others = sorted({e.admin_role.admin_group for e in plan.environments} - {admin.admin_group})
    intruders = [(f"an admin of another environment (group {group})", [group]) for group in others]
    intruders.append(("someone in no admin group", [NO_ADMIN_GROUP]))
    for who, groups in intruders:
        attempt = _login(server, stand_in, _id_token(stand_in, plan, groups), inside)
        rehearsal.outcomes.append(_admin_row(
            "attack", f"admin {env_name}: {who} logs in", env_name,
            "refused", attempt, refusing_layer(attempt, f"Vault: bound_claims {admin.groups_claim}")))
    outside = outside_addresses(admin.token_bound_cidrs) if admin.token_bound_cidrs else []
    for address in outside:
        attempt = _login(server, stand_in, _id_token(stand_in, plan, own_group), address)
        rehearsal.outcomes.append(_admin_row(
            "attack", f"admin {env_name}: its admin logs in from outside the admins' networks ({address})", env_name,
            "refused", attempt, refusing_layer(attempt, "Vault: token_bound_cidrs")))
    token = client_token(answer)
    if token is None:
        return
    session = VaultSession(server.forwarded_addr, token, inside)
    own = [p for p in paths if p.environment == env_name]
    for address in outside[:1] if own else []:
        replayed = VaultSession(server.forwarded_addr, token, address).write(
            own[0].data_path, {"data": {MARKER_KEY: "written with a stolen admin token"}})
        rehearsal.outcomes.append(_admin_row(
            "attack", f"admin {env_name}: its token replayed from {address} (outside the admins' networks)", env_name,
            "refused", replayed, "Vault: token_bound_cidrs (token tied to the admins' networks)"))
    _rehearse_access(rehearsal, server, session, admin, env_name, paths, records)


def _rehearse_access(rehearsal: Rehearsal, server: OpenBaoServer, session: VaultSession, admin: AdminRole,
                     env_name: str, paths: Sequence[SecretPath], records: Sequence[PromotionRecords]) -> None:
    root = VaultSession(server.api_addr, server.root_token)
    own = [p for p in paths if p.environment == env_name]
    elsewhere = [p for p in paths if p.environment != env_name]
    for path in own:
        answer = session.write(path.data_path, {"data": {MARKER_KEY: "rotated by an admin"}})
        rehearsal.outcomes.append(_admin_row("legitimate", f"admin {env_name} rotates {path.data_path}",
                                             env_name, "admitted", answer, ""))
        answer = session.read(path.data_path)
        rehearsal.outcomes.append(_admin_row("attack", f"admin {env_name} reads {path.data_path}", env_name,
                                             "refused", answer, "Vault: ACL policy (write-only admin)"))
    for path in elsewhere[:NEIGHBOURS_WRITTEN]:
        answer = session.write(path.data_path, {"data": {MARKER_KEY: "written by another environment's admin"}})
        rehearsal.outcomes.append(_admin_row("attack", f"admin {env_name} writes {path.data_path}", env_name,
                                             "refused", answer, "Vault: ACL policy"))
    for place in records:  # only this environment's deploys record what they deployed
        forged = session.write(f"{place.data_prefix}/{secrets.token_hex(32)}", {"data": {"image": "forged"}})
        rehearsal.outcomes.append(_admin_row("attack", f"admin {env_name} forges a promotion record "
                                             f"({place.data_glob})", env_name, "refused", forged,
                                             "Vault: ACL policy (records denied to admins)"))
    who = f"admin:{admin.role_name}"
    globs = [place.data_glob for place in records]
    rehearsal.observed |= grants_of(who, capabilities_of(root, session.token, [p.data_path for p in paths] + globs))
    if own:
        for step in revocation_rows(session, own[0].data_path):
            rehearsal.outcomes.append(_admin_row(step.kind, f"admin {env_name} {step.flow}", env_name, step.expected,
                                                 step.answer, step.layer))


def _admin_row(kind: Kind, flow: str, env: str, expected: Expectation, answer: Answer, layer: str
               ) -> Outcome:
    return Outcome(kind, flow, env, None, None, None, expected, answer.shown,
                   "" if answer.ok else layer, verdict_for(kind, expected, answer.ok))
