"""Each stack is applied with a token holding only its deployer policy; a deployer's attacks are refused.

The full rehearsal of the example (``test_full_rehearsal``'s module fixture is not shared, so this module
reads its own rows from one rehearsal of staging, which also applies the resources stack's auth mounts with
production's deployer); two rehearsals of a changed plan prove the rows can fail: a deployer policy too
small refuses the stack's own apply, one too wide lets the attacks through.
"""

from __future__ import annotations

import dataclasses

import pytest

from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import Deployer, Plan, VaultPolicy
from secure_pipelines.rehearse import Rehearsal, Subject, rehearse
from secure_pipelines.rehearse.apply import StackVaultResource
from secure_pipelines.rehearse.deployers import bootstrap, revoke
from secure_pipelines.rehearse.vault_client import VaultSession

EVERYTHING = 'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\n'


def _with_deployer(plan: Plan, stack: str, change: dict[str, object]) -> Plan:
    changed = tuple(dataclasses.replace(d, **change) if d.stack == stack else d for d in plan.deployers)
    return dataclasses.replace(plan, deployers=changed)


def _rehearse(declaration: Declaration, plan: Plan, resources: list[StackVaultResource]) -> Rehearsal:
    chosen = [r for r in resources if r.stack == "staging" or r.type_token == "vault:jwt/authBackend:AuthBackend"]
    return rehearse(Subject(plan, (("staging", declaration, plan),)), lambda: chosen)


@pytest.fixture(scope="module")
def staging_rehearsal(example_declaration: Declaration, example_plan: Plan,
                      example_resources: list[StackVaultResource]) -> Rehearsal:
    return _rehearse(example_declaration, example_plan, example_resources)


def _deployer_rows(rehearsal: Rehearsal, stack: str) -> list:
    return [o for o in rehearsal.outcomes if o.flow.startswith(f"deployer of {stack}: ")]


def test_each_stack_applies_with_its_deployer_token_alone(staging_rehearsal: Rehearsal) -> None:
    assert staging_rehearsal.passed
    applied = {o.environment for o in staging_rehearsal.outcomes
               if o.kind == "legitimate" and "with its deployer token alone" in o.flow and o.verdict == "ok"}
    assert applied == {"production", "staging"}  # production's deployer enables the auth mounts


def test_the_staging_deployer_is_refused_everything_outside_its_environment(staging_rehearsal: Rehearsal) -> None:
    attacks = {o.flow.removeprefix("deployer of staging: "): o for o in _deployer_rows(staging_rehearsal, "staging")
               if o.kind == "attack"}
    expected = {
        "writes production's admin role production.admins",
        "writes production's CI role production.webapp",
        "writes production's policy production.admin, even as planned",
        "tunes production's secret mount kv-production",
        "deletes its own secret mount kv-staging",
        "gives its own role staging.admins production's policy production.admin",
        "widens its own policy staging.ci.webapp to read production's secrets",
        "widens its own deployer policy secure_pipelines.deployer.staging",
        "creates a token with another policy (production.admin)",
        "points the auth mount circleci at another issuer",
        "reads its own environment's secret kv-staging/data/apps/webapp",
        "rewrites its own infrastructure role secure_pipelines.deployer.staging to admit any job",
    }
    assert expected <= attacks.keys(), sorted(attacks)
    assert all(o.verdict == "ok" and o.layer == "Vault: deployer policy secure_pipelines.deployer.staging"
               for o in attacks.values()), [o.flow for o in attacks.values() if o.verdict != "ok"]


def test_the_organisation_deployer_reads_no_secret_and_mints_no_other_token(staging_rehearsal: Rehearsal) -> None:
    rows = [o for o in _deployer_rows(staging_rehearsal, "production") if o.kind == "attack"]
    assert {"creates a token with the root policy", "creates an orphan token (outliving its own)"} <= {
        o.flow.removeprefix("deployer of production: ") for o in rows}
    assert any("secret paths readable or writable" in o.flow for o in rows)
    assert rows and all(o.verdict == "ok" for o in rows)


def test_a_deployer_policy_too_small_fails_the_rehearsal(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[StackVaultResource],
) -> None:
    deployer: Deployer = example_plan.deployer("staging")
    hcl = deployer.policy.hcl.replace('path "sys/mounts/kv-staging" {', 'path "sys/mounts/kv-staging-not" {')
    assert hcl != deployer.policy.hcl
    smaller = _with_deployer(example_plan, "staging", {"policy": dataclasses.replace(deployer.policy, hcl=hcl)})
    rehearsal = _rehearse(example_declaration, smaller, example_resources)
    refused = [o.flow for o in rehearsal.refused_legitimate]
    assert refused == ["deployer of staging: kv-staging: POST sys/mounts/kv-staging"], refused
    assert not rehearsal.passed


def test_a_deployer_policy_too_wide_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[StackVaultResource],
) -> None:
    deployer = example_plan.deployer("staging")
    wide = VaultPolicy(deployer.policy.name, "staging", "deployer", EVERYTHING)
    rehearsal = _rehearse(example_declaration, _with_deployer(example_plan, "staging", {"policy": wide}),
                          example_resources)
    escaped = {o.flow for o in rehearsal.escapes}
    assert {"deployer of staging: writes production's policy production.admin, even as planned",
            "deployer of staging: reads its own environment's secret kv-staging/data/apps/webapp",
            "deployer of staging: widens its own deployer policy secure_pipelines.deployer.staging",
            } <= escaped, sorted(escaped)


def test_deployer_tokens_outlive_a_long_rehearsal_and_are_revoked_after_their_rows(
    openbao_root: VaultSession, example_plan: Plan
) -> None:
    """Minted for the whole rehearsal (a 1000-repository one fires their rows after half an hour), then
    revoked: nothing a rehearsal mints outlives it, on an external Vault either."""
    deployer = dataclasses.replace(example_plan.deployer("staging"), policy=VaultPolicy(
        name="secure_pipelines.deployer.revocation-test", environment="staging", purpose="deployer",
        hcl='path "sys/health" { capabilities = ["read"] }'))
    tokens = bootstrap(openbao_root, {"staging": deployer})
    token = tokens["staging"].session.token
    looked_up = openbao_root.write("auth/token/lookup", {"token": token})
    assert looked_up.ok and looked_up.body["data"]["ttl"] > 30 * 60
    revoke(openbao_root, tokens)
    assert not openbao_root.write("auth/token/lookup", {"token": token}).ok
