"""The pure functions next to the components: role bodies, provider claim maps, stack selection."""

from __future__ import annotations

import dataclasses

import pytest

from secure_pipelines.components._component import no_comma
from secure_pipelines.components.admin_role import _admin_bound_claims
from secure_pipelines.components.ci_roles import (
    _provider_bound_claims,
    _role_api_path,
    _vault_cidr,
    _vault_role_body,
)
from secure_pipelines.errors import UnknownStack
from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.plan.model import BoundClaim
from secure_pipelines.stack import select_environment


def _role(plan: Plan, name: str) -> CIRole:
    return next(r for r in plan.roles if r.role_name == name)


def test_the_api_body_keeps_the_ssh_rerun_claim_a_json_boolean(example_plan: Plan):
    body = _vault_role_body(_role(example_plan, "production.webapp"))
    assert body["bound_claims"]["oidc.circleci.com/ssh-rerun"] == [False]
    assert body["bound_claims"]["oidc.circleci.com/ssh-rerun"][0] is False


def test_the_api_body_carries_every_security_setting_of_the_role(example_plan: Plan):
    role = _role(example_plan, "production.webapp")
    assert _vault_role_body(role) == {
        "role_type": "jwt",
        "bound_audiences": list(role.bound_audiences),
        "bound_claims": {c.claim: list(c.values) for c in role.bound_claims},
        "bound_claims_type": "string",
        "user_claim": "sub",
        "token_policies": ["production.ci.webapp"],
        "token_no_default_policy": True,
        "token_bound_cidrs": ["203.0.113.16/28", "2001:db8:200::/48"],
        "token_ttl": 300,
        "token_max_ttl": 600,
        "token_period": 0,
        "token_type": "service",
        "groups_claim": "",
    }


@pytest.mark.parametrize(("cidr", "written"), [
    ("203.0.113.7/32", "203.0.113.7"),
    ("2001:db8::7/128", "2001:db8::7"),
    ("203.0.113.16/28", "203.0.113.16/28"),
    ("2001:db8:200::/48", "2001:db8:200::/48"),
])
def test_one_address_networks_are_written_as_vault_reads_them_back(cidr, written):
    assert _vault_cidr(cidr) == written


def test_the_api_path_is_the_roles_mount_and_name(example_plan: Plan):
    assert _role_api_path(_role(example_plan, "staging.webapp")) == "auth/circleci/role/staging.webapp"


def test_provider_claims_join_any_of_values_with_commas(example_plan: Plan):
    role = _role(example_plan, "production.api")
    two_branches = dataclasses.replace(role, bound_claims=(
        *role.bound_claims[:-2], BoundClaim("ref", ("refs/heads/main", "refs/heads/release")),
    ))
    assert _provider_bound_claims(two_branches)["ref"] == "refs/heads/main,refs/heads/release"


def test_provider_claims_of_a_plain_role_are_the_plans_strings(example_plan: Plan):
    role = _role(example_plan, "production.api")
    assert _provider_bound_claims(role) == {c.claim: c.values[0] for c in role.bound_claims}


def test_provider_claims_refuse_a_value_the_provider_would_split(example_plan: Plan):
    role = _role(example_plan, "production.api")
    bad = dataclasses.replace(role, bound_claims=(BoundClaim("environment", ("prod,staging",)),))
    with pytest.raises(ValueError, match="contains ','"):
        _provider_bound_claims(bad)


def test_provider_claims_refuse_a_typed_value(example_plan: Plan):
    with pytest.raises(ValueError, match="not a string"):
        _provider_bound_claims(_role(example_plan, "production.webapp"))


def test_no_comma_passes_a_plain_value_through():
    assert no_comma("field", "refs/heads/main") == "refs/heads/main"


def test_the_admin_role_binds_only_its_environments_admin_group(example_plan: Plan):
    role = example_plan.environment("production").admin_role
    assert _admin_bound_claims(role) == {"groups": "vault-production-admins"}


def test_a_stack_selects_the_environment_of_its_name(example_plan: Plan):
    selected = select_environment(example_plan, "staging")
    assert selected is not None and selected.name == "staging"


def test_a_resources_stack_that_is_no_environment_selects_none(example_plan: Plan):
    org_only = dataclasses.replace(example_plan, resources_stack="org")
    assert select_environment(org_only, "org") is None


def test_an_unknown_stack_names_the_known_environments(example_plan: Plan):
    with pytest.raises(UnknownStack, match=r"'prod'.*known: dev, qa, staging, production"):
        select_environment(example_plan, "prod")
