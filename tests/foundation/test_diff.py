"""``securepipe diff``: what a change to the declaration does to access. Each pair is the example and
a small mutation of it; every widening read backwards is a narrowing; neutral changes change no access."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines import build_plan, parse_declaration
from secure_pipelines.changes import NARROWING, NEUTRAL, WIDENING, compare_networks
from secure_pipelines.diff import NO_ACCESS, access_changes, access_of

Mutation = Callable[[dict[str, Any]], None]


def _env(values: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in values["environments"] if e["name"] == name)


def _repo(values: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in values["repositories"] if r["name"] == name)


def _unpin(values: dict[str, Any]) -> None:
    circleci = _repo(values, "webapp")["ci"]["circleci"]
    del circleci["pipeline_definition_id"]
    circleci["overrides"] = {"unpinned_pipeline_definition": "one pipeline definition, created by admins only"}


def _new_repository(values: dict[str, Any]) -> None:
    values["repositories"].append({"name": "billing", "github_id": 700000003, "ci": {"github_actions": {}},
                                   "required_status_checks": ["test"], "visibility": "public",
                                   "overrides": {"self_hosted_runners_on_public_repository": "ephemeral runners"}})
    _env(values, "staging")["repositories"].append("billing")  # production promotes from staging
    _env(values, "production")["repositories"].append("billing")


def _add_redirect(values: dict[str, Any]) -> None:
    """Where admin logins may be sent back to: the ones the toolkit sets, and one more."""
    admin = build_plan(parse_declaration(values)).environment("production").admin_role
    values["admins"]["auth"]["allowed_redirect_uris"] = [*admin.allowed_redirect_uris,
                                                         "https://evil.example/oidc/callback"]


def _made_public(values: dict[str, Any]) -> None:
    _repo(values, "webapp").update(visibility="public")


def _ruleset_bypass(values: dict[str, Any]) -> None:
    values["organization"]["github"]["protection"] = "organization-ruleset"
    values["organization"]["github"]["ruleset_bypass_team_ids"] = [4200009]


WIDENINGS: dict[str, tuple[Mutation, str]] = {
    "a claim no longer bound": (_unpin, "role.claim.removed"),
    "a network widened": (lambda v: _env(v, "staging").update(ip_allowlist=["198.51.100.0/23", "2001:db8:100::/48"]),
                          "role.cidrs.widened"),
    "a TTL raised": (lambda v: _env(v, "production").update(token_ttl=600, token_max_ttl=900), "role.ttl.raised"),
    "a new repository deploying to production": (_new_repository, "role.added"),
    "fewer approvals": (lambda v: _repo(v, "webapp").update(required_approvals=1), "protection.approvals.lowered"),
    "no code-owner review": (lambda v: _repo(v, "api").update(code_owner_review=False),
                             "protection.code-owner-reviews.off"),
    "a status check dropped": (lambda v: _repo(v, "webapp").update(required_status_checks=["test"]),
                               "protection.status-checks.removed"),
    "another admin group": (lambda v: v["admins"]["groups"].update(production="engineering"), "admin.group-changed"),
    "the admins' networks widened": (lambda v: v["admins"].update(ip_allowlist=["203.0.113.0/24", "2001:db8:300::/48"]),
                                     "admin.cidrs.widened"),
    "a rule switched to soft": (lambda v: v["ci"]["circleci"]["config_policy"]["rules"].update(
        images_from_approved_registries="soft"), "config-policy.rule-weakened"),
    "an orb approved": (lambda v: v["ci"]["circleci"]["config_policy"]["approved_orbs"].append("circleci/aws-cli"),
                        "config-policy.orbs.added"),
    "a registry approved": (lambda v: v["pipeline_policy"]["approved_registries"].append("docker.io/"),
                            "pipeline-policy.registries.added"),
    "production reviewers removed": (lambda v: _env(v, "production").update(reviewers={}),
                                     "environment.reviewer-teams.removed"),
    "a ruleset bypass team": (_ruleset_bypass, "protection.bypass-teams.added"),
    "production no longer held to what staging recorded": (
        lambda v: _env(v, "production").pop("promote_from"), "role.promotion.removed"),
    "a repository reads a shared secret": (
        lambda v: _env(v, "production")["shared_secrets"][0]["repositories"].append("api"), "grant.added"),
    "the infrastructure runners' networks widened": (
        lambda v: v["infrastructure"].update(ip_allowlist=["203.0.113.0/24"]), "role.cidrs.widened"),
    "production's approval hold dropped": (
        lambda v: _env(v, "production")["ci"]["circleci"].update(approval_hold=False),
        "circleci.approval-hold-removed"),
    "production's context released by another group": (
        lambda v: _env(v, "production")["ci"]["circleci"]["context"].update(security_group="all-members"),
        "circleci.security-group"),
    "production's GitLab deploys on other runners": (
        lambda v: _env(v, "production")["ci"]["gitlab_ci"].update(runner_tags=["docker"]), "deploy.runner"),
    "production's CircleCI deploys on another runner class": (
        lambda v: _env(v, "production")["ci"]["circleci"].update(runner_resource_class="acme/general"),
        "deploy.runner"),
    "admin membership read from another claim": (
        lambda v: v["admins"]["auth"].update(groups_claim="name"), "admin.groups-claim"),
    "an admin login redirect added": (_add_redirect, "admin.redirect-uris.added"),
    "a repository made public": (_made_public, "repository.visibility"),
}


def _access(values: dict[str, Any]):
    return access_of(build_plan(parse_declaration(values)))


@pytest.fixture(scope="module")
def example_access(example_values_module: dict[str, Any]):
    return _access(example_values_module)


@pytest.fixture(scope="module")
def example_values_module() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"
    return YAML(typ="safe", pure=True).load(path.read_text())


def _changed(values: dict[str, Any], mutate: Mutation) -> dict[str, Any]:
    changed = copy.deepcopy(values)
    mutate(changed)
    return changed


@pytest.mark.parametrize("name", sorted(WIDENINGS))
def test_a_change_that_widens_access_is_widening(name: str, example_values_module, example_access) -> None:
    mutate, expected = WIDENINGS[name]
    changes = access_changes(example_access, _access(_changed(example_values_module, mutate)))
    assert expected in {c.id for c in changes if c.kind == WIDENING}, [(c.id, c.kind) for c in changes]


SYMMETRIC = {"another admin group", "production no longer held to what staging recorded",
             "production's context released by another group", "admin membership read from another claim",
             "production's GitLab deploys on other runners", "production's CircleCI deploys on another runner class"}
"""Changes that widen both ways: other people get access whichever way the group (or claim) changes, and other
jobs share the machines whichever way a deploy moves; holding production to staging's records gives staging's
deploys a new write (the records) while it narrows what production ships."""


@pytest.mark.parametrize("name", sorted(set(WIDENINGS) - SYMMETRIC))
def test_the_same_change_backwards_narrows_access(name: str, example_values_module, example_access) -> None:
    mutate, _ = WIDENINGS[name]
    changes = access_changes(_access(_changed(example_values_module, mutate)), example_access)
    assert changes and not [c for c in changes if c.kind == WIDENING], [(c.id, c.kind) for c in changes]
    assert any(c.kind == NARROWING for c in changes)


def test_the_same_declaration_changes_nothing(example_access) -> None:
    assert access_changes(example_access, example_access) == []


def test_a_renamed_context_that_binds_the_same_id_is_neutral(example_values_module, example_access) -> None:
    renamed = _changed(example_values_module,
                       lambda v: _env(v, "production")["ci"]["circleci"]["context"].update(name="acme-prod"))
    changes = access_changes(example_access, _access(renamed))
    assert changes and {c.kind for c in changes} == {NEUTRAL}
    assert {c.id for c in changes} == {"role.described"}


def test_a_new_declaration_is_all_new_access(example_access) -> None:
    changes = access_changes(NO_ACCESS, example_access)
    assert {c.id for c in changes if c.kind == WIDENING} >= {"role.added", "admin.added", "auth-mount.added"}


def _write(path: Path, values: dict[str, Any]) -> Path:
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(values, handle)
    return path


def test_diff_exits_1_when_access_widens_and_0_when_it_narrows(example_values_module, securepipe,
                                                               tmp_path: Path) -> None:
    old = _write(tmp_path / "old.yaml", example_values_module)
    new = _write(tmp_path / "new.yaml", _changed(example_values_module, WIDENINGS["fewer approvals"][0]))
    widened = securepipe("diff", str(old), str(new), cwd=tmp_path)
    assert widened.exit_code == 1, widened.output
    assert "branch protection of webapp: required approvals lowered from 2 to 1" in widened.stdout
    assert securepipe("diff", str(new), str(old), cwd=tmp_path).exit_code == 0
    same = securepipe("diff", str(old), str(old), cwd=tmp_path)
    assert same.exit_code == 0 and "no change to access" in same.stdout


def test_diff_names_the_file_it_refuses(example_values_module, securepipe, tmp_path: Path) -> None:
    old = _write(tmp_path / "old.yaml", example_values_module)
    new = _write(tmp_path / "new.yaml", {"version": 2})
    refused = securepipe("diff", str(old), str(new), cwd=tmp_path)
    assert refused.exit_code != 0 and refused.exit_code != 1
    assert f"{new} is not a declaration the toolkit accepts" in refused.stderr
    assert f"{old} is not" not in refused.stderr


def test_diff_writes_a_pull_request_comment_and_json(example_values_module, securepipe, tmp_path: Path) -> None:
    old = _write(tmp_path / "old.yaml", example_values_module)
    new = _write(tmp_path / "new.yaml", _changed(example_values_module, WIDENINGS["another admin group"][0]))
    markdown = securepipe("diff", str(old), str(new), "-f", "md", cwd=tmp_path)
    assert markdown.stdout.startswith(f"### Access changes ({old} -> {new})\n\n**1 widening, 0 narrowing")
    assert ("| widening | admin role admin:production.admins: members of engineering now write these secrets"
            in markdown.stdout)
    document = json.loads(securepipe("diff", str(old), str(new), "-f", "json", cwd=tmp_path).stdout)
    assert document["widens"] and document["widening"] == 1
    assert {c["id"] for c in document["changes"]} == {"admin.group-changed"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_diff_base_compares_the_committed_project_with_the_working_tree(user_project, securepipe) -> None:
    _git(user_project.root, "init", "-q")
    _git(user_project.root, "add", "-A")
    _git(user_project.root, "commit", "-q", "-m", "the reviewed declaration")
    unchanged = securepipe("diff", "--base", "HEAD", cwd=user_project.root)
    assert unchanged.exit_code == 0 and "no change to access" in unchanged.stdout, unchanged.output
    user_project.write_stack("production", {"secure-pipelines:declaration": {
        "admins": {"groups": {"production": "everyone"}}}})
    widened = securepipe("diff", "--base", "HEAD", "-f", "json", cwd=user_project.root)
    assert widened.exit_code == 1, widened.output
    assert [c["id"] for c in json.loads(widened.stdout)["changes"]] == ["admin.group-changed"]
    assert "HEAD: read declaration stacks/declaration.yaml" in widened.stderr
    assert "working tree: read declaration stacks/declaration.yaml (the project's default); stack config " \
           "config/Pulumi.staging.yaml, config/Pulumi.production.yaml" in widened.stderr


@pytest.mark.parametrize("args, expected", [
    (("diff", "only-one.yaml"), "give two declaration files"),
    (("diff",), "compare either two files"),
    (("diff", "--base", "HEAD"), "is not in a git repository"),
])
def test_diff_usage_mistakes_exit_2(args: tuple[str, ...], expected: str, securepipe, tmp_path: Path) -> None:
    ran = securepipe(*args, cwd=tmp_path)
    assert ran.exit_code == 2 and expected in ran.stderr and "Traceback" not in ran.output


def test_diff_base_of_an_unknown_ref_exits_2(user_project, securepipe) -> None:
    _git(user_project.root, "init", "-q")
    ran = securepipe("diff", "--base", "no-such-branch", cwd=user_project.root)
    assert ran.exit_code == 2 and "--base no-such-branch: no such commit" in ran.stderr


@pytest.mark.parametrize("old, new, ids", [
    (["10.0.0.0/24"], ["10.0.0.0/23"], {"cidrs.widened"}),
    (["10.0.0.0/23"], ["10.0.0.0/24"], {"cidrs.narrowed"}),
    (["10.0.0.0/25", "10.0.0.128/25"], ["10.0.0.0/24"], {"cidrs.rewritten"}),
    (["10.0.0.0/24"], ["10.0.1.0/24"], {"cidrs.widened", "cidrs.narrowed"}),
    (["10.0.0.0/24"], ["10.0.0.0/24", "2001:db8::/32"], {"cidrs.widened"}),
    (["10.0.0.0/24"], ["10.0.0.0/24"], set()),
])
def test_networks_widen_when_an_address_is_admitted_that_was_not(old, new, ids) -> None:
    assert {c.id for c in compare_networks("role r", "token_bound_cidrs", old, new, what="cidrs")} == ids
