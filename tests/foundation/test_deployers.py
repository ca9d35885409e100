"""Each stack's deployer, derived in the plan: it reaches its own environment's objects only (the
resources stack's also the organisation's), never a secret, and pins what it writes to the plan."""

from __future__ import annotations

from typing import Any

import pytest

from secure_pipelines import build_plan, naming, parse_declaration
from secure_pipelines.explain import who_changes_what
from secure_pipelines.plan import Deployer, Plan
from secure_pipelines.plan.deployers import CHILD_TOKEN, LOOKUP_SELF, REVOKE_SELF, hcl_string

TOKEN_PATHS = {LOOKUP_SELF, CHILD_TOKEN, REVOKE_SELF}


@pytest.fixture
def example_plan(example: dict[str, Any]) -> Plan:
    return build_plan(parse_declaration(example))


def matches(rule: str, path: str) -> bool:
    """Vault's ACL paths as the deployers use them: a trailing ``*`` is a prefix, anything else exact."""
    return path.startswith(rule[:-1]) if rule.endswith("*") else path == rule


def objects_of(plan: Plan, environment: str) -> list[str]:
    """The API path of every policy, role and mount ``environment`` owns."""
    env = plan.environment(environment)
    return ([f"sys/policies/acl/{p.name}" for p in env.policies]
            + [f"auth/{r.mount_path}/role/{r.role_name}" for r in (*env.roles, env.admin_role)]
            + [f"sys/mounts/{env.secret_store.mount}", f"sys/mounts/{env.secret_store.mount}/tune"])


def test_one_deployer_per_stack_and_only_the_resources_stacks_is_organisation_wide(example_plan: Plan) -> None:
    assert [d.stack for d in example_plan.deployers] == [e.name for e in example_plan.environments]
    assert [d.stack for d in example_plan.deployers if d.organization_wide] == [example_plan.resources_stack]
    assert {d.policy.name for d in example_plan.deployers} == {
        naming.deployer_policy(e.name) for e in example_plan.environments}


def test_a_deployer_reaches_every_object_of_its_environment(example_plan: Plan) -> None:
    for deployer in example_plan.deployers:
        for path in objects_of(example_plan, deployer.stack):
            assert any(matches(g.path, path) and "update" in g.capabilities for g in deployer.grants), path


def test_no_deployer_but_the_resources_stacks_reaches_another_environments_object(example_plan: Plan) -> None:
    for deployer in example_plan.deployers:
        if deployer.organization_wide:
            continue
        for other in example_plan.environments:
            if other.name == deployer.stack:
                continue
            reached = [(g.path, path) for g in deployer.grants for path in objects_of(example_plan, other.name)
                       if matches(g.path, path)]
            assert reached == [], f"{deployer.stack} reaches {other.name}: {reached}"


def test_no_deployer_reaches_a_secret_or_another_deployers_policy(example_plan: Plan) -> None:
    secrets = [q for e in example_plan.environments for p in e.secret_store.paths
               for q in (p.data_path, p.data_path.replace("/data/", "/metadata/", 1))]
    for deployer in example_plan.deployers:
        assert not [(g.path, s) for g in deployer.grants for s in secrets if matches(g.path, s)], deployer.stack
        if not deployer.organization_wide:
            policies = [f"sys/policies/acl/{d.policy.name}" for d in example_plan.deployers]
            assert not [g.path for g in deployer.grants for p in policies if matches(g.path, p)], deployer.stack


def test_every_write_a_deployer_may_make_to_a_policy_or_role_is_pinned_to_the_plan(example_plan: Plan) -> None:
    deployer: Deployer = example_plan.deployer("staging")
    for grant in deployer.grants:
        writes = {"create", "update"} & set(grant.capabilities)
        if grant.path in TOKEN_PATHS or grant.path.startswith("sys/mounts/") or not writes:
            continue
        assert grant.pinned and not grant.path.endswith("*"), grant.path


def test_each_planned_policy_is_the_only_text_its_grant_admits(example_plan: Plan) -> None:
    staging = example_plan.environment("staging")
    hcl = example_plan.deployer("staging").policy.hcl
    for policy in staging.policies:
        assert f'"policy" = [{hcl_string(policy.hcl)}]' in hcl, policy.name


def test_a_template_sequence_cannot_be_pinned() -> None:
    with pytest.raises(ValueError, match="template sequence"):
        hcl_string('path "${identity.entity.id}/*" {}')


def test_explain_lists_who_can_change_what(example_plan: Plan) -> None:
    shown = {d.stack: d for d in who_changes_what(example_plan)}
    assert set(shown) == {"dev", "qa", "staging", "production"}
    staging = shown["staging"]
    assert staging.policy == "secure_pipelines.deployer.staging" and not staging.organization_wide
    assert {p.path for p in staging.paths} >= {"sys/mounts/kv-staging", "sys/policies/acl/staging.admin",
                                               "auth/circleci/role/staging.webapp"}
    assert [d.stack for d in who_changes_what(example_plan, ("production",))] == ["production"]
    assert any(p.path == "auth/circleci/config" for p in shown["production"].paths)
