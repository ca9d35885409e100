"""The infrastructure repository deploys itself: its declaration is checked, and the plan gives it one role
per stack, bound to that repository, its default branch, its reviewed workflow and the stack's environment,
holding that stack's deployer policy alone; only the resources stack's deployer may write those roles."""

from __future__ import annotations

from typing import Any

import pytest

from secure_pipelines import InvalidDeclaration, parse_declaration
from secure_pipelines.explain import who_changes_what
from secure_pipelines.plan.assembly import build_plan


def _refusal(values: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(values)
    return [str(p) for p in refused.value.problems]


def test_each_stack_gets_one_role_applied_resources_stack_first(example: dict[str, Any]) -> None:
    plan = build_plan(parse_declaration(example))
    assert plan.infrastructure is not None
    assert plan.infrastructure.stacks == ("production", "dev", "qa", "staging")
    for role in plan.infrastructure.roles:
        assert role.role_name == f"secure_pipelines.deployer.{role.environment}"
        assert role.token_policies == (plan.deployer(role.environment).name,)
        assert role.token_bound_cidrs == ("203.0.113.32/28",)
        assert role.token_max_ttl <= 900 and role.secret_paths == ()
        claims = role.claims
        assert claims["repository_id"] == ("700000009",)
        assert claims["environment"] == (role.environment,)
        assert claims["ref"] == ("refs/heads/main",)
        assert claims["workflow_ref"] == claims["job_workflow_ref"] == (
            "acme/infrastructure/.github/workflows/infrastructure.yml@refs/heads/main",)
        assert claims["event_name"] == ("push",) and claims["runner_environment"] == ("self-hosted",)


def test_only_the_resources_stack_deployer_writes_the_roles_each_pinned_to_its_policy(
        example: dict[str, Any]) -> None:
    plan = build_plan(parse_declaration(example))
    organization = plan.deployer(plan.resources_stack)
    for stack in ("dev", "qa", "staging", "production"):
        grant = next(g for g in organization.grants
                     if g.path == f"auth/github-actions/role/secure_pipelines.deployer.{stack}")
        assert grant.allowed == (("token_policies", ((f"secure_pipelines.deployer.{stack}",),)),)
        assert "policies" in grant.denied
    for deployer in plan.deployers:
        if deployer.stack != plan.resources_stack:
            assert not [g.path for g in deployer.grants if "secure_pipelines.deployer" in g.path]


def _infrastructure(example: dict[str, Any], **changes: Any) -> dict[str, Any]:
    example["infrastructure"].update(changes)
    return example


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"repository": "nowhere"}, "infrastructure.repository", "is not a declared repository"),
    ({"repository": "api"}, "infrastructure.repository", "also deploys an application to dev, qa, staging, production"),
    ({"ci": "gitlab_ci"}, "infrastructure.ci", "infrastructure does not build on it"),
    ({"ip_allowlist": ["0.0.0.0/0"]}, "infrastructure.ip_allowlist", "admits every address"),
    ({"token_ttl": 900, "token_max_ttl": 600}, "infrastructure.token_ttl", "longer than"),
], ids=["undeclared", "deploys-an-app", "not-its-ci", "open-allowlist", "ttl-above-max"])
def test_a_bad_infrastructure_section_is_refused(example: dict[str, Any], changes: dict[str, Any], field: str,
                                                  message: str) -> None:
    shown = _refusal(_infrastructure(example, **changes))
    assert any(p.startswith(field) and message in p for p in shown), shown


def test_a_ci_system_without_an_infrastructure_pipeline_is_refused(example: dict[str, Any]) -> None:
    repo = next(r for r in example["repositories"] if r["name"] == "infrastructure")
    repo["ci"] = {"circleci": {"project_id": "7ca3e245-c081-4f92-8e3d-415263748596",
                               "pipeline_definition_id": "8db4f356-d192-4a03-9f4e-526374859607"}}
    shown = _refusal(_infrastructure(example, ci="circleci"))
    assert any("infrastructure.ci" in p and "cannot run the infrastructure pipeline" in p for p in shown), shown


def test_a_long_deployer_token_is_refused(example: dict[str, Any]) -> None:
    shown = _refusal(_infrastructure(example, token_max_ttl=3600))
    assert any("infrastructure.token_max_ttl" in p for p in shown), shown


def test_without_the_section_nothing_is_planned(example: dict[str, Any]) -> None:
    del example["infrastructure"]
    example["repositories"] = [r for r in example["repositories"] if r["name"] != "infrastructure"]
    plan = build_plan(parse_declaration(example))
    assert plan.infrastructure is None
    assert not [g for d in plan.deployers for g in d.grants if "/role/secure_pipelines." in g.path]


def test_explain_says_each_stack_is_applied_through_its_infrastructure_role(example: dict[str, Any]) -> None:
    shown = {d.stack: d.applied_with for d in who_changes_what(build_plan(parse_declaration(example)))}
    assert shown["staging"] == ("the infrastructure pipeline's job in environment staging, logged in through "
                                "auth/github-actions/role/secure_pipelines.deployer.staging from 203.0.113.32/28")
