"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from ..errors import SecurePipelinesError
from .outcomes import Access
from .vault_client import VaultSession

READ = {"read", "root"}
WRITE = {"create", "update", "root"}


CAPABILITY_BATCH = 500
"""Paths per ``sys/capabilities`` request. OpenBao refuses a JSON body of more than 1,000 strings
("refused JSON input due to high complexity"): a 1000-repository organisation has 4,000 paths."""

_DENIED: frozenset[str] = frozenset({"deny"})


def capabilities_of(root: VaultSession, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
    """Vault's own ACL answer, for ``token``, of what it may do on each path (every path is asked).

    Asked with the root token (``sys/capabilities``): CI tokens carry no default policy, so they may
    not ask about themselves. Asked :data:`CAPABILITY_BATCH` paths at a time.
    """
    found: dict[str, frozenset[str]] = {}
    for start in range(0, len(data_paths), CAPABILITY_BATCH):
        batch = list(data_paths[start:start + CAPABILITY_BATCH])
        answer = root.write("sys/capabilities", {"token": token, "paths": batch})
        if not answer.ok:
            raise SecurePipelinesError(f"capability check refused: {answer.reason}")
        body = answer.body.get("data") or answer.body
        for path in batch:
            caps = body.get(path) or ()
            # Most paths are denied: share one set for them instead of building thousands.
            found[path] = _DENIED if caps == ["deny"] else frozenset(caps)
    return found


def grants_of(who: str, capabilities: Mapping[str, AbstractSet[str]]) -> set[Access]:
    """``Access`` rows for every path where ``capabilities`` allow reading or writing."""
    found: set[Access] = set()
    for data_path, caps in capabilities.items():
        if READ & caps:
            found.add(Access(who, data_path, "read"))
        if WRITE & caps:
            found.add(Access(who, data_path, "write"))
    return found
