"""What Vault's ACLs grant a token on each path, recorded for the differential check with explain."""

from __future__ import annotations

import bisect
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
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

DENIED: frozenset[str] = frozenset({"deny"})
"""Vault's answer on a path no rule of a token's ACL grants anything (one shared set)."""


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
            asked[path] = DENIED if caps == ["deny"] else frozenset(caps)
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
def without_parameters(policy_text: str) -> str | None:
    """The policy's text with its ``allowed_parameters`` and ``denied_parameters`` blocks taken out, or
    ``None`` when a block is not written one parameter a line (as secure-pipelines writes them).

    What is left holds every rule of the policy: the text :func:`screenable` reads (a pinned value, such
    as a whole CI policy a deployer may write, holds escapes and paths that are no rule). The result must
    keep every path rule and capability line of the original, in order; anything else is ``None``. Pure."""
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
    rules_only = "\n".join(kept) + "\n"

    def rules(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if _RULE_LINE.match(line)]

    if inside or rules(rules_only) != rules(policy_text):
        return None
    return rules_only


SCREEN_TTL = "15m"
"""How long a screening token lives (it asks one question and is revoked right after)."""

RESULTANT_ACL = "sys/internal/ui/resultant-acl"
"""Vault's merged ACL of the token asking: every exact and glob rule (segment wildcards left out)."""

_UNSCREENABLE = re.compile(r"\{\{|expiration|\+|\\", re.IGNORECASE)


def screenable(policy_text: str) -> bool:
    """A policy whose every rule Vault's merged ACL (``sys/internal/ui/resultant-acl``) lists: no segment
    wildcard (``+``, which that answer leaves out), no identity template (a token without an entity drops
    templated paths), no expiring path, and no backslash (an escape could spell any of them), read in the
    rules alone (:func:`without_parameters`: pinned values are no rules). Anything else, or any doubt, is
    not screened. Pure."""
    pinned = any(_PARAMETER_BLOCK.match(line) for line in policy_text.splitlines())
    rules = without_parameters(policy_text) if pinned else policy_text
    if rules is None or not rules.strip() or _UNSCREENABLE.search(rules):
        return False
    return re.search(r"^\s*path\s+\"", rules, re.MULTILINE) is not None


@dataclass(frozen=True)
class PathSet:
    """Paths to ask about, indexed once: a rule's reach is found by lookup and bisection, not by testing
    every path for every token (which grows with roles x paths). Pure."""

    members: frozenset[str]
    ordered: tuple[str, ...]
    """Sorted: the paths under a glob prefix are one run."""

    @classmethod
    def of(cls, paths: Iterable[str]) -> PathSet:
        members = frozenset(paths)
        return cls(members, tuple(sorted(members)))

    def reached_by(self, rules: Rules) -> list[str]:
        """The paths an exact rule names or a glob prefix starts, each once, sorted."""
        found = {path for path in rules.exact if path in self.members}
        for prefix in rules.prefixes:
            index = bisect.bisect_left(self.ordered, prefix)
            while index < len(self.ordered) and self.ordered[index].startswith(prefix):
                found.add(self.ordered[index])
                index += 1
        return sorted(found)


@dataclass(frozen=True)
class Rules:
    """The paths a merged ACL has a rule for: exact paths, and the prefixes of its glob rules."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]


class CapabilityScreen:
    """Vault's capability answers for many tokens, each asked only about the paths a rule could apply to.

    Asking every token about every path costs tokens x paths answers, each of which makes Vault build the
    token's ACL anew (a cost that grows with the policies it holds, and with every parameter a deployer
    policy pins): the one term of a rehearsal that grows with the square of the organisation. Instead,
    root mints a screening token per policy set, holding those policies and one that lets it read its own
    merged ACL (:data:`RESULTANT_ACL`), asks once and revokes it. Vault answers ``deny`` on a path no rule
    of a token's ACL applies to (neither an exact rule for it nor a glob rule whose prefix it starts
    with), and a token holding the policy set has those rules or fewer, so each real token (whose policy
    set Vault reports, ``auth/token/lookup``) is asked only the paths some listed rule could apply to,
    whatever that rule grants; every other path is Vault's ``deny``. Policies whose rules that answer may
    not list (segment wildcards, identity templates, expiring paths; :func:`screenable`, on the text
    Vault holds) are not screened, nor is a token with identity policies: those are asked every path.
    Use it as a context manager: it writes the reading policy, and deletes it at the end.
    """

    def __init__(self, root: VaultSession, workers: int = 1) -> None:
        self._root = root
        self._workers = workers
        self._texts: dict[str, str] = {}
        self._rules: dict[tuple[str, ...], Rules | None] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
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
        """Delete the policy the screening tokens held (each was revoked as soon as it had asked)."""
        self._root.call("delete", f"sys/policies/acl/{self._reader}")

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: asked with ``token`` itself on every path a rule of its
        policy set's merged ACL could apply to (every path where its policy set is not screened), Vault's
        ``deny`` on the others."""
        return self.asked(policy_set_of(self._root, token), token, data_paths)[0]

    def asked(self, key: PolicySet, token: str, data_paths: Sequence[str]
              ) -> tuple[dict[str, frozenset[str]], list[str] | None]:
        """:meth:`of` for a token Vault reports holding ``key``, and the paths a rule could reach, asked with
        the token (``None``: not screened, every path asked)."""
        rules = self._rules_for(key)
        if rules is None:
            return capabilities_of(self._root, token, data_paths, self._workers), None
        reached = PathSet.of(data_paths).reached_by(rules)
        answers = dict.fromkeys(data_paths, DENIED)
        answers.update(capabilities_of(self._root, token, reached, self._workers))
        return answers, reached

    def reachable(self, token: str, paths: PathSet) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each of ``paths`` a rule of its policy set's merged ACL could apply
        to (every path where its policy set is not screened); Vault denies it every other path of ``paths``
        (:data:`DENIED`). What :meth:`of` answers, without a dict entry per denied path."""
        rules = self._rules_for(policy_set_of(self._root, token))
        asked = list(paths.ordered) if rules is None else paths.reached_by(rules)
        return capabilities_of(self._root, token, asked, self._workers)

    def _rules_for(self, key: PolicySet) -> Rules | None:
        """The screen of a token Vault reports holding ``key`` (none for a token with identity policies)."""
        policies, identity_policies = key
        return None if identity_policies else self.rules_of(policies)

    def screened(self, policies: Sequence[str]) -> bool:
        """Whether tokens holding exactly ``policies`` (and no identity policy) are screened."""
        return self.rules_of(tuple(sorted(policies))) is not None

    def rules_of(self, policies: tuple[str, ...]) -> Rules | None:
        """The rules of the merged ACL of a token holding ``policies`` (sorted), asked once; ``None`` when
        the set is not screened."""
        with self._guard:
            lock = self._locks.setdefault(policies, threading.Lock())
        with lock:
            if policies not in self._rules:
                self._rules[policies] = self._screen(policies) if self._screenable(policies) else None
            return self._rules[policies]

    def _screenable(self, policies: tuple[str, ...]) -> bool:
        for name in policies:
            if name not in self._texts:
                self._texts[name] = _policy_text(self._root, name)
        return bool(policies) and all(screenable(self._texts[name]) for name in policies)

    def _screen(self, policies: tuple[str, ...]) -> Rules | None:
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
        return Rules(frozenset(exact), tuple(glob))


class SharedCapabilities:
    """Vault's capability answers through the screen, each path asked once per policy set.

    Vault computes a token's capabilities from the policies it holds (its own and its entity's
    identity policies), never from the token itself. So two tokens Vault reports holding exactly the
    same policies get the same answer on every path, and a path asked with one of them need not be
    asked with the other: e.g. the infrastructure pipeline's token for a stack, and the rehearsal's
    deployer token for that stack (both hold the deployer policy alone). Every answer still comes from
    Vault; the policies must not change in between (the rehearsal writes no policy after the apply,
    and a deployer's attacks on its own policy are fired after its capability check). A deployer policy
    pins every role and policy of its stack, which Vault deep-copies for every path asked (49 ms a path
    for dev's deployer at 1000 repositories): the screen asks it only the paths one of its rules could
    reach, normally none of the secret paths.
    """

    def __init__(self, root: VaultSession, screen: CapabilityScreen) -> None:
        self._root = root
        self._screen = screen
        self._known: dict[PolicySet, dict[str, frozenset[str]]] = {}
        self._how: dict[PolicySet, str] = {}
        self._locks: dict[PolicySet, threading.Lock] = {}
        self._guard = threading.Lock()

    def of(self, token: str, data_paths: Sequence[str]) -> dict[str, frozenset[str]]:
        """Vault's answer for ``token`` on each path: screened, and asked with ``token`` for every path no
        token of the same policy set was asked about yet."""
        key = policy_set_of(self._root, token)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            known = self._known.setdefault(key, {})
        with lock:
            missing = [p for p in dict.fromkeys(data_paths) if p not in known]
            if missing:
                answers, reached = self._screen.asked(key, token, missing)
                known.update(answers)
                if reached is not None and key not in self._how:
                    self._how[key] = (f"Vault's merged ACL for {', '.join(key[0])} ({RESULTANT_ACL}) has no rule "
                                      f"for {len(missing) - len(reached)} of the {len(missing)} paths, which "
                                      f"Vault therefore denies; the other {len(reached)} asked with the token")
            return {path: known[path] for path in data_paths}

    def how(self, token: str) -> str:
        """How ``token``'s answers were asked, for a row's proof: through the screen, or ``""`` (every path
        asked with the token)."""
        return self._how.get(policy_set_of(self._root, token), "")


def grants_of(who: str, capabilities: Mapping[str, AbstractSet[str]]) -> set[Access]:
    """``Access`` rows for every path where ``capabilities`` allow reading or writing."""
    found: set[Access] = set()
    for data_path, caps in capabilities.items():
        if caps is DENIED:  # most paths: skip the two set intersections
            continue
        if READ & caps:
            found.add(Access(who, data_path, "read"))
        if WRITE & caps:
            found.add(Access(who, data_path, "write"))
    return found


