"""Vault's own capability answers, asked for every path however many there are."""

from __future__ import annotations

import json
import secrets

from secure_pipelines.rehearse.grants import (
    CAPABILITY_BATCH,
    DENIED,
    CapabilityScreen,
    PathSet,
    Rules,
    SharedCapabilities,
    capabilities_of,
    grants_of,
    screenable,
)
from secure_pipelines.rehearse.outcomes import Access
from secure_pipelines.rehearse.vault_client import VaultSession

from .conftest import CountingSession


def test_more_paths_than_one_request_may_carry_are_all_asked_and_answered(openbao_root: VaultSession) -> None:
    mount = f"kv-grants-{secrets.token_hex(4)}"
    paths = [f"{mount}/data/apps/app-{n:04d}" for n in range(2 * CAPABILITY_BATCH + 200)]
    readable, writable = paths[3], paths[-7]
    policy = f"policy-{mount}"
    hcl = (f'path "{readable}" {{ capabilities = ["read"] }}\n'
           f'path "{writable}" {{ capabilities = ["create", "update"] }}\n')
    assert openbao_root.write(f"sys/policies/acl/{policy}", {"policy": hcl}).ok
    created = openbao_root.write("auth/token/create", {"policies": [policy], "no_default_policy": True})
    token = created.body["auth"]["client_token"]

    capabilities = capabilities_of(openbao_root, token, paths)

    assert list(capabilities) == paths
    assert capabilities[readable] == {"read"} and capabilities[writable] == {"create", "update"}
    assert all(capabilities[p] == {"deny"} for p in paths if p not in (readable, writable))
    assert grants_of("ci", capabilities) == {Access("ci", readable, "read"), Access("ci", writable, "write")}


def test_paths_asked_by_several_threads_get_the_same_answers_in_the_same_order(openbao_root: VaultSession) -> None:
    mount = f"kv-grants-{secrets.token_hex(4)}"
    paths = [f"{mount}/data/apps/app-{n:04d}" for n in range(2 * CAPABILITY_BATCH + 50)]
    policy = f"policy-{mount}"
    assert openbao_root.write(f"sys/policies/acl/{policy}",
                              {"policy": f'path "{paths[-1]}" {{ capabilities = ["read"] }}\n'}).ok
    token = _token(openbao_root, policy)

    serial = capabilities_of(openbao_root, token, paths)

    assert list(capabilities_of(openbao_root, token, paths, workers=3).items()) == list(serial.items())
    assert serial[paths[-1]] == {"read"}



def _token(root: VaultSession, *policies: str) -> str:
    created = root.write("auth/token/create", {"policies": list(policies), "no_default_policy": True})
    return created.body["auth"]["client_token"]


def test_tokens_holding_the_same_policies_share_answers_and_other_policy_sets_do_not(
        openbao_root: VaultSession, counting_root: CountingSession) -> None:
    mount = f"kv-shared-{secrets.token_hex(4)}"
    readable, other, later = (f"{mount}/data/apps/{name}" for name in ("mine", "theirs", "later"))
    # A segment wildcard keeps both from the screen: every path is asked, once per policy set.
    unscreened = f'path "{mount}/+/none" {{ capabilities = ["read"] }}\n'
    assert openbao_root.write(f"sys/policies/acl/{mount}-reader",
                              {"policy": f'path "{readable}" {{ capabilities = ["read"] }}\n' + unscreened}).ok
    assert openbao_root.write(f"sys/policies/acl/{mount}-other",
                              {"policy": f'path "{other}" {{ capabilities = ["read"] }}\n' + unscreened}).ok
    root = counting_root
    with CapabilityScreen(root) as screen:
        shared = SharedCapabilities(root, screen)
        first = shared.of(_token(openbao_root, f"{mount}-reader"), [readable, other])
        second = shared.of(_token(openbao_root, f"{mount}-reader"), [readable, other, later])
        another = shared.of(_token(openbao_root, f"{mount}-other"), [readable, other])

    assert first == {readable: {"read"}, other: {"deny"}}
    assert second == {readable: {"read"}, other: {"deny"}, later: {"deny"}}
    assert another == {readable: {"deny"}, other: {"read"}}
    assert root.asked == [readable, other, later, readable, other]


def _stanza(path: str, *capabilities: str) -> str:
    listed = ", ".join(json.dumps(c) for c in capabilities)
    return f'path "{path}" {{\n  capabilities = [{listed}]\n}}\n'


def _policy(root: VaultSession, name: str, hcl: str) -> str:
    assert root.write(f"sys/policies/acl/{name}", {"policy": hcl}).ok
    return name


def test_screenable_policies_are_those_every_rule_of_which_vaults_merged_acl_lists() -> None:
    assert screenable("# CI read access\n" + _stanza("kv/data/a", "read") + _stanza("kv/data/a/*", "read"))
    assert screenable(_stanza("kv/data/a", "deny") + _stanza("kv/data/b"))  # listed whatever they grant
    assert not screenable(_stanza("kv/+/a", "read"))  # segment wildcards are not listed
    assert not screenable(_stanza("kv/\\u002b/a", "read"))  # nor spelled with an escape
    assert not screenable('path "kv/data/{{identity.entity.name}}" {\n  capabilities = ["read"]\n}\n')
    assert not screenable(_stanza("kv/data/a", "read").replace("}", '  expiration = "2030-01-01T00:00:00Z"\n}'))
    assert not screenable('{"path": {"kv/data/a": {"capabilities": ["read"]}}}')  # no HCL path rule to see
    assert not screenable("")


def test_a_screen_answers_as_vault_answers_each_token_and_still_finds_a_policy_reaching_further(
        openbao_root: VaultSession) -> None:
    mount = f"kv-screen-{secrets.token_hex(4)}"
    paths = [f"{mount}/data/apps/app-{n:03d}" for n in range(40)]
    own = [_policy(openbao_root, f"{mount}-{n}", _stanza(paths[n], "read") + _stanza(f"{paths[n]}/*", "read"))
           for n in range(6)]
    wide = _policy(openbao_root, f"{mount}-wide", _stanza(paths[6], "read") + _stanza(f"{mount}/data/apps/*", "read"))
    # Rules that deny, grant nothing, or are the longest glob over a wider one: Vault decides, not the screen.
    mixed = _policy(openbao_root, f"{mount}-mixed", _stanza(f"{mount}/data/apps/app-01*", "read", "update")
                    + _stanza(paths[12], "deny") + _stanza(paths[13]) + _stanza(f"{mount}/data/apps/app-014*", "list"))
    sets = [(name,) for name in [*own, wide, mixed]] + [(own[0], mixed), (wide, mixed)]
    indexed = PathSet.of(paths)
    with CapabilityScreen(openbao_root) as screen:
        assert all(screen.screened(policies) for policies in sets)
        for policies in sets:
            token = _token(openbao_root, *policies)
            vault = capabilities_of(openbao_root, token, paths)
            assert screen.of(token, paths) == vault, policies
            reachable = screen.reachable(token, indexed)
            assert {p: vault[p] for p in reachable} == reachable  # Vault's own answers
            assert all(vault[p] == DENIED for p in paths if p not in reachable), policies
        assert {p for p, caps in screen.of(_token(openbao_root, wide), paths).items() if "read" in caps} == set(paths)


def test_a_screen_asks_each_token_only_the_paths_a_rule_could_apply_to_and_leaves_nothing_behind(
        openbao_root: VaultSession, counting_root: CountingSession) -> None:
    mount = f"kv-screen-{secrets.token_hex(4)}"
    paths = [f"{mount}/data/apps/app-{n:03d}" for n in range(30)]
    mine = _policy(openbao_root, f"{mount}-mine",
                   _stanza(paths[3], "read") + _stanza(f"{mount}/data/apps/app-02*", "read"))
    root = counting_root
    before = set(openbao_root.call("list", "sys/policies/acl").body["data"]["keys"])
    with CapabilityScreen(root) as screen:
        answers = screen.of(_token(openbao_root, mine), paths)
    assert root.asked == [paths[3], *paths[20:30]]
    assert {p for p, caps in answers.items() if caps != {"deny"}} == {paths[3], *paths[20:30]}
    assert set(openbao_root.call("list", "sys/policies/acl").body["data"]["keys"]) == before
    screening = openbao_root.call("list", "auth/token/accessors").body["data"]["keys"]
    names = [openbao_root.write("auth/token/lookup-accessor", {"accessor": a}).body["data"]["display_name"]
             for a in screening]
    assert "token-rehearsal-capability-screen" not in names


def test_a_policy_whose_rules_the_merged_acl_may_not_list_and_a_policy_set_not_screened_are_asked_every_path(
        openbao_root: VaultSession) -> None:
    mount = f"kv-unscreened-{secrets.token_hex(4)}"
    paths = [f"{mount}/data/apps/app-{n:03d}" for n in range(20)]
    reader = _policy(openbao_root, f"{mount}-reader", _stanza(f"{mount}/data/apps/*", "read"))
    segments = _policy(openbao_root, f"{mount}-segments", _stanza(f"{mount}/data/+/app-007", "read"))
    extra = _policy(openbao_root, f"{mount}-extra", _stanza(paths[9], "read"))
    with CapabilityScreen(openbao_root) as screen:
        # A segment wildcard is not screened; a missing policy has no text to read.
        assert [screen.screened(s) for s in [(reader,), (segments,), (f"{mount}-other",)]] == [True, False, False]
        assert "read" in screen.of(_token(openbao_root, reader), paths)[paths[5]]
        assert screen.of(_token(openbao_root, segments), paths)[paths[7]] == {"read"}
        both = _token(openbao_root, f"{mount}-other", extra)  # one policy has no text: not screened
        assert screen.of(both, paths)[paths[9]] == {"read"}


def test_the_paths_a_rule_reaches_are_found_by_lookup_and_bisection() -> None:
    paths = PathSet.of(["kv/data/a", "kv/data/ab", "kv/data/a/x", "kv/data/b", "kv/meta/a", "kv/data/a"])
    assert paths.ordered == ("kv/data/a", "kv/data/a/x", "kv/data/ab", "kv/data/b", "kv/meta/a")

    def reached(exact: set[str], *prefixes: str) -> list[str]:
        return paths.reached_by(Rules(frozenset(exact), prefixes))

    assert reached({"kv/data/b", "auth/token/revoke-self"}) == ["kv/data/b"]
    assert reached(set(), "kv/data/a/") == ["kv/data/a/x"]
    assert reached(set(), "kv/data/a") == ["kv/data/a", "kv/data/a/x", "kv/data/ab"]
    assert reached({"kv/data/a"}, "kv/data/a") == ["kv/data/a", "kv/data/a/x", "kv/data/ab"]
    assert reached(set(), "") == list(paths.ordered)  # path "*"
    assert reached(set(), "zz", "kv/data/c", "a") == []
