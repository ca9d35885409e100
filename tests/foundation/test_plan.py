"""The plan as a specification: what each role binds, what each path admits, and stable names."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from secure_pipelines import build_plan, naming, parse_declaration
from secure_pipelines.ci.circleci.claims import CONTEXT_IDS, PROJECT_ID, SSH_RERUN, VCS_ORIGIN, VCS_REF
from secure_pipelines.ci.circleci.plan import circleci_plan
from secure_pipelines.declaration.model import Tier
from secure_pipelines.plan.model import CIRole, Plan
from secure_pipelines.plan.vault_policies import REVOKE_SELF


@pytest.fixture
def plan(example: dict[str, Any]) -> Plan:
    return build_plan(parse_declaration(example))


def environment(declaration: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in declaration["environments"] if e["name"] == name)


def role(plan: Plan, ci: str, repository: str, environment: str, developer: str | None = None) -> CIRole:
    return next(
        r for r in plan.roles
        if r.ci == ci and r.repository == repository and r.environment == environment and r.developer == developer
    )


def test_production_circleci_role_binds_project_ref_context_origin_and_no_ssh_rerun(
    plan: Plan, example: dict[str, Any]
) -> None:
    webapp = next(r for r in example["repositories"] if r["name"] == "webapp")
    production = role(plan, "circleci", "webapp", "production")
    assert production.claims[PROJECT_ID] == (webapp["ci"]["circleci"]["project_id"],)
    assert production.claims[VCS_REF] == ("refs/heads/main",)
    assert production.claims[CONTEXT_IDS] == (environment(example, "production")["ci"]["circleci"]["context"]["id"],)
    assert production.claims[VCS_ORIGIN] == ("github.com/acme/webapp",)
    assert production.claims[SSH_RERUN] == (False,)
    assert production.claims_match == "string"
    assert production.has_typed_claims


def test_production_role_is_bound_to_the_allowlist_with_short_ttls(plan: Plan, example: dict[str, Any]) -> None:
    declared = next(e for e in example["environments"] if e["name"] == "production")
    for ci in ("circleci", "github-actions"):
        repository = "webapp" if ci == "circleci" else "api"
        production = role(plan, ci, repository, "production")
        assert production.token_bound_cidrs == tuple(declared["ip_allowlist"])
        assert production.token_max_ttl == declared["token_max_ttl"] <= 900
        assert production.role_type == "jwt"


def test_production_github_role_binds_immutable_ids_environment_and_ref(plan: Plan, example: dict[str, Any]) -> None:
    api = next(r for r in example["repositories"] if r["name"] == "api")
    production = role(plan, "github-actions", "api", "production")
    assert production.claims["repository_id"] == (str(api["github_id"]),)
    assert production.claims["repository_owner_id"] == (str(example["organization"]["github"]["owner_id"]),)
    assert production.claims["environment"] == ("production",)
    assert production.claims["ref"] == ("refs/heads/main",)


def test_github_roles_bind_an_audience_only_vault_uses_not_githubs_default(plan: Plan) -> None:
    github_roles = [r for r in plan.roles if r.ci == "github-actions"]
    assert github_roles and all(r.bound_audiences == ("vault.acme",) for r in github_roles)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_protected_github_roles_pin_the_deploy_workflow_its_events_and_self_hosted_runners(
    plan: Plan, environment: str
) -> None:
    claims = role(plan, "github-actions", "api", environment).claims
    assert claims["event_name"] == ("push",)
    assert claims["workflow_ref"] == ("acme/api/.github/workflows/deploy.yml@refs/heads/main",)
    assert claims["job_workflow_ref"] == claims["workflow_ref"]
    assert claims["runner_environment"] == ("self-hosted",)


def test_dev_github_roles_on_an_open_allowlist_leave_runner_and_workflow_unbound(plan: Plan) -> None:
    claims = role(plan, "github-actions", "api", "dev", "lin").claims
    assert not {"workflow_ref", "job_workflow_ref", "runner_environment"} & set(claims)


def test_a_per_developer_github_role_admits_its_developers_pushes_only(plan: Plan) -> None:
    """actor_id is whoever started the run: on any other event (a review, a dispatch...) that is not who wrote
    the code that runs."""
    claims = role(plan, "github-actions", "api", "dev", "lin").claims
    assert claims["actor_id"] == ("5550001",) and claims["event_name"] == ("push",)


def test_no_role_binds_a_name_without_an_immutable_id(plan: Plan) -> None:
    for ci_role in plan.roles:
        claims = ci_role.claims
        if ci_role.ci == "circleci":
            assert PROJECT_ID in claims and CONTEXT_IDS in claims
        elif ci_role.ci == "gitlab-ci":
            assert "project_id" in claims and "namespace_id" in claims
        else:
            assert "repository_id" in claims and "repository_owner_id" in claims


def test_only_the_per_developer_subject_uses_a_glob_and_it_ends_after_the_user_id(plan: Plan) -> None:
    for ci_role in plan.roles:
        for claim in ci_role.bound_claims:
            for value in claim.values:
                if isinstance(value, str) and "*" in value:
                    assert ci_role.claims_match == "glob"
                    assert claim.claim == "sub" and ci_role.developer is not None
                    prefix = value.removesuffix("*")
                    assert "*" not in prefix and prefix.endswith("/")
                    assert prefix.split("/")[-3] == "user"


def test_dev_roles_accept_any_branch_but_reach_only_dev_paths(plan: Plan) -> None:
    dev_roles = [r for r in plan.roles if r.environment == "dev"]
    assert dev_roles
    for dev_role in dev_roles:
        assert VCS_REF not in dev_role.claims and "ref" not in dev_role.claims
        assert dev_role.ref_binding == "any branch"
        for path in dev_role.secret_paths:
            assert path.mount == "kv-dev"
        policies = {p.name: p for p in plan.environment("dev").policies}
        for name in dev_role.token_policies:
            assert "kv-dev/" in policies[name].hcl
            assert "kv-production" not in policies[name].hcl and "kv-staging" not in policies[name].hcl


def test_a_per_developer_role_is_bound_to_that_developer_only(plan: Plan, example: dict[str, Any]) -> None:
    developers = {d["name"]: d for d in example["developers"]}
    for name, developer in developers.items():
        circleci = role(plan, "circleci", "webapp", "dev", name)
        (subject,) = circleci.claims["sub"]
        assert isinstance(subject, str) and f"/user/{developer['ci']['circleci']['user_id']}/" in subject
        for other in developers.values():
            if other is not developer:
                assert str(other["ci"]["circleci"]["user_id"]) not in subject
        github = role(plan, "github-actions", "api", "dev", name)
        assert github.claims["actor_id"] == (str(developer["ci"]["github_actions"]["user_id"]),)
        assert github.secret_paths[0].path == f"apps/{name}/api"


def test_staging_and_production_roles_pin_the_default_branch(plan: Plan) -> None:
    for ci_role in plan.roles:
        if ci_role.tier in (Tier.STAGING, Tier.PRODUCTION):
            ref_claim = VCS_REF if ci_role.ci == "circleci" else "ref"
            # GitLab's ref claim is the branch's name (its ref_type claim says it is a branch).
            assert ci_role.claims[ref_claim] == (("main",) if ci_role.ci == "gitlab-ci" else ("refs/heads/main",))


def test_each_ci_policy_reads_only_its_own_repository_and_its_shared_secrets_in_its_own_environment(
    plan: Plan, example: dict[str, Any],
) -> None:
    for env in plan.environments:
        declared = next(e for e in example["environments"] if e["name"] == env.name)
        for policy in env.policies:
            stanzas = [line.split('"')[1] for line in policy.hcl.splitlines() if line.startswith("path ")]
            assert stanzas.count(REVOKE_SELF) == 1, "every token may end itself, and nothing more under auth/"
            # promotion records: its own (create) or those of the environment it promotes from (read)
            paths = [p for p in stanzas if p != REVOKE_SELF and "/data/promotions/" not in p]
            assert paths and all(p.startswith(f"{env.secret_store.mount}/") for p in paths)
            if policy.purpose == "ci-read":
                assert 'capabilities = ["read"]' in policy.hcl
                (own,) = [path for path in env.secret_store.paths if path.repository is not None
                          and naming.ci_policy(env.name, path.repository, path.developer) == policy.name]
                repository = own.repository
                shared = {f"{env.secret_store.mount}/data/shared/{s['name']}"
                          for s in declared.get("shared_secrets", []) if repository in s["repositories"]}
                own_paths = [p for p in paths if p.removesuffix("/*") not in shared]
                assert own_paths and all(p.removesuffix("/*").endswith(f"/{own.path}") for p in own_paths)
                assert {p.removesuffix("/*") for p in paths} - {p.removesuffix("/*") for p in own_paths} == shared


def test_a_shared_secret_is_in_the_read_policies_of_its_listed_repositories_only(plan: Plan) -> None:
    production = plan.environment("production")
    readers = {p.name for p in production.policies if "kv-production/data/shared/payments" in p.hcl}
    assert readers == {naming.ci_policy("production", "webapp", None), naming.ci_policy("production", "shop", None)}
    admin = next(p for p in production.policies if p.purpose == "admin-write")
    assert 'path "kv-production/data/*"' in admin.hcl and '"read"' not in admin.hcl  # writes it, as every secret
    (shared,) = [p for p in production.secret_store.paths if p.shared]
    assert (shared.data_path, shared.readers) == ("kv-production/data/shared/payments", ("webapp", "shop"))
    for role in production.roles:
        reads = {p.data_path for p in role.secret_paths}
        assert ("kv-production/data/shared/payments" in reads) == (role.repository in ("webapp", "shop"))


def test_each_environment_has_its_own_admin_group_and_admins_log_in_from_their_networks(plan: Plan) -> None:
    groups = {env.name: env.admin_role.admin_group for env in plan.environments}
    assert groups == {"dev": "vault-dev-admins", "qa": "vault-qa-admins", "staging": "vault-staging-admins",
                      "production": "vault-production-admins"}
    assert {env.admin_role.token_bound_cidrs for env in plan.environments} == {
        ("203.0.113.64/28", "2001:db8:300::/48")}


def test_the_admin_policy_writes_and_rotates_but_never_reads(plan: Plan) -> None:
    for env in plan.environments:
        admin = next(p for p in env.policies if p.purpose == "admin-write")
        assert '"read"' not in admin.hcl
        assert '"create", "update", "delete"' in admin.hcl
        assert env.admin_role.token_policies == (admin.name,)


def test_the_plan_is_deterministic(example: dict[str, Any]) -> None:
    first = build_plan(parse_declaration(copy.deepcopy(example)))
    second = build_plan(parse_declaration(copy.deepcopy(example)))
    assert first == second
    assert repr(first) == repr(second)


def _names(plan: Plan) -> dict[str, set[str]]:
    return {
        "roles": {f"{r.mount_path}/{r.role_name}" for r in plan.roles},
        "role resources": {r.resource_name for r in plan.roles},
        "policies": {p.name for e in plan.environments for p in e.policies},
        "paths": {p.data_path for e in plan.environments for p in e.secret_store.paths},
        "mounts": {m.path for m in plan.jwt_mounts} | {e.secret_store.mount for e in plan.environments},
    }


def test_adding_a_repository_renames_nothing(example: dict[str, Any], plan: Plan) -> None:
    example["repositories"].insert(0, {
        "name": "billing", "github_id": 700000003, "ci": {"github_actions": {}}, "visibility": "public",
        "required_status_checks": ["test"],
        "overrides": {"self_hosted_runners_on_public_repository": "just-in-time runners, one job each"},
    })
    for env in example["environments"]:
        env["repositories"].insert(0, "billing")
    bigger = build_plan(parse_declaration(example))
    for kind, names in _names(plan).items():
        assert names <= _names(bigger)[kind], kind


def test_adding_an_environment_renames_nothing(example: dict[str, Any], plan: Plan) -> None:
    example["environments"].insert(0, {
        "name": "perf", "tier": "staging", "repositories": ["api"], "ip_allowlist": ["192.0.2.128/25"],
    })
    example["admins"]["groups"]["perf"] = "vault-perf-admins"
    bigger = build_plan(parse_declaration(example))
    for kind, names in _names(plan).items():
        assert names <= _names(bigger)[kind], kind


def test_one_jwt_mount_per_issuer(plan: Plan, example: dict[str, Any]) -> None:
    issuers = {m.ci: m.issuer for m in plan.jwt_mounts}
    assert issuers == {
        "circleci": f"https://oidc.circleci.com/org/{example['ci']['circleci']['org_id']}",
        "github-actions": "https://token.actions.githubusercontent.com",
        "gitlab-ci": "https://gitlab.com",
    }


def test_branch_protection_applies_to_admins_and_forbids_force_push(plan: Plan) -> None:
    assert {p.repository for p in plan.branch_protections} == {"webapp", "api", "infrastructure"}
    for protection in plan.branch_protections:
        assert protection.enforce_admins and protection.dismiss_stale_reviews and protection.require_last_push_approval
        assert not protection.allows_force_pushes and not protection.allows_deletions
        assert protection.required_approvals == 2 and protection.enforceable


def test_an_organization_ruleset_replaces_per_repository_protection(example: dict[str, Any]) -> None:
    example["organization"]["github"]["protection"] = "organization-ruleset"
    plan = build_plan(parse_declaration(example))
    assert plan.branch_protections == ()
    assert plan.organization_ruleset is not None
    assert set(plan.organization_ruleset.repository_ids) == {700000001, 700000002, 700000009}
    assert plan.organization_ruleset.bypass_team_ids == ()


def test_production_github_environment_cannot_be_bypassed_by_admins(plan: Plan) -> None:
    production = plan.environment("production").github_environments
    assert [(g.repository, g.can_admins_bypass, g.prevent_self_review) for g in production] == [
        ("api", False, True), ("infrastructure", False, True)]
    assert production[0].deployment_branches == ("main",)
    assert plan.environment("dev").github_environments[0].deployment_branches is None


def test_contexts_refuse_ssh_reruns_and_unversioned_configs_and_protected_ones_pin_the_default_branch(
    plan: Plan,
) -> None:
    unversioned = 'not (pipeline.config_source starts-with "api")'
    context = circleci_plan(plan).context("production")
    assert context is not None
    assert context.restriction_expression == f'pipeline.git.branch == "main" and not job.ssh.enabled and {unversioned}'
    dev = circleci_plan(plan).context("dev")
    assert dev is not None
    assert dev.restriction_expression == f"not job.ssh.enabled and {unversioned}", \
        "no context is available to an SSH rerun or an unversioned config"


def test_staging_and_production_contexts_name_their_security_group(plan: Plan) -> None:
    groups = {env: context.security_group for env in ("dev", "staging", "production")
              if (context := circleci_plan(plan).context(env)) is not None}
    assert groups == {"dev": None, "staging": "staging-deployers", "production": "production-approvers"}


def test_pipeline_policy_data_names_contexts_by_tier(plan: Plan) -> None:
    policy = circleci_plan(plan).config_policy
    assert policy.production_contexts == ("acme-production",)
    assert policy.staging_contexts == ("acme-staging",)
    assert policy.test_contexts == ("acme-qa",)
    assert [p.repository for p in policy.projects] == ["webapp"]
    assert set(policy.hard_fail_rules) == set(policy.enabled_rules)


def test_unknown_environment_lookup_names_the_known_ones(plan: Plan) -> None:
    with pytest.raises(KeyError, match="known: dev, qa, staging, production"):
        plan.environment("prod")


def test_test_staging_and_production_circleci_roles_pin_the_pipeline_definition(
    plan: Plan, example: dict[str, Any]
) -> None:
    webapp = next(r for r in example["repositories"] if r["name"] == "webapp")
    for environment in ("qa", "staging", "production"):
        pinned = role(plan, "circleci", "webapp", environment)
        assert pinned.claims["oidc.circleci.com/pipeline-definition-id"] == (
            webapp["ci"]["circleci"]["pipeline_definition_id"],)
    for developer in ("lin", "sam"):
        dev_role = role(plan, "circleci", "webapp", "dev", developer)
        assert "oidc.circleci.com/pipeline-definition-id" not in dev_role.claims


def test_circleci_deploys_run_on_the_declared_runner_classes(plan: Plan) -> None:
    classes = {d.environment: d.runner for e in plan.environments for d in e.deployments if d.ci == "circleci"}
    assert classes == {"dev": None, "qa": "acme/qa-deployers", "staging": "acme/staging-deployers",
                       "production": "acme/prod-deployers"}
    github = [d.runner for e in plan.environments for d in e.deployments if d.ci == "github-actions"]
    assert github == [None, None, None, None]


def test_organisation_warnings_belong_to_the_resources_stack(example: dict[str, Any]) -> None:
    next(r for r in example["repositories"] if r["name"] == "api")["required_approvals"] = 1
    plan = build_plan(parse_declaration(example))
    approvals = "repositories[api].required_approvals"
    assert [w.field for w in plan.warnings_for("production") if w.field == approvals] == [approvals]
    assert not [w for w in plan.warnings_for("staging") if w.field == approvals]
    assert [w.field for w in plan.warnings_for("dev")] == ["environments[dev].ip_allowlist",
                                                           "environments[dev].per_developer",  # CircleCI's
                                                           "environments[dev].per_developer"]  # GitLab's


def test_test_qa_and_demo_are_three_environments_of_one_tier_each_with_its_own_vault_objects(
    example: dict[str, Any],
) -> None:
    qa = next(e for e in example["environments"] if e["name"] == "qa")
    for index, name in enumerate(("test", "demo"), start=1):
        twin = copy.deepcopy(qa)
        twin["name"] = name
        twin["branches"] = ["main"]
        twin["ip_allowlist"] = [f"192.0.2.{128 + 64 * (index - 1)}/26"]
        context_id = f"3b1e7c4d-2a5f-4e6b-9c8d-7e6f5a4b3c2{index}"
        twin["ci"]["circleci"]["context"] = {"name": f"acme-{name}", "id": context_id}
        twin["ci"]["circleci"]["runner_resource_class"] = f"acme/{name}-deployers"
        twin["ci"]["gitlab_ci"]["runner_tags"] = [f"acme-{name}-deployers"]
        example["environments"].insert(1 + index, twin)
        example["admins"]["groups"][name] = f"vault-{name}-admins"
    plan = build_plan(parse_declaration(example))  # validated, and every rendered file checked against its policy
    assert [(e.name, e.tier) for e in plan.environments] == [
        ("dev", Tier.DEVELOPMENT), ("qa", Tier.TEST), ("test", Tier.TEST), ("demo", Tier.TEST),
        ("staging", Tier.STAGING), ("production", Tier.PRODUCTION)]
    tested = [plan.environment(name) for name in ("qa", "test", "demo")]
    assert len({e.secret_store.mount for e in tested}) == 3
    assert len({e.admin_role.admin_group for e in tested}) == 3
    assert len({r.role_name for e in tested for r in e.roles}) == sum(len(e.roles) for e in tested) == 9


def test_staging_records_digests_production_reads_them_and_no_admin_may_write_them(plan: Plan) -> None:
    staging, production = plan.environment("staging"), plan.environment("production")
    for role in staging.roles:
        assert role.records is not None and role.promoted_from is None
        assert role.records.data_glob == f"kv-staging/data/promotions/{role.repository}/*"
        (policy,) = [p for p in staging.policies if p.name in role.token_policies]
        assert f'path "{role.records.data_glob}" {{\n  capabilities = ["create", "read"]\n}}' in policy.hcl
    for role in production.roles:
        assert role.records is None and role.promoted_from is not None
        (policy,) = [p for p in production.policies if p.name in role.token_policies]
        assert f'path "kv-staging/data/promotions/{role.repository}/*" {{\n  capabilities = ["read"]\n}}' in policy.hcl
    admin = next(p for p in staging.policies if p.purpose == "admin-write")
    for api in ("data", "metadata", "delete", "undelete", "destroy"):
        assert f'path "kv-staging/{api}/promotions/*" {{\n  capabilities = ["deny"]\n}}' in admin.hcl
    assert all("promotions" not in p.hcl for e in plan.environments if e.name in ("dev", "qa") for p in e.policies)
