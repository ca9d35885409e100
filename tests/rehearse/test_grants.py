"""Vault's own capability answers, asked for every path however many there are."""

from __future__ import annotations

import secrets
from typing import Any

from secure_pipelines.rehearse.grants import CAPABILITY_BATCH, SharedCapabilities, capabilities_of, grants_of
from secure_pipelines.rehearse.outcomes import Access
from secure_pipelines.rehearse.vault_client import Answer, VaultSession


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


class _Counting(VaultSession):
    """The root session, counting the paths it asks Vault's capability check about."""

    asked: list[str]

    def write(self, path: str, body: dict[str, Any]) -> Answer:
        if path == "sys/capabilities":
            self.asked.extend(body["paths"])
        return super().write(path, body)


def _token(root: VaultSession, *policies: str) -> str:
    created = root.write("auth/token/create", {"policies": list(policies), "no_default_policy": True})
    return created.body["auth"]["client_token"]


def test_tokens_holding_the_same_policies_share_answers_and_other_policy_sets_do_not(
        openbao_root: VaultSession) -> None:
    mount = f"kv-shared-{secrets.token_hex(4)}"
    readable, other, later = (f"{mount}/data/apps/{name}" for name in ("mine", "theirs", "later"))
    assert openbao_root.write(f"sys/policies/acl/{mount}-reader",
                              {"policy": f'path "{readable}" {{ capabilities = ["read"] }}\n'}).ok
    assert openbao_root.write(f"sys/policies/acl/{mount}-other",
                              {"policy": f'path "{other}" {{ capabilities = ["read"] }}\n'}).ok
    root = _Counting(openbao_root.addr, openbao_root.token)
    root.asked = []
    shared = SharedCapabilities(root)

    first = shared.of(_token(openbao_root, f"{mount}-reader"), [readable, other])
    second = shared.of(_token(openbao_root, f"{mount}-reader"), [readable, other, later])
    another = shared.of(_token(openbao_root, f"{mount}-other"), [readable, other])

    assert first == {readable: {"read"}, other: {"deny"}}
    assert second == {readable: {"read"}, other: {"deny"}, later: {"deny"}}
    assert another == {readable: {"deny"}, other: {"read"}}
    assert root.asked == [readable, other, later, readable, other]
