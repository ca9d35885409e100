"""GitHub protection as the declaration's plan and visibility allow: ruleset, skips with warnings."""

from __future__ import annotations

import copy
from collections import Counter
from functools import partial

from secure_pipelines import stack as stack_program

from .conftest import EXAMPLE_PROJECT
from .test_stacks import BRANCH_PROTECTION, GITHUB_ENVIRONMENT, RULESET, by_name

capture_stack = partial(stack_program.capture_stack, project_dir=EXAMPLE_PROJECT)
capture_stack_run = partial(stack_program.capture_stack_run, project_dir=EXAMPLE_PROJECT)

REASON = "accepted until the repository moves to the paid organisation"


def _ruleset_declaration(example, bypass=()):
    example["organization"]["github"]["protection"] = "organization-ruleset"
    example["organization"]["github"]["ruleset_bypass_team_ids"] = list(bypass)
    return example


def test_the_ruleset_also_protects_each_declared_default_branch_by_name(example, declaration_file):
    """The roles bind the declared default branch: were it not GitHub's default, ~DEFAULT_BRANCH alone would
    leave the branch they trust open to unreviewed pushes."""
    values = _ruleset_declaration(example)
    next(r for r in values["repositories"] if r["name"] == "api")["default_branch"] = "deploy"
    resources = capture_stack("production", declaration_file(values))
    (ruleset,) = by_name(resources, RULESET).values()
    assert ruleset.inputs["conditions"]["refName"]["includes"] == [
        "~DEFAULT_BRANCH", "refs/heads/deploy", "refs/heads/main"]


def test_an_organisation_ruleset_replaces_every_per_repository_protection(example, declaration_file):
    resources = capture_stack("production", declaration_file(_ruleset_declaration(example)))
    counts = Counter(r.type_token for r in resources)
    assert (counts[RULESET], counts[BRANCH_PROTECTION]) == (1, 0)


def test_the_ruleset_protects_every_repositorys_default_branch_with_the_strictest_settings(
    example, declaration_file
):
    resources = capture_stack("production", declaration_file(_ruleset_declaration(example)))
    (ruleset,) = by_name(resources, RULESET).values()
    inputs = ruleset.inputs
    assert (inputs["name"], inputs["target"], inputs["enforcement"]) == ("acme-default-branch", "branch", "active")
    assert inputs["conditions"] == {
        "refName": {"includes": ["~DEFAULT_BRANCH", "refs/heads/main"], "excludes": []},
        "repositoryIds": [700000001, 700000002, 700000009],
    }
    rules = inputs["rules"]
    assert rules["deletion"] is True and rules["nonFastForward"] is True
    assert rules["pullRequest"] == {
        "requiredApprovingReviewCount": 2,
        "requireCodeOwnerReview": True,
        "dismissStaleReviewsOnPush": True,
        "requireLastPushApproval": True,
        "requiredReviewThreadResolution": True,
    }
    assert rules["requiredStatusChecks"] == {
        "requiredChecks": [{"context": "security-scan"}, {"context": "test"}],
        "strictRequiredStatusChecksPolicy": True,
    }


def test_the_ruleset_has_no_bypass_actor_unless_declared(example, declaration_file):
    resources = capture_stack("production", declaration_file(_ruleset_declaration(example)))
    (ruleset,) = by_name(resources, RULESET).values()
    assert "bypassActors" not in ruleset.inputs


def test_a_declared_bypass_team_is_the_only_bypass_actor(example, declaration_file):
    resources = capture_stack("production", declaration_file(_ruleset_declaration(example, bypass=[4200009])))
    (ruleset,) = by_name(resources, RULESET).values()
    assert ruleset.inputs["bypassActors"] == [{"actorId": 4200009, "actorType": "Team", "bypassMode": "always"}]


def test_the_ruleset_is_owned_by_the_resources_stack_only(example, declaration_file):
    path = declaration_file(_ruleset_declaration(example))
    assert not any(r.type_token == RULESET for r in capture_stack("staging", path))


def _free_plan(example):
    example["organization"]["github"]["plan"] = "free"
    for repo in example["repositories"]:
        if repo["name"] in ("webapp", "infrastructure"):
            repo["overrides"] = {"unenforced_github_protection": REASON}
    return example


def test_protection_github_cannot_enforce_is_skipped_with_a_warning(example, declaration_file):
    capture = capture_stack_run("production", declaration_file(_free_plan(example)))
    protections = by_name(capture.resources, BRANCH_PROTECTION)
    assert set(protections) == {"protect-api"}  # public: enforceable on any plan
    assert any("branch protection for webapp@main skipped" in w for w in capture.warnings)


def test_environment_reviewers_github_cannot_enforce_are_skipped_with_a_warning(example, declaration_file):
    example["organization"]["github"]["plan"] = "team"
    for repo in example["repositories"]:
        if repo["name"] == "api":
            repo["visibility"] = "private"
            repo["overrides"] = {"unenforced_github_protection": REASON}
    capture = capture_stack_run("production", declaration_file(example))
    environment = by_name(capture.resources, GITHUB_ENVIRONMENT)["api-production"]
    assert "reviewers" not in environment.inputs
    assert "preventSelfReview" not in environment.inputs
    assert environment.inputs["canAdminsBypass"] is False
    assert any("required reviewers for api environment production skipped" in w for w in capture.warnings)


def test_environments_github_does_not_offer_are_skipped_with_a_warning(example, declaration_file):
    example["organization"]["github"]["plan"] = "free"
    for repo in example["repositories"]:
        if "github_id" not in repo:
            continue  # hosted elsewhere: GitHub's protection does not apply
        repo["overrides"] = {"unenforced_github_protection": REASON}
        if repo["name"] == "api":
            repo["visibility"] = "private"
    capture = capture_stack_run("production", declaration_file(example))
    assert by_name(capture.resources, GITHUB_ENVIRONMENT) == {}
    assert any("GitHub environment production of api skipped" in w for w in capture.warnings)


def test_a_different_resources_stack_moves_every_organisation_resource_there(example, declaration_file):
    """Another production environment may own them (a lower tier may not: the declaration refuses it)."""
    production = next(e for e in example["environments"] if e["name"] == "production")
    eu = copy.deepcopy(production) | {"name": "production-eu"}
    eu["ci"]["circleci"]["runner_resource_class"] = "acme/prod-eu-deployers"
    eu["ci"]["gitlab_ci"]["runner_tags"] = ["acme-production-eu-deployers"]
    eu["ci"]["circleci"]["context"].update(name="acme-production-eu", id="2e5ebd90-7b3c-4a4d-8f8e-9c0d1e2f3099")
    example["environments"].append(eu)
    example["admins"]["groups"]["production-eu"] = example["admins"]["groups"]["production"]
    example["organization"]["resources_stack"] = "production-eu"
    path = declaration_file(example)
    owner = {r.type_token for r in capture_stack("production-eu", path)}
    original = {r.type_token for r in capture_stack("production", path)}
    assert BRANCH_PROTECTION in owner and BRANCH_PROTECTION not in original
    assert "secure-pipelines:index:Organization" in owner
    assert "secure-pipelines:index:Organization" not in original
