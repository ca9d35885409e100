"""Vault's own capability answers, asked for every path however many there are."""

from __future__ import annotations

import secrets

from secure_pipelines.rehearse.grants import CAPABILITY_BATCH, capabilities_of, grants_of
from secure_pipelines.rehearse.outcomes import Access
from secure_pipelines.rehearse.vault_client import VaultSession


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
