"""The example stacks under Pulumi's mocks: which resources each registers, with which settings."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import pytest

from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.stack import CapturedResource

from .conftest import EXAMPLE_STACKS

MOUNT = "vault:index/mount:Mount"
POLICY = "vault:index/policy:Policy"
AUTH_BACKEND = "vault:jwt/authBackend:AuthBackend"
ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
ENDPOINT = "vault:generic/endpoint:Endpoint"
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
RULESET = "github:index/organizationRuleset:OrganizationRuleset"
GITHUB_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
DEPLOYMENT_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
ORG_WIDE = {AUTH_BACKEND, BRANCH_PROTECTION, RULESET}


def c(name: str) -> str:
    return f"secure-pipelines:index:{name}"


GITHUB_APP = "pulumi:providers:github"
ENVIRONMENT_COMPONENTS = {
    GITHUB_APP: 1,  # every example stack writes on GitHub, through the App installation's provider
    c("Environment"): 1, c("SecretStore"): 1, c("AccessPolicies"): 1, c("CIRoles"): 1,
    c("AdminRole"): 1, c("GitHubEnvironments"): 1,
}
ORGANIZATION_COMPONENTS = {
    c("Organization"): 1, c("JwtAuthMounts"): 1, c("AdminAuth"): 1, c("DefaultBranchProtection"): 1,
    c("Deployers"): 1, c("DeployerRoles"): 1,
}

EXPECTED_TYPES = {
    # dev: per developer (lin, sam) x (webapp, api, shop): 6 CI policies + admin; 6 CI roles + the admin role,
    # all string-typed (per-developer CircleCI roles match by glob and bind no boolean); api's environment lets
    # any branch deploy.
    # Each stack also has the infrastructure repository's deployment environment (its default branch only).
    "dev": {**ENVIRONMENT_COMPONENTS, MOUNT: 1, POLICY: 7, ROLE: 7, GITHUB_ENVIRONMENT: 2, DEPLOYMENT_POLICY: 1},
    # staging: webapp's CircleCI role binds ssh-rerun == false (a generic endpoint); api's and shop's are plain.
    "staging": {**ENVIRONMENT_COMPONENTS, MOUNT: 1, POLICY: 4, ROLE: 3, ENDPOINT: 1,
                GITHUB_ENVIRONMENT: 2, DEPLOYMENT_POLICY: 2},
    # production also owns the organisation: 3 JWT mounts + the admins' OIDC mount, protection of the
    # 3 repositories GitHub hosts (shop lives on GitLab), the 4 stacks' deployer policies and the
    # infrastructure pipeline's 4 deployer roles.
    "production": {**ENVIRONMENT_COMPONENTS, **ORGANIZATION_COMPONENTS, MOUNT: 1, POLICY: 4 + 4, ROLE: 3 + 4,
                   ENDPOINT: 1, GITHUB_ENVIRONMENT: 2, DEPLOYMENT_POLICY: 2, AUTH_BACKEND: 4,
                   BRANCH_PROTECTION: 3},
}


def by_name(resources: Sequence[CapturedResource], type_token: str) -> dict[str, CapturedResource]:
    return {r.name: r for r in resources if r.type_token == type_token}


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_each_stack_registers_exactly_the_expected_resource_types_and_counts(captured, stack):
    assert Counter(r.type_token for r in captured[stack]) == EXPECTED_TYPES[stack]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_no_two_resources_of_a_stack_share_type_and_name(captured, stack):
    keys = [(r.type_token, r.name) for r in captured[stack]]
    assert len(keys) == len(set(keys))


def _role_settings(resource: CapturedResource) -> dict[str, object]:
    """A role's settings in Vault API terms, whichever resource wrote it."""
    if resource.type_token == ENDPOINT:
        body = json.loads(resource.inputs["dataJson"])
        assert (body.pop("token_period"), body.pop("groups_claim")) == (0, "")
        return {**body, "bound_claims": {k: list(v) for k, v in body["bound_claims"].items()}}
    i = resource.inputs
    return {
        "role_type": i["roleType"],
        "bound_audiences": i["boundAudiences"],
        "bound_claims": {k: v.split(",") for k, v in i["boundClaims"].items()},
        "bound_claims_type": i["boundClaimsType"],
        "user_claim": i["userClaim"],
        "token_policies": i["tokenPolicies"],
        "token_no_default_policy": i["tokenNoDefaultPolicy"],
        "token_bound_cidrs": i["tokenBoundCidrs"],
        "token_ttl": i["tokenTtl"],
        "token_max_ttl": i["tokenMaxTtl"],
        "token_type": i["tokenType"],
    }


def _expected_settings(role: CIRole) -> dict[str, object]:
    return {
        "role_type": "jwt",
        "bound_audiences": list(role.bound_audiences),
        "bound_claims": {claim.claim: list(claim.values) for claim in role.bound_claims},
        "bound_claims_type": role.claims_match,
        "user_claim": role.user_claim,
        "token_policies": list(role.token_policies),
        "token_no_default_policy": True,
        "token_bound_cidrs": list(role.token_bound_cidrs),
        "token_ttl": role.token_ttl,
        "token_max_ttl": role.token_max_ttl,
        "token_type": role.token_type,
    }


def _ci_role_resources(resources: Sequence[CapturedResource]) -> dict[str, CapturedResource]:
    roles = {r.name: r for r in resources if r.type_token in (ROLE, ENDPOINT) and r.parent and
             r.parent.endswith("-ci-roles")}
    return roles


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_ci_role_has_exactly_the_plans_audiences_claims_cidrs_ttls_and_policies(
    captured, example_plan: Plan, stack
):
    environment = example_plan.environment(stack)
    roles = _ci_role_resources(captured[stack])
    assert set(roles) == {role.resource_name for role in environment.roles}
    for role in environment.roles:
        assert _role_settings(roles[role.resource_name]) == _expected_settings(role), role.role_name


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_each_role_is_written_at_its_plans_mount_and_name(captured, example_plan: Plan, stack):
    roles = _ci_role_resources(captured[stack])
    for role in example_plan.environment(stack).roles:
        inputs = roles[role.resource_name].inputs
        if role.has_typed_claims:
            assert inputs["path"] == f"auth/{role.mount_path}/role/{role.role_name}"
        else:
            assert (inputs["backend"], inputs["roleName"]) == (role.mount_path, role.role_name)


def test_ssh_rerun_is_bound_to_the_json_boolean_false_for_circleci_staging_and_production(captured):
    for stack, name in (("staging", "circleci-staging.webapp"), ("production", "circleci-production.webapp")):
        endpoint = by_name(captured[stack], ENDPOINT)[name]
        body = json.loads(endpoint.inputs["dataJson"])
        assert body["bound_claims"]["oidc.circleci.com/ssh-rerun"] == [False]
        assert body["bound_claims_type"] == "string"
        assert endpoint.inputs["disableRead"] is False
        assert endpoint.inputs["ignoreAbsentFields"] is True


def test_no_string_typed_role_binds_a_value_the_provider_would_split(captured):
    for resources in captured.values():
        for role in by_name(resources, ROLE).values():
            for claim, value in role.inputs.get("boundClaims", {}).items():
                assert all(part for part in value.split(",")), (role.name, claim)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_policy_is_the_plans_hcl_verbatim(captured, example_plan: Plan, stack):
    policies = by_name(captured[stack], POLICY)
    expected = {p.name: p.hcl for p in example_plan.environment(stack).policies}
    if stack == example_plan.resources_stack:  # the organisation's key: it writes every stack's deployer policy
        expected |= {d.policy.name: d.policy.hcl for d in example_plan.deployers}
    assert {r.inputs["name"]: r.inputs["policy"] for r in policies.values()} == expected


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_secret_store_is_kv_v2_protected_and_retained(captured, example_plan: Plan, stack):
    (mount,) = by_name(captured[stack], MOUNT).values()
    assert mount.inputs["path"] == example_plan.environment(stack).secret_store.mount
    assert (mount.inputs["type"], mount.inputs["options"]) == ("kv", {"version": "2"})
    assert mount.protect and mount.retain_on_delete


def test_every_storage_resource_in_every_stack_is_protected_and_retained(captured):
    storage = [r for resources in captured.values() for r in resources if r.type_token == MOUNT]
    assert storage
    assert all(r.protect and r.retain_on_delete for r in storage)


def test_no_secret_value_is_ever_written_by_the_program(captured):
    types = {r.type_token for resources in captured.values() for r in resources}
    assert not any("secret:Secret" in t or "kv/secretV2" in t or t.startswith("vault:kv/secret:") for t in types)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_admin_role_binds_the_admin_group_and_grants_only_the_write_policy(captured, example_plan, stack):
    plan_role = example_plan.environment(stack).admin_role
    role = by_name(captured[stack], ROLE)[plan_role.resource_name].inputs
    assert role["roleType"] == "oidc"
    assert role["backend"] == plan_role.mount_path
    assert role["boundClaims"] == {plan_role.groups_claim: plan_role.admin_group}
    assert role["groupsClaim"] == plan_role.groups_claim
    assert role["boundAudiences"] == list(plan_role.bound_audiences)
    assert role["allowedRedirectUris"] == list(plan_role.allowed_redirect_uris)
    assert role["tokenPolicies"] == [f"{stack}.admin"]
    assert role["tokenNoDefaultPolicy"] is True
    assert role["tokenBoundCidrs"] == ["203.0.113.64/28", "2001:db8:300::/48"]
    assert (role["tokenTtl"], role["tokenMaxTtl"]) == (plan_role.token_ttl, plan_role.token_max_ttl)


def test_the_dev_stack_holds_no_production_or_staging_resource(captured):
    for resource in captured["dev"]:
        text = json.dumps([resource.name, resource.inputs])
        assert "production" not in text and "staging" not in text, resource.name


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_no_stack_touches_another_environments_roles_policies_or_mounts(captured, example_plan, stack):
    others = [e for e in example_plan.environments if e.name != stack]
    foreign = {
        *(p.name for e in others for p in e.policies),
        *(f"auth/{r.mount_path}/role/{r.role_name}" for e in others for r in e.roles),
        *(r.role_name for e in others for r in e.roles),
        *(e.secret_store.mount for e in others),
        *(e.admin_role.role_name for e in others),
    }
    for resource in captured[stack]:
        touched = {str(v) for k, v in resource.inputs.items()
                   if k in ("name", "path", "roleName", "mount")}
        assert not touched & foreign, resource.name


def test_only_the_resources_stack_holds_organisation_wide_resources(captured, example_plan: Plan):
    for stack, resources in captured.items():
        org_wide = [r for r in resources if r.type_token in ORG_WIDE
                    or r.type_token in ORGANIZATION_COMPONENTS]
        if stack == example_plan.resources_stack:
            assert org_wide
        else:
            assert org_wide == [], stack


def test_jwt_mounts_trust_exactly_the_plans_issuers(captured, example_plan: Plan):
    mounts = by_name(captured[example_plan.resources_stack], AUTH_BACKEND)
    for mount in example_plan.jwt_mounts:
        inputs = mounts[mount.resource_name].inputs
        assert inputs["type"] == "jwt"
        assert inputs["path"] == mount.path
        assert inputs["boundIssuer"] == mount.issuer
        assert inputs["oidcDiscoveryUrl"] == mount.oidc_discovery_url


def test_the_admin_mount_is_oidc_and_its_client_secret_a_pulumi_secret(captured, example_plan: Plan):
    mount = by_name(captured[example_plan.resources_stack], AUTH_BACKEND)[example_plan.admin_auth.resource_name]
    assert mount.inputs["type"] == "oidc"
    assert mount.inputs["path"] == example_plan.admin_auth.path
    assert mount.inputs["oidcDiscoveryUrl"] == example_plan.admin_auth.oidc_discovery_url
    assert mount.inputs["oidcClientId"] == "vault"  # stacks/Pulumi.production.yaml
    assert mount.secret_keys == {"oidcClientSecret"}


def test_branch_protection_enforces_every_declared_setting(captured, example_plan: Plan):
    protections = by_name(captured[example_plan.resources_stack], BRANCH_PROTECTION)
    for plan in example_plan.branch_protections:
        inputs = protections[plan.resource_name].inputs
        assert inputs["repositoryId"] == plan.repository
        assert inputs["pattern"] == plan.branch
        assert inputs["enforceAdmins"] is True
        assert inputs["allowsForcePushes"] is False and inputs["allowsDeletions"] is False
        assert inputs["requireConversationResolution"] is True
        assert inputs["requiredPullRequestReviews"] == [{
            "requiredApprovingReviewCount": plan.required_approvals,
            "requireCodeOwnerReviews": plan.require_code_owner_reviews,
            "requireLastPushApproval": True,
            "dismissStaleReviews": True,
        }]
        assert inputs["requiredStatusChecks"] == [{"contexts": list(plan.required_status_checks), "strict": True}]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_github_environments_follow_the_plan(captured, example_plan: Plan, stack):
    environments = by_name(captured[stack], GITHUB_ENVIRONMENT)
    policies = by_name(captured[stack], DEPLOYMENT_POLICY)
    for plan in example_plan.environment(stack).github_environments:
        inputs = environments[plan.resource_name].inputs
        assert (inputs["repository"], inputs["environment"]) == (plan.repository, plan.environment)
        skipped = bool(plan.reviewer_users or plan.reviewer_teams) and not plan.reviewers_enforceable
        assert inputs.get("preventSelfReview") is (None if skipped else True)
        # Admins may bypass only below staging, and never where the infrastructure pipeline applies a stack.
        assert inputs["canAdminsBypass"] is (stack not in ("staging", "production")
                                             and plan.repository != "infrastructure")
        if plan.deployment_branches is None:
            assert "deploymentBranchPolicy" not in inputs
        else:
            assert inputs["deploymentBranchPolicy"] == {"customBranchPolicies": True, "protectedBranches": False}
            assert {policies[f"{plan.resource_name}-{b}"].inputs["branchPattern"]
                    for b in plan.deployment_branches} == set(plan.deployment_branches)


def test_production_environment_requires_the_declared_reviewers(captured):
    inputs = by_name(captured["production"], GITHUB_ENVIRONMENT)["api-production"].inputs
    assert inputs["reviewers"] == [{"teams": [4200001]}]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_resource_is_a_child_of_a_component_and_components_register_under_the_stack(captured, stack):
    components = {r.name: r for r in captured[stack] if r.type_token.startswith("secure-pipelines:index:")}
    for resource in captured[stack]:
        if resource.type_token in (c("Environment"), c("Organization"), GITHUB_APP):
            assert resource.parent is None
        else:
            assert resource.parent in components, resource.name
