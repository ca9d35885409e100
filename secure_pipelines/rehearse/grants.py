"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import SecurePipelinesError
from .outcomes import Access
from .vault_client import VaultSession

READ = {"read", "root"}
WRITE = {"create", "update", "root"}


CAPABILITY_BATCH = 50
"""Paths per ``sys/capabilities`` request. Vault builds the token's ACL anew for every path asked, and a
deployer policy pins every role and policy of its stack: at 1000 repositories dev's deployer costs about
49 ms per path, so 500 paths a request (under OpenBao's limit of 1,000 strings in a JSON body) ran past
the client's 30 s timeout with three requests at once; 50 paths stay a few seconds each."""

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
        for asked in pool.map(ask, batches):  # in the batches' order, as the serial loop
            found.update(asked)
    return found


PolicySet = tuple[tuple[str, ...], tuple[str, ...]]
"""A token's policies and its identity policies, sorted, as Vault reports them (``auth/token/lookup``)."""


def policy_set_of(root: VaultSession, token: str) -> PolicySet:
    """What Vault's capability answers for ``token`` depend on: the policies Vault says it holds."""
    answer = root.write("auth/token/lookup", {"token": token})
    if not answer.ok:
        raise SecurePipelinesError(f"token lookup refused: {answer.reason}")
    data = answer.body.get("data") or {}
    return (tuple(sorted(data.get("policies") or ())), tuple(sorted(data.get("identity_policies") or ())))


def _policy_text(root: VaultSession, name: str) -> str:
    """The text Vault holds for policy ``name`` (empty when it has none)."""
    answer = root.read(f"sys/policies/acl/{name}")
    return str((answer.body.get("data") or {}).get("policy") or "") if answer.ok else ""


def _token_holding(root: VaultSession, policies: Sequence[str], ttl: str, purpose: str) -> str:
    """A token root mints holding exactly ``policies`` (no default policy), for the rehearsal's checks."""
    minted = root.write("auth/token/create", {
        "policies": list(policies), "no_default_policy": True, "ttl": ttl, "display_name": f"rehearsal-{purpose}"})
    if not minted.ok:
        raise SecurePipelinesError(f"Vault refused a {purpose} token: {minted.reason}")
    return minted.body["auth"]["client_token"]


_PARAMETER_BLOCK = re.compile(r"^\s*(allowed|denied)_parameters\s*=\s*\{\s*$")
_STRING = r'"(?:[^"\\]|\\.)*"'
_STRINGS = rf"\[\s*(?:{_STRING}\s*(?:,\s*{_STRING}\s*)*,?\s*)?\]"
_VALUES = rf"\[\s*(?:(?:{_STRING}|{_STRINGS})\s*(?:,\s*(?:{_STRING}|{_STRINGS})\s*)*,?\s*)?\]"
_ONE_PARAMETER = re.compile(rf"^\s*{_STRING}\s*=\s*{_VALUES}\s*$")
"""One parameter and its list of values, each a whole string literal or a list of them: nothing else can
hide on the line."""
_RULE_LINE = re.compile(r"^\s*(path\s|capabilities\s*=)")
TWIN_TTL = "1h"
"""How long a capability-twin token lives (revoked as soon as its paths are asked)."""


def without_parameters(policy_text: str) -> str | None:
    """The policy's text with its ``allowed_parameters`` and ``denied_parameters`` blocks taken out, or
    ``None`` when a block is not written one parameter a line (as secure-pipelines writes them).

    Vault's capabilities on a path come from the path rules alone (parameters are checked against a
    request's data, never for ``sys/capabilities``), so a token holding the result is answered as a
    token holding the original on every path, while Vault builds its ACL far faster: it deep-copies
    every pinned parameter for every path asked. The result must keep every path rule and capability
    line of the original, in order; anything else is ``None``. Pure."""
    kept: list[str] = []
    inside = False
    for line in policy_text.splitlines():
        if inside:
            if line.strip() == "}":
                inside = False
            elif not _ONE_PARAMETER.match(line):
                return None
        elif _PARAMETER_BLOCK.match(line):
            inside = True
        else:
            kept.append(line)
    twin = "\n".join(kept) + "\n"

    def rules(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if _RULE_LINE.match(line)]

    if inside or rules(twin) != rules(policy_text):
        return None
    return twin


class SharedCapabilities:
    """Vault's capability answers, each path asked once per policy set.

    Vault computes a token's capabilities from the policies it holds (its own and its entity's
    identity policies), never from the token itself. So two tokens Vault reports holding exactly the
    same policies get the same answer on every path, and a path asked with one of them need not be
    asked with the other: e.g. the infrastructure pipeline's token for a stack, and the rehearsal's
    deployer token for that stack (both hold the deployer policy alone). Every answer still comes from
    Vault; the policies must not change in between (the rehearsal writes no policy after the apply,
    and a deployer's attacks on its own policy are fired after its capability check).

    A policy set with parameter pins (a deployer policy pins every role and policy of its stack) is
    asked through its twin: root writes each policy again without its parameter blocks
    (:func:`without_parameters`, from the text Vault holds), mints a token holding the twins, asks, and
    revokes the token and deletes the twins. Vault's answers are the same (capabilities never depend on
    parameters) and several times cheaper: Vault rebuilds the token's ACL, pins included, for every
    path asked (49 ms a path for dev's deployer at 1000 repositories, 9 ms for its twin).
    """

    def __init__(self, root: VaultSession, workers: int = 1) -> None:
        self._root = root
        self._workers = workers
        self._known: dict[PolicySet, dict[str, frozenset[str]]] = {}
        self._locks: dict[PolicySet, threading.Lock] = {}
        self._guard = threading.Lock()
        self._twinned: dict[PolicySet, str] = {}

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: asked with ``token`` (or its policies' twins) for every
        path no token of the same policy set was asked about yet."""
        key = policy_set_of(self._root, token)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            known = self._known.setdefault(key, {})
        with lock:
            missing = [p for p in dict.fromkeys(data_paths) if p not in known]
            if missing:
                known.update(self._ask(key, token, missing))
            return {path: known[path] for path in data_paths}

    def how(self, token: str) -> str:
        """How ``token``'s answers were asked, for a row's proof: through the twins, or ``""`` (the token's own)."""
        return self._twinned.get(policy_set_of(self._root, token), "")

    def _ask(self, key: PolicySet, token: str, paths: list[str]) -> dict[str, frozenset[str]]:
        policies, identity_policies = key
        twins = None if identity_policies else self._twins(policies)
        if twins is None:
            return capabilities_of(self._root, token, paths, self._workers)
        suffix = f".rehearsal-twin-{secrets.token_hex(4)}"
        written: list[str] = []
        twin_token = None
        try:
            held = []
            for name in policies:
                if name not in twins:
                    held.append(name)
                    continue
                answer = self._root.write(f"sys/policies/acl/{name}{suffix}", {"policy": twins[name]})
                if not answer.ok:
                    raise SecurePipelinesError(f"Vault refused the capability twin of {name}: {answer.reason}")
                written.append(f"{name}{suffix}")
                held.append(f"{name}{suffix}")
            twin_token = _token_holding(self._root, held, TWIN_TTL, "capability-twin")
            answers = capabilities_of(self._root, twin_token, paths, self._workers)
            self._twinned[key] = (f"Vault's answers for a token holding {', '.join(sorted(twins))} without its "
                                  "parameter pins (capabilities never depend on parameters)")
            return answers
        finally:
            if twin_token is not None:
                self._root.write("auth/token/revoke", {"token": twin_token})
            for name in written:
                self._root.call("delete", f"sys/policies/acl/{name}")

    def _twins(self, policies: Sequence[str]) -> dict[str, str] | None:
        """Each pinned policy's parameter-free twin, from the text Vault holds; ``None`` when no policy is
        pinned (nothing to gain) or one cannot be twinned (then the token itself is asked)."""
        twins: dict[str, str] = {}
        for name in policies:
            text = _policy_text(self._root, name)
            if not any(_PARAMETER_BLOCK.match(line) for line in text.splitlines()):
                continue  # no parameter block (a comment may still name one): nothing to take out
            twin = without_parameters(text)
            if twin is None:
                return None
            twins[name] = twin
        return twins or None


def grants_of(who: str, capabilities: Mapping[str, AbstractSet[str]]) -> set[Access]:
    """``Access`` rows for every path where ``capabilities`` allow reading or writing."""
    found: set[Access] = set()
    for data_path, caps in capabilities.items():
        if caps is _DENIED:  # most paths: skip the two set intersections
            continue
        if READ & caps:
            found.add(Access(who, data_path, "read"))
        if WRITE & caps:
            found.add(Access(who, data_path, "write"))
    return found


SCREEN_TTL = "15m"
"""How long a screening token lives (its checks take seconds; it is revoked right after)."""

_UNSCREENABLE = re.compile(r"deny|\{\{|expiration|capabilities\s*=\s*\[\s*\]", re.IGNORECASE)


def screenable(policy_text: str) -> bool:
    """A policy whose grants a merged ACL cannot hide: no ``deny`` anywhere, no identity templates (a token
    without an entity drops templated paths), no expiring paths, and every ``path`` stanza with a non-empty
    ``capabilities`` list. Anything else, or any doubt, is not screened. Pure."""
    if not policy_text.strip() or _UNSCREENABLE.search(policy_text):
        return False
    stanzas = len(re.findall(r"^\s*path\s+\"", policy_text, re.MULTILINE))
    granting = len(re.findall(r"^\s*capabilities\s*=\s*\[\s*\"", policy_text, re.MULTILINE))
    return stanzas > 0 and stanzas == granting


@dataclass(frozen=True)
class _Screened:
    members: frozenset[tuple[str, ...]]
    denied: frozenset[str]
    """The paths Vault denied to a token holding every member's policies."""


class CapabilityScreen:
    """Vault's capability answers for many tokens, most of them asked once per group of policy sets.

    Asking every token about every path costs tokens x paths answers (Vault looks the token up and
    builds its ACL for each path): the one term of a rehearsal that grows with the square of the
    organisation. Instead, per group of policy sets, root mints one screening token holding all of
    their policies and asks Vault about every path once. Where Vault denies that token a path, it denies
    the path to every token holding a subset of those policies, as long as no policy can hide another's
    grant in the merged ACL: Vault merges the rules of a token's policies per path (capabilities added,
    ``deny`` overriding), then picks the exact rule or else the most specific glob that matches; so a
    path some member may touch matches a rule with capabilities in the merged ACL too, unless a rule
    denies or grants nothing (such policies, and templated or expiring ones, are never screened: see
    :func:`screenable`, which reads each policy's text back from Vault). Each real token (whose policy
    set Vault reports, ``auth/token/lookup``) is then asked only the paths its group's screen did not
    deny: its own, its group's, and any a wider policy reaches. A token whose policy set is not one
    screened is asked every path, as before.
    """

    def __init__(self, root: VaultSession, policy_sets: Sequence[tuple[str, ...]], data_paths: Sequence[str],
                 workers: int = 1) -> None:
        self._root = root
        self._paths = list(dict.fromkeys(data_paths))
        distinct = list(dict.fromkeys(tuple(sorted(s)) for s in policy_sets))
        names = sorted({name for s in distinct for name in s})
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            texts = dict(zip(names, pool.map(lambda name: _policy_text(self._root, name), names), strict=True))
            chosen = [s for s in distinct if s and all(screenable(texts[name]) for name in s)]
            size = screen_group_size(len(self._paths))
            groups = [chosen[start:start + size] for start in range(0, len(chosen), size)]
            screened = list(pool.map(self._screen, groups))
        self._groups = {member: group for group in screened for member in group.members}

    @property
    def screened(self) -> int:
        """How many policy sets are screened."""
        return len(self._groups)

    def _screen(self, group: list[tuple[str, ...]]) -> _Screened:
        policies = sorted({name for member in group for name in member})
        token = _token_holding(self._root, policies, SCREEN_TTL, "capability-screen")
        try:
            answers = capabilities_of(self._root, token, self._paths)
        finally:
            self._root.write("auth/token/revoke", {"token": token})
        return _Screened(frozenset(group), frozenset(p for p, caps in answers.items() if caps == _DENIED))

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: the screen's denial where its policy set was screened,
        Vault asked with ``token`` itself for every other path."""
        policies, identity_policies = policy_set_of(self._root, token)
        group = None if identity_policies else self._groups.get(policies)
        denied = group.denied if group is not None else frozenset()
        answers = dict.fromkeys(data_paths, _DENIED)
        answers.update(capabilities_of(self._root, token, [p for p in data_paths if p not in denied]))
        return answers


def screen_group_size(paths: int) -> int:
    """Policy sets per screening token: about the square root of the paths, which balances the screens'
    answers (groups x paths) against each token's own (group size x a few paths each). Pure."""
    return max(2, math.isqrt(max(paths, 1)))
