"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SecurePipelinesError
from .outcomes import Access
from .vault_client import VaultSession

READ = {"read", "root"}
WRITE = {"create", "update", "root"}


def capabilities_of(root: VaultSession, token: str, data_paths: Sequence[str]) -> dict[str, set[str]]:
    """Vault's own ACL answer, for ``token``, of what it may do on each path.

    Asked with the root token (``sys/capabilities``): CI tokens carry no default policy, so they may
    not ask about themselves.
    """
    answer = root.write("sys/capabilities", {"token": token, "paths": list(data_paths)})
    if not answer.ok:
        raise SecurePipelinesError(f"capability check refused: {answer.reason}")
    body = answer.body.get("data") or answer.body
    return {p: set(body.get(p) or ()) for p in data_paths}


def grants_of(who: str, capabilities: dict[str, set[str]]) -> set[Access]:
    """``Access`` rows for every path where ``capabilities`` allow reading or writing."""
    found: set[Access] = set()
    for data_path, caps in capabilities.items():
        if READ & caps:
            found.add(Access(who, data_path, "read"))
        if WRITE & caps:
            found.add(Access(who, data_path, "write"))
    return found
