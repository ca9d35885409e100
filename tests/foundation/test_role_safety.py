"""The rules every CI role must satisfy, whoever writes it: the declaration or a role component's fields."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.declaration.model import Tier
from secure_pipelines.declaration.role_safety import (
    audience_problem,
    bound_claims_problems,
    claim_value_problem,
    long_ttl_warning,
    max_token_ttl,
    open_allowlist_problems,
    open_allowlist_warning,
    ttl_problems,
)
from secure_pipelines.plan.assembly import build_plan

SUBJECT_PREFIX = "org/7f3c/project/91aa/user/5e2d/"


@pytest.mark.parametrize(("value", "claims_match"), [
    ("refs/heads/main", "string"),
    (False, "string"),
    (True, "string"),
    ("refs/heads/main", "glob"),
    (SUBJECT_PREFIX + "*", "glob"),
])
def test_a_value_that_cannot_widen_the_binding_is_accepted(value, claims_match):
    assert claim_value_problem("bound_claims[sub]", value, claims_match) is None


@pytest.mark.parametrize(("value", "claims_match", "why"), [
    ("repo:acme/app*", "glob", "widens the binding"),  # admits repo:acme/app-evil
    ("*", "glob", "widens the binding"),
    ("/*", "glob", "widens the binding"),
    ("org/1/*/user/3/", "glob", "widens the binding"),  # a '*' in the middle spans any project
    ("org/1/project/*/user/*", "glob", "widens the binding"),
    ("org/1/user/3/**", "glob", "widens the binding"),
    ("refs/heads/release-*", "glob", "widens the binding"),
    (SUBJECT_PREFIX + "*", "string", "compares it literally"),
    ("refs/heads/*", "string", "compares it literally"),
    (False, "glob", "compares strings only"),
    ("", "string", "is empty"),
    ("prod,staging", "string", "splits into several values"),
])
def test_a_value_that_widens_or_breaks_the_binding_is_refused(value, claims_match, why):
    problem = claim_value_problem("bound_claims[x]", value, claims_match)
    assert problem is not None and why in problem.message
    assert (problem.field, problem.value) == ("bound_claims[x]", value)


def test_a_role_that_binds_no_claim_is_refused():
    (problem,) = bound_claims_problems("bound_claims", {}, "string")
    assert problem.field == "bound_claims" and "binds no claim" in problem.message


def test_a_claim_bound_to_no_value_is_refused():
    (problem,) = bound_claims_problems("bound_claims", {"repository_id": []}, "string")
    assert problem.field == "bound_claims.repository_id" and "lists no value" in problem.message


def test_every_bad_value_of_every_claim_is_reported_with_its_claim():
    found = bound_claims_problems("bound_claims", {"ref": ["refs/heads/*", "refs/heads/main"], "a": ["x,y"]},
                                  "string")
    assert [(p.field, p.value) for p in found] == [("bound_claims.ref", "refs/heads/*"), ("bound_claims.a", "x,y")]


def test_a_role_without_an_audience_is_refused_and_one_with_an_audience_is_not():
    problem = audience_problem("bound_audiences", [])
    assert problem is not None and problem.field == "bound_audiences"
    assert audience_problem("bound_audiences", ["https://github.com/acme"]) is None


@pytest.mark.parametrize("tier", [Tier.STAGING, Tier.PRODUCTION])
@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_an_open_allowlist_is_refused_for_staging_and_production(tier, cidr):
    (problem,) = open_allowlist_problems("token_bound_cidrs", ["192.0.2.0/28", cidr], tier)
    assert (problem.field, problem.value) == ("token_bound_cidrs", cidr)
    assert f"a {tier} allowlist must list your runners' egress ranges" in problem.message


@pytest.mark.parametrize("tier", [Tier.DEVELOPMENT, Tier.TEST])
def test_an_open_development_or_test_allowlist_is_accepted_with_a_warning(tier):
    assert list(open_allowlist_problems("token_bound_cidrs", ["0.0.0.0/0"], tier)) == []
    warning = open_allowlist_warning("token_bound_cidrs", ["0.0.0.0/0"], tier)
    assert warning is not None and "any address" in warning.message
    assert open_allowlist_warning("token_bound_cidrs", ["10.0.0.0/8"], tier) is None


def test_an_open_test_allowlist_is_warned_about_louder_than_a_development_one():
    test = open_allowlist_warning("token_bound_cidrs", ["::/0"], Tier.TEST)
    assert test is not None and "shared by the team; list your runners' egress ranges" in test.message


@pytest.mark.parametrize(("tier", "limit"), [(Tier.PRODUCTION, 900), (Tier.STAGING, 1200), (Tier.TEST, 1800),
                                             (Tier.DEVELOPMENT, 3600)])
def test_a_ttl_above_the_tiers_limit_is_refused_and_one_at_the_limit_is_not(tier, limit):
    assert max_token_ttl(tier) == limit
    assert list(ttl_problems("", tier, limit, limit, None)) == []
    found = list(ttl_problems("", tier, limit, limit + 1, None))
    assert [(p.field, p.value) for p in found] == [("token_max_ttl", limit + 1)]
    assert "overrides.long_token_ttl" in found[0].message


def test_a_ttl_longer_than_the_max_ttl_is_refused_even_with_an_override():
    found = list(ttl_problems("environments[qa]", Tier.STAGING, 1200, 600, "batch jobs run long here"))
    assert [p.field for p in found] == ["environments[qa].token_ttl"]


def test_an_override_accepts_a_long_ttl_and_is_reported_as_a_warning():
    assert list(ttl_problems("", Tier.PRODUCTION, 1800, 3600, "the deploy takes forty minutes")) == []
    warning = long_ttl_warning("", "the deploy takes forty minutes")
    assert warning is not None and warning.field == "overrides.long_token_ttl"
    assert long_ttl_warning("", None) is None


def test_every_role_the_example_plan_writes_passes_every_rule(example: dict[str, Any]):
    """The rules a role component enforces are the ones the toolkit's own roles already meet."""
    plan = build_plan(parse_declaration(example))
    assert plan.roles
    for role in plan.roles:
        found = [
            *bound_claims_problems("bound_claims", role.claims, role.claims_match),
            *open_allowlist_problems("token_bound_cidrs", role.token_bound_cidrs, role.tier),
            *ttl_problems("", role.tier, role.token_ttl, role.token_max_ttl, None),
        ]
        assert audience_problem("bound_audiences", role.bound_audiences) is None, role.role_name
        assert found == [], role.role_name


def test_each_tiers_ttl_limit_is_strictly_below_the_one_beneath_it():
    limits = [max_token_ttl(tier) for tier in Tier]  # declared lowest tier first
    assert list(Tier) == [Tier.DEVELOPMENT, Tier.TEST, Tier.STAGING, Tier.PRODUCTION]
    assert all(lower > higher for lower, higher in itertools.pairwise(limits))
