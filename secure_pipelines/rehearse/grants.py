"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

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
"""How long a screening token lives (it asks one question and is revoked right after)."""

RESULTANT_ACL = "sys/internal/ui/resultant-acl"
"""Vault's merged ACL of the token asking: every exact and glob rule (segment wildcards left out)."""

_UNSCREENABLE = re.compile(r"\{\{|expiration|\+|\\", re.IGNORECASE)


def screenable(policy_text: str) -> bool:
    """A policy whose every rule Vault's merged ACL (``sys/internal/ui/resultant-acl``) lists: no segment
    wildcard (``+``, which that answer leaves out), no identity template (a token without an entity drops
    templated paths), no expiring path, and no backslash (an escape could spell any of them). Anything
    else, or any doubt, is not screened. Pure."""
    if not policy_text.strip() or _UNSCREENABLE.search(policy_text):
        return False
    return re.search(r"^\s*path\s+\"", policy_text, re.MULTILINE) is not None


@dataclass(frozen=True)
class _Rules:
    """The paths a merged ACL has a rule for: exact paths, and the prefixes of its glob rules."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    def may_match(self, path: str) -> bool:
        """Whether some rule could apply to ``path`` (whatever it grants; ``False``: Vault denies it)."""
        return path in self.exact or path.startswith(self.prefixes)


class CapabilityScreen:
    """Vault's capability answers for many tokens, each asked only about the paths a rule could apply to.

    Asking every token about every path costs tokens x paths answers, each of which makes Vault build the
    token's ACL anew (a cost that grows with the policies it holds): the one term of a rehearsal that grows
    with the square of the organisation. Instead, root mints a screening token per policy set, holding
    those policies and one that lets it read its own merged ACL (:data:`RESULTANT_ACL`), asks once and
    revokes it. Vault answers ``deny`` on a path no rule of a token's ACL applies to (neither an exact rule
    for it nor a glob rule whose prefix it starts with), and a token holding the policy set has those rules
    or fewer, so each real token (whose policy set Vault reports, ``auth/token/lookup``) is asked only the
    paths some listed rule could apply to, whatever that rule grants; every other path is Vault's
    ``deny``. Policies whose rules that answer may not list (segment wildcards, identity templates,
    expiring paths; :func:`screenable`, on the text Vault holds) are not screened, nor is a token with
    identity policies: those are asked every path, as before.
    """

    def __init__(self, root: VaultSession, policy_sets: Sequence[tuple[str, ...]], workers: int = 1) -> None:
        self._root = root
        distinct = list(dict.fromkeys(tuple(sorted(s)) for s in policy_sets))
        names = sorted({name for s in distinct for name in s})
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            texts = dict(zip(names, pool.map(lambda name: _policy_text(self._root, name), names), strict=True))
        self._screenable = {s for s in distinct if s and all(screenable(texts[name]) for name in s)}
        self._rules: dict[tuple[str, ...], _Rules | None] = {}
        self._guard = threading.Lock()
        self._reader = f"rehearsal-resultant-acl-reader-{secrets.token_hex(4)}"
        written = root.write(f"sys/policies/acl/{self._reader}",
                             {"policy": f'path "{RESULTANT_ACL}" {{\n  capabilities = ["read"]\n}}\n'})
        if not written.ok:
            raise SecurePipelinesError(f"Vault refused the capability screen's policy: {written.reason}")

    def __enter__(self) -> CapabilityScreen:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the policy the screening tokens held (they are revoked already)."""
        self._root.call("delete", f"sys/policies/acl/{self._reader}")

    @property
    def screened(self) -> int:
        """How many policy sets are screened."""
        return len(self._screenable)

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: asked with ``token`` itself on every path a rule of its
        policy set's merged ACL could apply to (every path where its policy set is not screened), Vault's
        ``deny`` on the others."""
        policies, identity_policies = policy_set_of(self._root, token)
        rules = None if identity_policies else self._rules_of(policies)
        if rules is None:
            return capabilities_of(self._root, token, data_paths)
        answers = dict.fromkeys(data_paths, _DENIED)
        answers.update(capabilities_of(self._root, token, [p for p in data_paths if rules.may_match(p)]))
        return answers

    def _rules_of(self, policies: tuple[str, ...]) -> _Rules | None:
        if policies not in self._screenable:
            return None
        with self._guard:
            if policies in self._rules:
                return self._rules[policies]
        rules = self._screen(policies)
        with self._guard:
            return self._rules.setdefault(policies, rules)

    def _screen(self, policies: tuple[str, ...]) -> _Rules | None:
        """The rule paths of the merged ACL of a token holding ``policies`` (``None``: Vault did not say)."""
        token = _token_holding(self._root, [*policies, self._reader], SCREEN_TTL, "capability-screen")
        try:
            answer = self._root.with_token(token).read(RESULTANT_ACL)
        finally:
            self._root.write("auth/token/revoke", {"token": token})
        data = answer.body.get("data") or {}
        exact, glob = data.get("exact_paths"), data.get("glob_paths")
        if not answer.ok or data.get("root") is not False or not isinstance(exact, dict) or not isinstance(glob, dict):
            return None
        return _Rules(frozenset(exact), tuple(glob))
