"""GitLab CI's declaration and bindings as a specification: what each role binds (only documented
claims, as the strings GitLab sends), what the declaration refuses, and what it warns about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from secure_pipelines import InvalidDeclaration, build_plan, parse_declaration
from secure_pipelines.declaration.checks import warnings
from secure_pipelines.plan.model import CIRole, Plan

CLAIMS_GITLAB_DOCUMENTS = {
    "namespace_id", "namespace_path", "project_id", "project_path", "user_id", "user_login", "user_email",
    "user_access_level", "pipeline_id", "pipeline_source", "job_id", "ref", "ref_type", "ref_path",
    "ref_protected", "environment", "environment_protected", "deployment_tier", "environment_action",
    "runner_id", "runner_environment", "sha", "ci_config_ref_uri", "ci_config_sha", "project_visibility",
    "job_project_id", "job_project_path", "job_namespace_id", "job_namespace_path",
}
"""GitLab's ID token claims (doc/ci/secrets/id_token_authentication.md), besides iss, sub, aud and times."""


def shop(declaration: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in declaration["repositories"] if r["name"] == "shop")


def environment(declaration: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in declaration["environments"] if e["name"] == name)


def gitlab_section(declaration: dict[str, Any], env: str) -> dict[str, Any]:
    return environment(declaration, env).setdefault("ci", {}).setdefault("gitlab_ci", {})


def role(plan: Plan, environment_name: str, developer: str | None = None) -> CIRole:
    return next(r for r in plan.roles if r.ci == "gitlab-ci" and r.environment == environment_name
                and r.developer == developer)


@pytest.fixture
def plan(example: dict[str, Any]) -> Plan:
    return build_plan(parse_declaration(example))


# --- bindings -----------------------------------------------------------------------------------------


def test_production_binds_project_protected_branch_push_protected_environment_pinned_config_and_runner(
    plan: Plan, example: dict[str, Any]
) -> None:
    project = shop(example)["ci"]["gitlab_ci"]
    assert role(plan, "production").claims == {
        "project_id": (str(project["project_id"]),),
        "namespace_id": (str(project["namespace_id"]),),
        "pipeline_source": ("push",),
        "ref_type": ("branch",),
        "environment": ("production",),
        "deployment_tier": ("production",),
        "environment_action": ("start",),
        "ref": ("main",),
        "ci_config_ref_uri": ("gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/main",),
        "ref_protected": ("true",),
        "environment_protected": ("true",),
        "runner_environment": ("self-hosted",),
    }


def test_every_gitlab_role_matches_exact_strings_of_documented_claims(plan: Plan) -> None:
    roles = [r for r in plan.roles if r.ci == "gitlab-ci"]
    assert len(roles) == 5  # dev as lin and as sam, qa, staging, production
    for gitlab_role in roles:
        assert gitlab_role.claims_match == "string" and not gitlab_role.has_typed_claims
        assert set(gitlab_role.claims) <= CLAIMS_GITLAB_DOCUMENTS
        assert all(isinstance(value, str) and "*" not in value
                   for values in gitlab_role.claims.values() for value in values)
        assert gitlab_role.issuer == "https://gitlab.com" and gitlab_role.mount_path == "gitlab-ci"
        assert gitlab_role.bound_audiences == ("secure-pipelines/acme/vault",)


def test_a_test_environment_binds_its_protected_branches_and_gitlabs_testing_tier(plan: Plan) -> None:
    claims = role(plan, "qa").claims
    assert claims["ref"] == ("main", "release/qa") and claims["ref_protected"] == ("true",)
    assert claims["deployment_tier"] == ("testing",) and claims["environment_protected"] == ("true",)
    assert claims["ci_config_ref_uri"] == ("gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/main",
                                           "gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/release/qa")


def test_dev_binds_what_holds_on_any_branch_and_the_developer(plan: Plan, example: dict[str, Any]) -> None:
    lin = next(d for d in example["developers"] if d["name"] == "lin")
    claims = role(plan, "dev", "lin").claims
    assert claims["user_id"] == (str(lin["ci"]["gitlab_ci"]["user_id"]),)
    assert claims["environment"] == ("dev",) and claims["environment_action"] == ("start",)
    assert claims["pipeline_source"] == ("push",) and claims["ref_type"] == ("branch",)
    for unbound in ("ref", "ref_protected", "ci_config_ref_uri", "environment_protected", "runner_environment"):
        assert unbound not in claims, unbound


def test_listed_dev_branches_are_pinned_with_their_own_config(example: dict[str, Any]) -> None:
    environment(example, "dev")["branches"] = ["main", "next"]
    claims = role(build_plan(parse_declaration(example)), "dev", "sam").claims
    assert claims["ref"] == ("main", "next")
    assert claims["ci_config_ref_uri"] == ("gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/main",
                                           "gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/next")


def test_a_self_managed_instance_is_the_issuer_and_the_config_host(example: dict[str, Any]) -> None:
    example["ci"]["gitlab_ci"]["url"] = "https://gitlab.acme.example/"
    shop(example)["ci"]["gitlab_ci"]["ci_config_path"] = "ci/deliver.yml"
    plan = build_plan(parse_declaration(example))
    mount = plan.mount("gitlab-ci")
    assert (mount.issuer, mount.oidc_discovery_url) == ("https://gitlab.acme.example", "https://gitlab.acme.example")
    assert role(plan, "staging").claims["ci_config_ref_uri"] == (
        "gitlab.acme.example/acme/shop//ci/deliver.yml@refs/heads/main",)


def test_declared_deploy_sources_are_what_the_role_admits_with_a_warning(example: dict[str, Any]) -> None:
    gitlab_section(example, "staging")["deploy_sources"] = ["push", "web"]
    declaration = parse_declaration(example)
    assert role(build_plan(declaration), "staging").claims["pipeline_source"] == ("push", "web")
    assert any(w.field == "environments[staging].ci.gitlab_ci.deploy_sources" and w.value == "web"
               for w in warnings(declaration))


def test_a_per_developer_environment_warns_that_gitlab_names_who_runs_a_job_not_who_pushed_it(
    example: dict[str, Any],
) -> None:
    (warning,) = [w for w in warnings(parse_declaration(example))
                  if w.field == "environments[dev].per_developer" and "GitLab" in w.message]
    assert (warning.value, warning.environment) == (True, "dev")
    assert "(shop)" in warning.message and "user_id is the user executing the job" in warning.message
    assert "retries a job of another developer's pipeline, or plays its manual job" in warning.message
    assert "Retry or play dev deploy jobs of your own pipelines only" in warning.message


def test_a_per_developer_environment_without_a_gitlab_project_has_nothing_to_warn_about(
    example: dict[str, Any],
) -> None:
    environment(example, "dev")["repositories"] = ["webapp", "api"]
    assert not [w for w in warnings(parse_declaration(example))
                if w.field == "environments[dev].per_developer" and "GitLab" in w.message]


def test_explain_says_which_jobs_a_gitlab_developer_role_admits(plan: Plan) -> None:
    assert role(plan, "dev", "sam").developer_jobs == (
        "jobs sam runs: sam's pushes, and any job sam retries or plays, whoever pushed it")
    assert role(plan, "production").developer_jobs is None


def test_on_free_with_the_named_override_the_role_does_not_require_a_protected_environment(
    example: dict[str, Any],
) -> None:
    example["ci"]["gitlab_ci"]["plan"] = "free"
    for name in ("qa", "staging", "production"):
        gitlab_section(example, name)["overrides"] = {"unprotected_environment": "GitLab Free until the budget"}
    declaration = parse_declaration(example)
    plan = build_plan(declaration)
    assert "environment_protected" not in role(plan, "production").claims
    assert role(plan, "production").claims["ref_protected"] == ("true",)
    assert any(w.field == "environments[production].ci.gitlab_ci.overrides.unprotected_environment"
               for w in warnings(declaration))


def test_the_repository_on_gitlab_gets_no_github_protection(plan: Plan) -> None:
    assert plan.repository("shop").github_id is None
    assert "shop" not in {p.repository for p in plan.branch_protections}
    assert all(e.repository != "shop" for env in plan.environments for e in env.github_environments)


def test_the_example_warns_what_gitlab_must_be_set_to_by_hand_and_nothing_about_github(
    example: dict[str, Any],
) -> None:
    about_shop = [w for w in warnings(parse_declaration(example)) if w.field.startswith("repositories[shop]")]
    assert [w.field for w in about_shop] == ["repositories[shop].ci.gitlab_ci"]
    assert "protected branches main, release/qa" in about_shop[0].message
    assert "protected environments qa, staging, production" in about_shop[0].message


# --- refused declarations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[dict[str, Any]], None]
    field: str
    message: str


def _set_org(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["ci"]["gitlab_ci"].__setitem__(key, value)


def _set_project(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: shop(d)["ci"]["gitlab_ci"].__setitem__(key, value)


def _set_env(env: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: gitlab_section(d, env).__setitem__(key, value)


def _free_plan(d: dict[str, Any]) -> None:
    d["ci"]["gitlab_ci"]["plan"] = "free"


def _override_on_premium(d: dict[str, Any]) -> None:
    gitlab_section(d, "production")["overrides"] = {"unprotected_environment": "we have no budget for premium"}


def _no_user_id(d: dict[str, Any]) -> None:
    del next(x for x in d["developers"] if x["name"] == "sam")["ci"]["gitlab_ci"]


def _second_project_with_the_same_id(d: dict[str, Any]) -> None:
    twin = {**shop(d), "name": "shop-twin"}
    d["repositories"].append(twin)


def _second_project_with_the_same_path(d: dict[str, Any]) -> None:
    twin = {**shop(d), "name": "shop-twin", "ci": {"gitlab_ci": {**shop(d)["ci"]["gitlab_ci"], "project_id": 61000002}}}
    d["repositories"].append(twin)


def _github_id_on_gitlab(d: dict[str, Any]) -> None:
    shop(d)["github_id"] = 700000009


def _no_gitlab_section(d: dict[str, Any]) -> None:
    del d["ci"]["gitlab_ci"]


def _unapproved_images(d: dict[str, Any]) -> None:
    d["pipeline_policy"]["approved_registries"] = ["cimg/", "ghcr.io/acme/"]


CASES = [
    Case("instance URL as audience", _set_org("audience", "https://gitlab.com"), "ci.gitlab_ci.audience",
         "is the GitLab instance itself"),
    Case("audience with a comma", _set_org("audience", "vault,other"), "ci.gitlab_ci.audience", "not an audience"),
    Case("instance URL over http", _set_org("url", "http://gitlab.example.com"), "ci.gitlab_ci.url", "https"),
    Case("instance URL with a path", _set_org("url", "https://example.com/gitlab"), "ci.gitlab_ci.url",
         "no port, path"),
    Case("unknown GitLab plan", _set_org("plan", "gold"), "ci.gitlab_ci.plan", "'free', 'premium' or 'ultimate'"),
    Case("no GitLab plan", lambda d: d["ci"]["gitlab_ci"].pop("plan"), "ci.gitlab_ci.plan",
         "protected environments need premium"),
    Case("no GitLab section", _no_gitlab_section, "ci.gitlab_ci", "shop build(s) on GitLab CI"),
    Case("project without namespace id", lambda d: shop(d)["ci"]["gitlab_ci"].pop("namespace_id"),
         "repositories[shop].ci.gitlab_ci.namespace_id", "is required"),
    Case("project path without namespace", _set_project("project_path", "shop"),
         "repositories[shop].ci.gitlab_ci.project_path", "not a GitLab project path"),
    Case("project path with a glob", _set_project("project_path", "acme/*"),
         "repositories[shop].ci.gitlab_ci.project_path", "not a GitLab project path"),
    Case("config in another project", _set_project("ci_config_path", ".gitlab-ci.yml@acme/ci-templates"),
         "repositories[shop].ci.gitlab_ci.ci_config_path", "another project"),
    Case("config path leaving the repository", _set_project("ci_config_path", "../x.yml"),
         "repositories[shop].ci.gitlab_ci.ci_config_path", "not a CI config file"),
    Case("project id zero", _set_project("project_id", 0), "repositories[shop].ci.gitlab_ci.project_id",
         "greater than 0"),
    Case("two repositories, one project", _second_project_with_the_same_id, "repositories.ci.gitlab_ci.project_id",
         "two repositories share this project id"),
    Case("two repositories, one project path", _second_project_with_the_same_path,
         "repositories.ci.gitlab_ci.project_path", "two repositories share this project path"),
    Case("merge-request pipelines deploy", _set_env("production", "deploy_sources", ["push", "merge_request_event"]),
         "environments[production].ci.gitlab_ci.deploy_sources[1]", "before review"),
    Case("trigger tokens deploy", _set_env("staging", "deploy_sources", ["trigger"]),
         "environments[staging].ci.gitlab_ci.deploy_sources[0]", "trigger token"),
    Case("API pipelines deploy", _set_env("staging", "deploy_sources", ["api"]),
         "environments[staging].ci.gitlab_ci.deploy_sources[0]", "API access"),
    Case("downstream pipelines deploy", _set_env("staging", "deploy_sources", ["pipeline"]),
         "environments[staging].ci.gitlab_ci.deploy_sources[0]", "another project's pipeline"),
    Case("child pipelines deploy", _set_env("staging", "deploy_sources", ["parent_pipeline"]),
         "environments[staging].ci.gitlab_ci.deploy_sources[0]", "child pipeline"),
    Case("chat deploys", _set_env("dev", "deploy_sources", ["chat"]),
         "environments[dev].ci.gitlab_ci.deploy_sources[0]", "ChatOps"),
    Case("Web IDE deploys", _set_env("dev", "deploy_sources", ["webide"]),
         "environments[dev].ci.gitlab_ci.deploy_sources[0]", "Web IDE"),
    Case("external pull requests deploy", _set_env("dev", "deploy_sources", ["external_pull_request_event"]),
         "environments[dev].ci.gitlab_ci.deploy_sources[0]", "external GitHub pull request"),
    Case("a GitLab-started source deploys", _set_env("dev", "deploy_sources", ["security_orchestration_policy"]),
         "environments[dev].ci.gitlab_ci.deploy_sources[0]", "GitLab itself starts"),
    Case("an unknown source", _set_env("dev", "deploy_sources", ["cron"]),
         "environments[dev].ci.gitlab_ci.deploy_sources[0]", "not a GitLab pipeline source"),
    Case("no deploy source", _set_env("dev", "deploy_sources", []),
         "environments[dev].ci.gitlab_ci.deploy_sources", "at least one of push, web, schedule"),
    Case("a per-developer environment deploys pipelines run by hand",
         _set_env("dev", "deploy_sources", ["push", "web"]),
         "environments[dev].ci.gitlab_ci.deploy_sources", "for a web pipeline is whoever presses Run pipeline"),
    Case("a per-developer environment deploys schedules",
         _set_env("dev", "deploy_sources", ["push", "schedule"]),
         "environments[dev].ci.gitlab_ci.deploy_sources", "for a schedule pipeline is the schedule's owner"),
    Case("production on Free without the override", _free_plan,
         "environments[production].ci.gitlab_ci.overrides.unprotected_environment", "cannot protect"),
    Case("the Free override on Premium", _override_on_premium,
         "environments[production].ci.gitlab_ci.overrides.unprotected_environment", "remove this override"),
    Case("closed allowlist without runner tags", _set_env("production", "runner_tags", []),
         "environments[production].ci.gitlab_ci.runner_tags", "self-hosted runners"),
    Case("a runner tag with a space", _set_env("production", "runner_tags", ["prod deployers"]),
         "environments[production].ci.gitlab_ci.runner_tags[0]", "not a runner tag"),
    Case("per-developer dev without the GitLab user id", _no_user_id,
         "developers[sam].ci.gitlab_ci.user_id", "GitLab user id"),
    Case("a GitHub id on a GitLab repository", _github_id_on_gitlab, "repositories[shop].github_id",
         "hosted on gitlab, not on GitHub"),
    Case("pipeline images the policy does not approve", _unapproved_images, "pipeline_policy.approved_registries",
         "docker:27-dind"),
    Case("an unknown key in the GitLab section", _set_org("instance", "https://gitlab.com"),
         "ci.gitlab_ci.instance", "known here: audience, plan, url"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_gitlab_declaration_is_refused_naming_field_and_fix(case: Case, example: dict[str, Any]) -> None:
    case.mutate(example)
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(example)
    shown = [str(p) for p in refused.value.problems]
    assert any(p.field == case.field and case.message in str(p) for p in refused.value.problems), shown
