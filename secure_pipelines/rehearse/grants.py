"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor

from ..errors import SecurePipelinesError
from .outcomes import Access
from .vault_client import VaultSession

READ = {"read", "root"}
WRITE = {"create", "update", "root"}


CAPABILITY_BATCH = 500
"""Paths per ``sys/capabilities`` request. OpenBao refuses a JSON body of more than 1,000 strings
("refused JSON input due to high complexity"): a 1000-repository organisation has 4,000 paths."""

_DENIED: frozenset[str] = frozenset({"deny"})


def capabilities_of(root: VaultSession, token: str, data_paths: Sequence[str], workers: int = 1
                    ) -> dict[str, frozenset[str]]:
    """Vault's own ACL answer, for ``token``, of what it may do on each path (every path is asked).

    Asked with the root token (``sys/capabilities``): CI tokens carry no default policy, so they may
    not ask about themselves. Asked :data:`CAPABILITY_BATCH` paths at a time, by ``workers`` threads
    at once (Vault builds the token's ACL anew for every path asked, so a token with a large policy
    keeps a server core busy per request: a few at once use every core).
    """
    batches = [list(data_paths[start:start + CAPABILITY_BATCH])
               for start in range(0, len(data_paths), CAPABILITY_BATCH)]

    def ask(batch: list[str]) -> dict[str, frozenset[str]]:
        answer = root.write("sys/capabilities", {"token": token, "paths": batch})
        if not answer.ok:
            raise SecurePipelinesError(f"capability check refused: {answer.reason}")
        body = answer.body.get("data") or answer.body
        asked: dict[str, frozenset[str]] = {}
        for path in batch:
            caps = body.get(path) or ()
            # Most paths are denied: share one set for them instead of building thousands.
            asked[path] = _DENIED if caps == ["deny"] else frozenset(caps)
        return asked

    found: dict[str, frozenset[str]] = {}
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            found.update(ask(batch))
        return found
    with ThreadPoolExecutor(max_workers=min(workers, len(batches))) as pool:
        for asked in pool.map(ask, batches):
            found.update(asked)
    return {path: found[path] for path in data_paths}


PolicySet = tuple[tuple[str, ...], tuple[str, ...]]
"""A token's policies and its identity policies, sorted, as Vault reports them (``auth/token/lookup``)."""


def policy_set_of(root: VaultSession, token: str) -> PolicySet:
    """What Vault's capability answers for ``token`` depend on: the policies Vault says it holds."""
    answer = root.write("auth/token/lookup", {"token": token})
    if not answer.ok:
        raise SecurePipelinesError(f"token lookup refused: {answer.reason}")
    data = answer.body.get("data") or {}
    return (tuple(sorted(data.get("policies") or ())), tuple(sorted(data.get("identity_policies") or ())))


class SharedCapabilities:
    """Vault's capability answers, each path asked once per policy set.

    Vault computes a token's capabilities from the policies it holds (its own and its entity's
    identity policies), never from the token itself. So two tokens Vault reports holding exactly the
    same policies get the same answer on every path, and a path asked with one of them need not be
    asked with the other: e.g. the infrastructure pipeline's token for a stack, and the rehearsal's
    deployer token for that stack (both hold the deployer policy alone, whose ACL Vault rebuilds for
    every path asked: the costliest capability checks of a rehearsal). Every answer still comes from
    Vault, for a real token holding that policy set; the policies must not change in between (the
    rehearsal writes no policy after the apply, and a deployer's attacks on its own policy are fired
    after its capability check).
    """

    def __init__(self, root: VaultSession, workers: int = 1) -> None:
        self._root = root
        self._workers = workers
        self._known: dict[PolicySet, dict[str, frozenset[str]]] = {}
        self._locks: dict[PolicySet, threading.Lock] = {}
        self._guard = threading.Lock()

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: asked with ``token`` for every path no token of the
        same policy set was asked about yet."""
        key = policy_set_of(self._root, token)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            known = self._known.setdefault(key, {})
        with lock:
            missing = [p for p in dict.fromkeys(data_paths) if p not in known]
            if missing:
                known.update(capabilities_of(self._root, token, missing, self._workers))
            return {path: known[path] for path in data_paths}


def grants_of(who: str, capabilities: Mapping[str, AbstractSet[str]]) -> set[Access]:
    """``Access`` rows for every path where ``capabilities`` allow reading or writing."""
    found: set[Access] = set()
    for data_path, caps in capabilities.items():
        if READ & caps:
            found.add(Access(who, data_path, "read"))
        if WRITE & caps:
            found.add(Access(who, data_path, "write"))
    return found
