"""The SSH-rerun mechanism, proved against a real OpenBao.

A CircleCI role is written exactly as ``vault.generic.Endpoint`` writes it: the JSON body from
``_vault_role_body`` PUT to ``auth/<mount>/role/<name>``. Only ``token_bound_cidrs`` is narrowed to
the loopback address the test logs in from (login from the role's real runner ranges is the
rehearsal's job), and the mount is one of this module's own on the session's OpenBao; every other
setting is the plan's.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import uuid
from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidRequest, VaultError
from joserfc import jwt
from joserfc.jwk import RSAKey

from secure_pipelines.ci.circleci.claims import SSH_RERUN
from secure_pipelines.components.ci_roles import _role_api_path, _vault_role_body
from secure_pipelines.plan import CIRole, Plan

LOOPBACK = ["127.0.0.1/32"]  # Vault reads a one-address network back as the bare address


@pytest.fixture(scope="module")
def issuer_key() -> RSAKey:
    return RSAKey.generate_key(2048)


@pytest.fixture(scope="module")
def mount_path() -> str:
    """This module's own JWT mount on the session's OpenBao."""
    return f"circleci-ssh-rerun-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def circleci(openbao_client: hvac.Client, example_plan: Plan, issuer_key: RSAKey, mount_path: str) -> hvac.Client:
    mount = example_plan.mount("circleci")
    openbao_client.sys.enable_auth_method("jwt", path=mount_path)
    # Offline: the issuer's key instead of its discovery URL; every other mount setting as planned.
    openbao_client.write(f"auth/{mount_path}/config",
                         jwt_validation_pubkeys=[issuer_key.as_pem(private=False).decode()], bound_issuer=mount.issuer)
    return openbao_client


@pytest.fixture(scope="module")
def production_plan_role(example_plan: Plan, mount_path: str) -> CIRole:
    """The plan's CircleCI production role, in this module's mount, logged in to from loopback."""
    role = next(r for r in example_plan.roles if r.role_name == "production.webapp")
    return dataclasses.replace(role, mount_path=mount_path, token_bound_cidrs=tuple(LOOPBACK))


def _write_role(client: hvac.Client, role: CIRole, body: dict[str, Any]) -> None:
    # What the provider does with data_json: one PUT of the decoded object.
    client.adapter.post(f"/v1/{_role_api_path(role)}", json=body)


def _token(role: CIRole, key: RSAKey, **overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": role.issuer, "aud": role.bound_audiences[0], "iat": now, "nbf": now - 5, "exp": now + 300,
        "sub": f"org/{role.bound_audiences[0]}/project/x/user/{uuid.uuid4()}",
        **{claim.claim: claim.values[0] for claim in role.bound_claims},
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256"}, claims, key)


def _login(client: hvac.Client, role: CIRole, token: str) -> bool:
    try:
        client.adapter.post(f"/v1/auth/{role.mount_path}/login", json={"role": role.role_name, "jwt": token})
    except (InvalidRequest, VaultError):
        return False
    return True


@pytest.fixture(scope="module")
def production_role(circleci: hvac.Client, production_plan_role: CIRole) -> CIRole:
    _write_role(circleci, production_plan_role, _vault_role_body(production_plan_role))
    return production_plan_role


def test_a_normal_run_with_ssh_rerun_false_logs_in(circleci, production_role, issuer_key):
    assert _login(circleci, production_role, _token(production_role, issuer_key, **{SSH_RERUN: False}))


def test_an_ssh_rerun_is_refused(circleci, production_role, issuer_key):
    assert not _login(circleci, production_role, _token(production_role, issuer_key, **{SSH_RERUN: True}))


def test_a_token_without_the_ssh_rerun_claim_is_refused(circleci, production_role, issuer_key):
    assert not _login(circleci, production_role, _token(production_role, issuer_key, **{SSH_RERUN: None}))


def test_the_string_false_the_provider_would_send_refuses_every_token(circleci, production_plan_role, issuer_key):
    role = dataclasses.replace(production_plan_role, role_name="as-the-provider-writes-it")
    body = _vault_role_body(role)
    body["bound_claims"][SSH_RERUN] = ["false"]
    _write_role(circleci, role, body)
    assert not _login(circleci, role, _token(role, issuer_key, **{SSH_RERUN: False}))


def test_reading_the_role_back_returns_every_written_field_unchanged(circleci, production_role):
    """Drift detection reads only the fields in data_json (ignore_absent_fields): they must round-trip,
    or every refresh would report a change."""
    written = _vault_role_body(production_role)
    read = circleci.read(_role_api_path(production_role))["data"]
    assert {key: read[key] for key in written} == written


def test_a_change_made_by_hand_shows_up_in_the_read_back_fields(circleci, production_role):
    written = _vault_role_body(production_role)
    circleci.adapter.post(f"/v1/{_role_api_path(production_role)}", json={**written, "token_ttl": 480})
    read = circleci.read(_role_api_path(production_role))["data"]
    assert read["token_ttl"] != written["token_ttl"]
    _write_role(circleci, production_role, written)  # what the next `pulumi up` does
    assert circleci.read(_role_api_path(production_role))["data"]["token_ttl"] == written["token_ttl"]


def test_a_hand_set_period_or_groups_claim_is_reset_by_the_next_write(circleci, production_role):
    """A role write keeps fields it does not name: the body names the ones that would widen access."""
    written = _vault_role_body(production_role)
    circleci.adapter.post(f"/v1/{_role_api_path(production_role)}",
                          json={**written, "token_period": 86400, "groups_claim": "groups"})
    _write_role(circleci, production_role, written)
    read = circleci.read(_role_api_path(production_role))["data"]
    assert (read["token_period"], read["groups_claim"]) == (0, "")
