"""Admins: write and rotate, never read. Rehearsed with a token carrying exactly the admin role's
``token_policies`` as Vault holds them (the OIDC browser login itself is not rehearsed: it needs the
identity provider); the role's binding to the admin group is read back from Vault instead."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SecurePipelinesError
from ..plan import Plan, SecretPath
from .grants import capabilities_of, grants_of
from .outcomes import Expectation, Kind, Outcome, Rehearsal, verdict_for
from .probe import client_token
from .revocation import revocation_rows
from .seeding import MARKER_KEY
from .server import OpenBaoServer
from .vault_client import Answer, VaultSession

NEIGHBOURS_WRITTEN = 3


def rehearse_admin(rehearsal: Rehearsal, server: OpenBaoServer, plan: Plan, env_name: str,
                    paths: Sequence[SecretPath]) -> None:
    """One environment's admins: rotate every path of it, read none, write no other environment's."""
    env = plan.environment(env_name)
    admin = env.admin_role
    root = VaultSession(server.api_addr, server.root_token)
    role_answer = root.read(f"auth/{admin.mount_path}/role/{admin.role_name}")
    who = f"admin:{admin.role_name}"
    if not role_answer.ok:
        rehearsal.outcomes.append(Outcome(
            "legitimate", f"admin role {admin.mount_path}/{admin.role_name} exists in Vault", env_name, None, None,
            None, "admitted", role_answer.shown, "", "refused-legitimate"))
        return
    role = role_answer.body.get("data") or {}
    bound = role.get("bound_claims") or {}
    group_bound = admin.admin_group in (bound.get(admin.groups_claim) or [])
    rehearsal.outcomes.append(Outcome(
        "verification", f"admin role {admin.role_name} binds {admin.groups_claim} to {admin.admin_group} "
        f"(read back from Vault)", env_name, None, None, None, "admitted",
        f"bound_claims={bound}", "", "ok" if group_bound else "escape",
        proof="OIDC browser login is not rehearsed; the role's group binding is read back instead"))
    created = root.write("auth/token/create-orphan", {
        "policies": list(role.get("token_policies") or []),
        "no_default_policy": bool(role.get("token_no_default_policy")),
        "ttl": f"{int(role.get('token_ttl') or 300)}s",
        "display_name": f"rehearsal-{admin.role_name}",
    })
    token = client_token(created)
    if token is None:
        raise SecurePipelinesError(f"cannot create the admin token for {admin.role_name}: {created.reason}")
    session = VaultSession(server.api_addr, token)
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
    rehearsal.observed |= grants_of(who, capabilities_of(root, token, [p.data_path for p in paths]))
    if own:
        for step in revocation_rows(session, own[0].data_path):
            rehearsal.outcomes.append(_admin_row(step.kind, f"admin {env_name} {step.flow}", env_name, step.expected,
                                                 step.answer, step.layer))


def _admin_row(kind: Kind, flow: str, env: str, expected: Expectation, answer: Answer, layer: str
               ) -> Outcome:
    return Outcome(kind, flow, env, None, None, None, expected, answer.shown,
                   "" if answer.ok else layer, verdict_for(kind, expected, answer.ok))
