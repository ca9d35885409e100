"""Dangerous or malformed inputs sent by another language's SDK are refused at construct, with the
declaration checks' own sentences, as input property errors (field and reason, no traceback)."""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from pulumi.errors import InputPropertiesError
from ruamel.yaml import YAML

from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.declaration.model import Tier
from secure_pipelines.declaration.role_safety import (
    audience_problem,
    bound_claims_problems,
    claim_value_problem,
    open_allowlist_problems,
    ttl_problems,
)
from secure_pipelines.errors import InvalidDeclaration, Problem

from .another_language import Construct, load_program, run_program

SSH_RERUN = "oidc.circleci.com/ssh-rerun"
ROLE = "secure-pipelines:index:CIJwtRole"
ENVIRONMENT = "secure-pipelines:index:DeclaredEnvironment"


def _release_bot() -> Construct:
    _, constructs = load_program("typescript_production.yaml")
    return replace(next(c for c in constructs if c.name == "release-bot"), depends_on=())


def _refused(call: Construct, before: tuple[Construct, ...] = ()) -> InputPropertiesError:
    with pytest.raises(InputPropertiesError) as refused:
        run_program("production", [*before, call])
    return refused.value


def _with(call: Construct, **inputs: Any) -> Construct:
    return replace(call, inputs={**call.inputs, **inputs})


def _error(problem: Problem | None) -> dict[str, str]:
    assert problem is not None
    return {"property_path": problem.field, "reason": str(problem).removeprefix(f"{problem.field}: ")}


def _errors(refused: InputPropertiesError) -> list[Mapping[str, str]]:
    return [dict(error) for error in refused.errors or []]


def test_a_role_that_binds_no_claim_is_refused():
    refused = _refused(_with(_release_bot(), boundClaims={}))
    assert _errors(refused) == [_error(next(bound_claims_problems("bound_claims", {}, "string")))]
    assert refused.message == "CIJwtRole 'release-bot': 1 problem(s) in its inputs; nothing was created"


def test_a_role_without_an_audience_is_refused():
    refused = _refused(_with(_release_bot(), boundAudiences=[]))
    assert _errors(refused) == [_error(audience_problem("bound_audiences", []))]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_an_open_allowlist_is_refused_for_a_production_role(cidr):
    refused = _refused(_with(_release_bot(), tokenBoundCidrs=["203.0.113.16/28", cidr]))
    expected = open_allowlist_problems("token_bound_cidrs", [cidr], Tier.PRODUCTION)
    assert _errors(refused) == [_error(next(expected))]


@pytest.mark.parametrize("cidrs", [["0.0.0.0/1", "128.0.0.0/1"], ["::ffff:0:0/96"], ["64.0.0.0/2"]])
def test_ranges_that_add_up_to_an_open_allowlist_are_refused_for_a_production_role(cidrs):
    refused = _refused(_with(_release_bot(), tokenBoundCidrs=cidrs))
    (expected,) = open_allowlist_problems("token_bound_cidrs", cidrs, Tier.PRODUCTION)
    assert "admit" in expected.message
    assert _errors(refused) == [_error(expected)]


def test_an_open_allowlist_is_refused_for_a_staging_role():
    refused = _refused(_with(_release_bot(), tier="staging", tokenBoundCidrs=["0.0.0.0/0"]))
    assert _errors(refused) == [_error(next(open_allowlist_problems("token_bound_cidrs", ["0.0.0.0/0"],
                                                                    Tier.STAGING)))]


def test_a_production_ttl_above_fifteen_minutes_is_refused():
    refused = _refused(_with(_release_bot(), tokenTtl=600, tokenMaxTtl=1800))
    assert _errors(refused) == [_error(p) for p in ttl_problems("", Tier.PRODUCTION, 600, 1800, None)]


def test_an_hour_long_staging_ttl_is_refused():
    refused = _refused(_with(_release_bot(), tier="staging", tokenTtl=3601, tokenMaxTtl=3601))
    expected = list(ttl_problems("", Tier.STAGING, 3601, 3601, None))
    assert len(expected) == 2 and _errors(refused) == [_error(p) for p in expected]


def test_a_long_ttl_is_accepted_with_a_named_reason_and_a_warning():
    call = _with(_release_bot(), tokenMaxTtl=1800,
                 overrides={"longTokenTtl": "the database migration step runs for twenty minutes"})
    run = run_program("production", [call])
    assert any("longer-lived tokens widen the window" in w for w in run.capture.warnings)


@pytest.mark.parametrize(("claims", "claims_match", "claim", "value"), [
    ({"oidc.circleci.com/vcs-ref": ["refs/heads/*"]}, "string", "oidc.circleci.com/vcs-ref", "refs/heads/*"),
    ({"sub": ["org/1/project/2/user/*/vcs-origin/x"]}, "glob", "sub", "org/1/project/2/user/*/vcs-origin/x"),
    ({"sub": ["repo:acme/webapp*"]}, "glob", "sub", "repo:acme/webapp*"),
    ({SSH_RERUN: [False]}, "glob", SSH_RERUN, False),
])
def test_a_glob_that_widens_a_binding_is_refused(claims, claims_match, claim, value):
    bot = _release_bot()
    refused = _refused(_with(bot, boundClaims={**bot.inputs["boundClaims"], **claims}, claimsMatch=claims_match))
    assert _error(claim_value_problem(f"bound_claims.{claim}", value, claims_match)) in _errors(refused)


def test_a_glob_after_a_fixed_prefix_ending_in_a_slash_is_accepted():
    call = _with(_release_bot(), claimsMatch="glob", boundClaims={
        "oidc.circleci.com/project-id": ["7d03a245-c081-4f92-9e2c-415263748596"],
        "sub": ["org/6a1f4c2e/project/7d03a245/user/3f6fce01/*"],
    })
    run = run_program("production", [call])
    assert run.constructed["release-bot"].state == {"rolePath": "auth/circleci/role/production.release-bot"}


def test_every_problem_is_reported_at_once():
    refused = _refused(_with(_release_bot(), boundAudiences=[], tokenBoundCidrs=["0.0.0.0/0"], tokenMaxTtl=3600))
    assert [e["property_path"] for e in _errors(refused)] == ["bound_audiences", "token_bound_cidrs", "token_max_ttl"]


@pytest.mark.parametrize(("inputs", "field", "words"), [
    ({"tokenTtl": 300.5}, "token_ttl", "must be a whole number"),
    ({"tokenTtl": 30}, "token_ttl", "must be at least 60"),
    ({"tier": "prod"}, "tier", "'development', 'test', 'staging' or 'production'"),
    ({"claimsMatch": "regex"}, "claims_match", "'string' or 'glob'"),
    ({"tokenBoundCidrs": ["203.0.113.17/28"]}, "token_bound_cidrs[0]", "host bits set"),
    ({"roleName": "Release Bot"}, "role_name", "not a safe name"),
    ({"tokenPolicies": []}, "token_policies", "at least 1"),
    ({"boundClaims": {"oidc.circleci.com/project-id": [12345]}}, "bound_claims.oidc.circleci.com/project-id[0]",
     "quote them"),
])
def test_a_malformed_input_names_its_field(inputs, field, words):
    refused = _refused(_with(_release_bot(), **inputs))
    assert any(e["property_path"] == field and words in e["reason"] for e in _errors(refused)), _errors(refused)


def test_a_secret_number_is_refused_with_a_message_not_a_crash():
    """A secret integer input crashes Pulumi's own input mapping (``int(Output)``); a number does not."""
    refused = _refused(replace(_release_bot(), secrets=("tokenTtl",)))
    assert [e["property_path"] for e in _errors(refused)] == ["token_ttl"]
    assert "secret or another resource's output" in _errors(refused)[0]["reason"]


def test_an_input_taken_from_another_resources_output_is_refused():
    _, constructs = load_program("typescript_production.yaml")
    organization = constructs[0]
    call = replace(_release_bot(), input_dependencies={"mount": ("acme",), "tokenMaxTtl": ("acme",)})
    refused = _refused(call, before=(organization,))
    assert [e["property_path"] for e in _errors(refused)] == ["mount", "token_max_ttl"]


def _yaml_text(values: dict[str, Any]) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(values, stream)
    return stream.getvalue()


def _environment(declaration: str, environment: str = "production") -> Construct:
    return Construct(type=ENVIRONMENT, name=environment,
                     inputs={"declaration": declaration, "environment": environment})


def test_a_declaration_validation_refuses_is_refused_with_the_same_problems(example: dict[str, Any]):
    broken = copy.deepcopy(example)
    production = next(e for e in broken["environments"] if e["name"] == "production")
    production["ip_allowlist"] = ["0.0.0.0/0"]
    production["token_max_ttl"] = 1800
    with pytest.raises(InvalidDeclaration) as validation:
        parse_declaration(broken)
    refused = _refused(_environment(_yaml_text(broken)))
    assert _errors(refused) == [_error(p) for p in validation.value.problems]
    assert len(_errors(refused)) == 2


def test_an_environment_the_declaration_does_not_declare_is_refused_naming_the_known_ones(example):
    refused = _refused(_environment(_yaml_text(example), "perf"))
    assert _errors(refused) == [{"property_path": "environment",
                                 "reason": "perf: is not an environment of the declaration (known: dev, qa, "
                                           "staging, production)"}]


def test_text_that_is_not_yaml_is_refused():
    refused = _refused(_environment("version: 2\norganization: [unclosed\n"))
    (error,) = _errors(refused)
    assert error["property_path"] == "declaration" and "is not valid YAML" in error["reason"]
