"""Prove, before anything else, that the address Vault checks is the one the rehearsal sends."""

from __future__ import annotations

from ..errors import SecurePipelinesError
from .outcomes import Expectation, Outcome, verdict_for
from .probe import client_token
from .server import OpenBaoServer
from .vault_client import VaultSession

XFF_PROBE_ROLE = "securepipe-rehearsal-xff-probe"
XFF_PROBE_CIDR = "192.0.2.55/32"
"""A documentation address: a token bound to it is useless anywhere real."""


def verify_forwarded_address(server: OpenBaoServer) -> list[Outcome]:
    """Prove that the address Vault checks is the one sent in X-Forwarded-For.

    A token role bound to one documentation address issues a token; the token works from that address
    only when the address is sent (as the right-most entry when there are several), and not from its
    neighbour nor without the header.
    """
    root = VaultSession(server.api_addr, server.root_token)
    role_path = f"auth/token/roles/{XFF_PROBE_ROLE}"
    # Not the root policy: Vault never binds a root token to addresses.
    root.write(role_path, {"token_bound_cidrs": [XFF_PROBE_CIDR], "orphan": True, "token_ttl": 120,
                           "allowed_policies": ["default"]})
    created = root.write(f"auth/token/create/{XFF_PROBE_ROLE}", {"policies": ["default"]})
    token = client_token(created)
    if token is None:
        raise SecurePipelinesError(f"cannot create the address probe token: {created.reason}")
    inside = XFF_PROBE_CIDR.split("/")[0]
    neighbour = inside[: inside.rfind(".") + 1] + str(int(inside.rsplit(".", 1)[1]) + 1)
    # A proxy appends the address it saw: Vault judges the right-most entry, never one a client prepended.
    cases: list[tuple[str | None, Expectation]] = [
        (inside, "admitted"), (neighbour, "refused"), (None, "refused"),
        (f"{neighbour}, {inside}", "admitted"), (f"{inside}, {neighbour}", "refused"),
    ]
    outcomes: list[Outcome] = []
    for address, expected in cases:
        answer = VaultSession(server.forwarded_addr, token, address).read("auth/token/lookup-self")
        shown = f"X-Forwarded-For {address}" if address else "no X-Forwarded-For (127.0.0.1)"
        outcomes.append(Outcome(
            kind="verification",
            flow=f"token bound to {XFF_PROBE_CIDR} used with {shown}",
            environment="-", repository=None, ci=None, developer=None,
            expected=expected,
            got=answer.shown,
            layer="" if answer.ok else "Vault: token_bound_cidrs",
            verdict=verdict_for("verification", expected, answer.ok),
            proof="the address Vault checks is the right-most X-Forwarded-For address the rehearsal sends",
        ))
    root.call("delete", role_path)
    return outcomes
