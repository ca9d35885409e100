"""The Vault naming convention: every object an environment owns begins with ``<env>.``, and no object
of one environment matches another environment's globs (``<env>.*``), so a deployer policy written with
those globs reaches its own environment only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secure_pipelines import build_plan, naming, parse_declaration
from secure_pipelines.plan.model import Plan

ENVIRONMENT_NAME = st.from_regex(r"[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?", fullmatch=True)
REPOSITORY_NAME = st.from_regex(r"[a-z0-9](?:[a-z0-9._-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda name: ".." not in name)
DEVELOPER_NAME = st.one_of(st.none(), ENVIRONMENT_NAME)


@pytest.fixture
def example_plan(example: dict[str, Any]) -> Plan:
    return build_plan(parse_declaration(example))


def owned_names(plan: Plan, environment: str) -> list[str]:
    """Every policy and role name (roles with their mount) that ``environment`` owns in ``plan``."""
    env = plan.environment(environment)
    return ([p.name for p in env.policies] + [r.role_name for r in env.roles]
            + [env.admin_role.role_name])


def names_of(environment: str, repository: str, developer: str | None) -> list[str]:
    return [naming.ci_role(environment, repository, developer), naming.ci_policy(environment, repository, developer),
            naming.admin_policy(environment), naming.admin_role(environment)]


def test_every_object_of_the_example_begins_with_its_environment_and_no_other(example_plan: Plan) -> None:
    environments = [e.name for e in example_plan.environments]
    for environment in environments:
        for name in owned_names(example_plan, environment):
            assert naming.owned_by(name, environment), name
            assert not any(naming.owned_by(name, other) for other in environments if other != environment), name


def test_every_secret_mount_is_one_exact_path_of_its_own(example_plan: Plan) -> None:
    mounts = [e.secret_store.mount for e in example_plan.environments]
    assert len(set(mounts)) == len(mounts)


@given(ENVIRONMENT_NAME, ENVIRONMENT_NAME, REPOSITORY_NAME, DEVELOPER_NAME)
def test_no_name_of_one_environment_matches_another_environments_glob(
    environment: str, other: str, repository: str, developer: str | None
) -> None:
    if environment == other:
        return
    for name in names_of(environment, repository, developer):
        assert naming.owned_by(name, environment)
        assert not naming.owned_by(name, other), (name, other)


@given(ENVIRONMENT_NAME, REPOSITORY_NAME, DEVELOPER_NAME)
def test_an_environment_and_its_dashed_namesake_are_disjoint(
    environment: str, repository: str, developer: str | None
) -> None:
    """``dev`` and ``dev-lin``: the pair a ``-`` separator would have confused."""
    namesake = f"{environment}-lin"[:32]
    if namesake == environment:
        return
    for name in names_of(namesake, repository, developer):
        assert not naming.owned_by(name, environment), name
    for name in names_of(environment, repository, developer):
        assert not naming.owned_by(name, namesake), name


@given(ENVIRONMENT_NAME)
def test_no_environment_reaches_the_organisation_wide_deployer_names(environment: str) -> None:
    for stack in (environment, "production", "staging"):
        assert not naming.owned_by(naming.deployer_policy(stack), environment)
        assert not naming.owned_by(naming.deployer_role(stack), environment)
        assert naming.deployer_policy(stack).startswith(naming.deployers_prefix())


def test_dev_and_dev_lin_plan_side_by_side_with_disjoint_names(example: dict[str, Any]) -> None:
    """A ``dev-lin`` environment next to ``dev``, which is per developer with a developer ``lin``: under the
    names before the convention, ``dev``'s policy for lin and ``dev-lin``'s policy were the same name."""
    values = copy.deepcopy(example)
    values["environments"].append({
        "name": "dev-lin", "tier": "development", "repositories": ["webapp"], "ip_allowlist": ["10.0.0.0/8"],
        "ci": {"circleci": {"context": {"name": "acme-dev-lin", "id": "8e14b356-d192-4a03-8f4e-5263748596a7"}}},
    })
    values["admins"]["groups"]["dev-lin"] = "vault-dev-admins"
    plan = build_plan(parse_declaration(values))
    assert naming.previous_ci_policy("dev", "webapp", "lin") == naming.previous_ci_policy("dev-lin", "webapp")
    dev, dev_lin = owned_names(plan, "dev"), owned_names(plan, "dev-lin")
    assert "dev.ci.webapp.lin" in dev and "dev-lin.ci.webapp" in dev_lin
    assert not any(naming.owned_by(name, "dev") for name in dev_lin)
    assert not any(naming.owned_by(name, "dev-lin") for name in dev)


def test_a_per_developer_role_is_named_by_the_user_id_its_tokens_carry(example_plan: Plan) -> None:
    roles = [r for r in example_plan.roles if r.developer]
    assert {r.ci for r in roles} == {"circleci", "github-actions", "gitlab-ci"}
    for role in roles:
        assert role.user_id and role.role_name == f"{role.environment}.{role.repository}.{role.user_id}"
        bound = [str(v) for claim in role.bound_claims for v in claim.values]
        assert any(role.user_id == value or f"/user/{role.user_id}/" in value for value in bound), role.role_name
        assert set(role.previous_role_names) == {
            f"{role.repository}-{role.environment}-{role.developer}",
            f"{role.environment}.{role.repository}.{role.developer}",
        }


def test_what_a_dev_deploy_derives_from_its_token_is_exactly_what_the_plan_names(example_plan: Plan) -> None:
    deployments = [d for e in example_plan.environments for d in e.deployments if d.developer_lookup]
    assert deployments
    for deployment in deployments:
        lookup = deployment.developer_lookup
        assert lookup is not None
        for role in deployment.roles:
            assert role.developer is not None and role.user_id is not None
            assert role.role_name == lookup.role_prefix + role.user_id
            assert role.token_policies == (lookup.policy_prefix + role.developer,)
            own, *shared = role.secret_paths
            assert own.data_path == lookup.secret(role.developer)
            assert own.file_name == lookup.secret_file
            assert tuple((p.data_path, p.file_name) for p in shared) == lookup.shared
