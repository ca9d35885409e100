"""A TypeScript program's components, constructed by the package as Pulumi's provider server constructs them.

``fixtures/typescript_production.yaml`` is the production stack of a TypeScript program using the
package (its source is in the fixture's header); ``another_language.py`` sends its Construct
requests. The declared components must create exactly what the Python stack program creates.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from secure_pipelines.plan import Plan

from .another_language import ProgramRun, load_program, run_program
from .declared_parts import comparable, declared_part

ROLE = "secure-pipelines:index:CIJwtRole"
MOUNT = "vault:index/mount:Mount"
ENDPOINT = "vault:generic/endpoint:Endpoint"
AUTH_BACKEND_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"


@pytest.fixture(scope="module")
def typescript_production() -> ProgramRun:
    stack, constructs = load_program("typescript_production.yaml")
    return run_program(stack, constructs)


def test_the_declared_components_create_exactly_what_the_stack_program_creates(typescript_production, captured):
    declared = declared_part(typescript_production.capture.resources)
    # The stack program configures the GitHub App's provider itself; a user's program passes its own in opts.
    program = {(r.type_token, r.name): r for r in captured["production"]
               if not r.type_token.startswith("pulumi:providers:")}
    assert set(declared) == set(program)
    for key, resource in program.items():
        assert comparable(declared[key]) == comparable(resource), key


def test_each_declared_component_wraps_the_stack_programs_component_of_the_same_name(typescript_production):
    parents = {(r.type_token, r.name): r.parent for r in typescript_production.capture.resources}
    assert parents[("secure-pipelines:index:Environment", "production")] == "production"
    assert parents[("secure-pipelines:index:Organization", "acme")] == "acme"
    assert parents[("secure-pipelines:index:DeclaredEnvironment", "production")] is None


def test_roles_wait_for_what_the_program_made_the_environment_depend_on(typescript_production):
    """A component's dependencies do not hold its children back: the roles must wait for the mounts."""
    organization = typescript_production.constructed["acme"].urn
    waits = typescript_production.depends_on
    assert waits[(ENDPOINT, "circleci-production.webapp")] == (organization,)
    assert waits[(AUTH_BACKEND_ROLE, "github-actions-production.api")] == (organization,)
    assert waits[(AUTH_BACKEND_ROLE, "admin-production")] == (organization,)
    assert waits[(ENDPOINT, "circleci-production.release-bot")] == (organization,)
    assert waits[(MOUNT, "kv-production")] == ()


def test_the_secret_mount_is_protected_and_retained_although_the_program_set_neither(typescript_production):
    (mount,) = [r for r in typescript_production.capture.resources if r.type_token == MOUNT]
    assert (mount.name, mount.parent, mount.protect, mount.retain_on_delete) == (
        "kv-production", "production-secrets", True, True)


def test_the_admin_client_secret_stays_a_secret_through_the_wire(typescript_production):
    (admin_mount,) = [r for r in typescript_production.capture.resources if r.name == "oidc-admins"]
    assert admin_mount.secret_keys == {"oidcClientSecret"}
    assert admin_mount.inputs["oidcClientSecret"] == "from-the-stack-config"


def test_the_environment_reports_its_outputs_to_the_program(typescript_production, example_plan: Plan):
    environment = example_plan.environment("production")
    state = typescript_production.constructed["production"].state
    assert state["secretMount"] == environment.secret_store.mount
    assert state["ciRoles"] == [f"auth/{r.mount_path}/role/{r.role_name}" for r in environment.roles]
    assert state["policies"] == [p.name for p in environment.policies]
    assert (state["environment"], state["tier"], state["adminRole"]) == ("production", "production",
                                                                         "production.admins")


def test_the_organization_reports_its_mounts(typescript_production, example_plan: Plan):
    state = typescript_production.constructed["acme"].state
    assert state["jwtMounts"] == [m.path for m in example_plan.jwt_mounts]
    assert state["adminAuthPath"] == "admins"
    assert state["protectedRepositories"] == ["webapp", "api"]


def test_a_role_with_a_boolean_claim_is_an_endpoint_whose_body_keeps_the_boolean(typescript_production):
    resources = typescript_production.capture.resources
    (role,) = [r for r in resources if r.parent == "release-bot"]
    assert (role.type_token, role.name) == (ENDPOINT, "circleci-production.release-bot")
    assert role.inputs["path"] == "auth/circleci/role/production.release-bot"
    body = json.loads(role.inputs["dataJson"])
    assert body["bound_claims"]["oidc.circleci.com/ssh-rerun"] == [False]
    assert body["bound_claims"]["oidc.circleci.com/vcs-ref"] == ["refs/heads/main"]
    assert (body["token_ttl"], body["token_max_ttl"]) == (300, 600)
    assert type(body["token_ttl"]) is int  # sent as a double, written as Vault's integer seconds
    assert body["token_bound_cidrs"] == ["203.0.113.16/28"]
    assert body["token_no_default_policy"] is True
    assert body["bound_audiences"] == ["6a1f4c2e-0b8d-4c53-9a7e-1d2b3c4d5e6f"]


def test_a_role_of_strings_only_is_an_auth_backend_role(typescript_production):
    resources = typescript_production.capture.resources
    (role,) = [r for r in resources if r.parent == "docs-bot"]
    assert (role.type_token, role.name) == (AUTH_BACKEND_ROLE, "github-actions-production.docs")
    inputs = role.inputs
    assert (inputs["backend"], inputs["roleName"], inputs["roleType"]) == ("github-actions", "production.docs", "jwt")
    assert inputs["boundClaims"] == {"repository_id": "700000003", "repository_owner_id": "91234567",
                                     "environment": "production", "ref": "refs/heads/main"}
    assert inputs["tokenBoundCidrs"] == ["203.0.113.16/28", "2001:db8:200::/48"]
    assert inputs["tokenPolicies"] == ["production.ci.docs"]
    assert typescript_production.constructed["docs-bot"].state == {
        "rolePath": "auth/github-actions/role/production.docs"}


def test_the_program_registers_each_component_once_and_nothing_else(typescript_production):
    counts = Counter(r.type_token for r in typescript_production.capture.resources)
    assert counts[ROLE] == 2
    assert counts["secure-pipelines:index:DeclaredEnvironment"] == 1
    assert counts["secure-pipelines:index:DeclaredOrganization"] == 1
