"""The rehearsal fails when the Vault configuration is wrong: each test breaks one thing in what the
stacks register and checks that the rehearsal reports it (an escape or a refused legitimate flow)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from secure_pipelines.ci.circleci.claims import (
    CUSTOM_WEBHOOK_TRAIT,
    PIPELINE_DEFINITION_ID,
    SSH_RERUN,
    SSH_RERUN_TRAIT,
    VCS_ORIGIN,
    VCS_REF,
)
from secure_pipelines.ci.circleci.layers import context_restriction
from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal, Subject, VaultTarget, rehearse
from secure_pipelines.rehearse.apply import AUTH_BACKEND_ROLE, ENDPOINT, POLICY, VaultResource
from secure_pipelines.rehearse.flows import legitimate_job
from secure_pipelines.rehearse.server import OpenBaoServer

Mutation = Callable[[VaultResource], VaultResource]


def _rehearse_mutated(declaration: Declaration, plan: Plan, resources: list[VaultResource],
                      mutate: Mutation, environments: Sequence[str] = ("production",),
                      target: VaultTarget | None = None) -> Rehearsal:
    changed = [mutate(r) for r in resources]
    assert changed != resources, "the mutation changed nothing: this test would prove nothing"
    return rehearse(Subject.of(declaration, plan, environments), lambda: changed, target=target)


def _with_inputs(resource: VaultResource, **inputs: Any) -> VaultResource:
    return dataclasses.replace(resource, inputs={**resource.inputs, **inputs})  # type: ignore[type-var]


def _role_inputs(role_name: str, **inputs: Any) -> Mutation:
    """An ``AuthBackendRole`` named ``role_name`` sent with ``inputs`` changed."""
    def mutate(resource: VaultResource) -> VaultResource:
        if resource.type_token == AUTH_BACKEND_ROLE and resource.inputs.get("roleName") == role_name:
            return _with_inputs(resource, **inputs)
        return resource
    return mutate


def _endpoint_body_change(role_name: str, change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(resource: VaultResource) -> VaultResource:
        if resource.type_token != ENDPOINT or not resource.inputs["path"].endswith(f"/role/{role_name}"):
            return resource
        body = json.loads(resource.inputs["dataJson"])
        change(body)
        return _with_inputs(resource, dataJson=json.dumps(body))
    return mutate


def test_a_policy_that_reads_another_repositorys_path_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    def widen(resource: VaultResource) -> VaultResource:
        if resource.type_token == POLICY and resource.inputs["name"] == "production.ci.webapp":
            extra = 'path "kv-production/data/apps/api" {\n  capabilities = ["read"]\n}\n'
            return _with_inputs(resource, policy=resource.inputs["policy"] + extra)
        return resource

    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, widen)
    assert not rehearsal.passed
    flows = [o.flow for o in rehearsal.escapes]
    assert any("webapp -> production" in f and "other secret paths readable" in f for f in flows), flows
    assert any("explain's access matrix" in f for f in flows), flows


def test_a_role_that_forgets_its_ref_binding_is_an_escape_even_behind_the_context(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _endpoint_body_change("production.webapp", lambda body: body["bound_claims"].pop(VCS_REF))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    escaped = [o for o in rehearsal.escapes if o.flow.startswith("webapp -> production")]
    assert any("look-alike ref" in o.flow for o in escaped), [o.flow for o in rehearsal.escapes]
    assert all("the plan binds oidc.circleci.com/vcs-ref" in o.proof for o in escaped if "ref" in o.flow)


def test_ssh_rerun_bound_as_a_string_refuses_the_legitimate_deploy(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _endpoint_body_change("production.webapp",
                                   lambda body: body["bound_claims"].__setitem__(SSH_RERUN, ["false"]))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    refused = [o.flow for o in rehearsal.refused_legitimate]
    assert refused and all(f.startswith("webapp -> production") for f in refused if "log in" in f), refused


def test_a_role_without_its_allowlist_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    unbind = _role_inputs("production.api", tokenBoundCidrs=[])
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, unbind)
    flows = [o.flow for o in rehearsal.escapes]
    assert any("api -> production: login from outside the allowlist" in f for f in flows), flows
    assert any("api -> production" in f and "replayed from" in f for f in flows), flows


def test_a_listener_that_ignores_x_forwarded_for_fails_the_rehearsal(
    openbao: OpenBaoServer, example_declaration: Declaration, example_plan: Plan,
    example_resources: list[VaultResource],
) -> None:
    # The plain dev listener does not trust X-Forwarded-For: Vault sees 127.0.0.1 for every login.
    target = VaultTarget(openbao.api_addr, openbao.root_token, forwarded_addr=openbao.api_addr)
    rehearsal = rehearse(Subject.of(example_declaration, example_plan, ("production",)),
                         lambda: list(example_resources), target=target)
    failed = [o for o in rehearsal.outcomes if o.failed]
    assert any(o.kind == "verification" and "X-Forwarded-For 192.0.2.55" in o.flow for o in failed)
    assert any(o.kind == "legitimate" and "log in" in o.flow for o in failed)


def test_a_production_role_that_forgets_its_pipeline_definition_is_an_escape_not_an_accepted_risk(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _endpoint_body_change("production.webapp",
                                   lambda body: body["bound_claims"].pop(PIPELINE_DEFINITION_ID))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    flows = [o.flow for o in rehearsal.escapes]
    assert "webapp -> production: another pipeline definition (config source) of the same project" in flows


def _role_claims_without(role_name: str, claim: str) -> Mutation:
    """An ``AuthBackendRole`` (as the provider sends it) that no longer binds ``claim``."""
    def mutate(resource: VaultResource) -> VaultResource:
        if resource.type_token == AUTH_BACKEND_ROLE and resource.inputs.get("roleName") == role_name:
            claims = {k: v for k, v in resource.inputs["boundClaims"].items() if k != claim}
            return _with_inputs(resource, boundClaims=claims)
        return resource
    return mutate


def test_a_github_role_that_forgets_the_event_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _role_claims_without("production.api", "event_name")
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    flows = {o.flow for o in rehearsal.escapes}
    assert {f"api -> production: {event} event on refs/heads/main in environment production"
            for event in ("pull_request_target", "workflow_dispatch", "issue_comment")} <= flows, flows


def test_a_github_developer_role_that_forgets_the_event_lets_another_developers_code_in_as_its_developer(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    (role,) = [r for r in example_plan.environment("dev").roles if r.ci == "github-actions" and r.developer == "sam"]
    mutate = _role_claims_without(role.role_name, "event_name")
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate, ("dev",))
    flows = {o.flow for o in rehearsal.escapes}
    assert ("api -> dev as sam: pull_request_review event (sam reviews lin's pull request): lin's pull request runs "
            "with sam as the actor (refs/pull/7/merge)") in flows, flows
    assert all(o.flow.startswith("api -> dev as sam: ") and "the plan binds event_name" in o.proof
               for o in rehearsal.escapes)
    assert not rehearsal.refused_legitimate


def test_a_github_role_that_forgets_the_runner_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _role_claims_without("production.api", "runner_environment")
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    assert "api -> production: a GitHub-hosted runner" in {o.flow for o in rehearsal.escapes}


def test_a_github_role_that_trusts_any_workflow_of_the_repository_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    def unpin(resource: VaultResource) -> VaultResource:
        return _role_claims_without("production.api", "job_workflow_ref")(
            _role_claims_without("production.api", "workflow_ref")(resource))

    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, unpin)
    flows = {o.flow for o in rehearsal.escapes}
    assert "api -> production: another workflow file of the repository (.github/workflows/other.yml)" in flows
    assert any(f.startswith("api -> production: a third-party reusable workflow") for f in flows), flows


def test_a_circleci_role_that_forgets_its_vcs_claims_admits_a_custom_webhook_and_no_context_saves_it(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    def forget(body: dict[str, Any]) -> None:
        body["bound_claims"].pop(VCS_ORIGIN)
        body["bound_claims"].pop(VCS_REF)

    mutate = _endpoint_body_change("production.webapp", forget)
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    (row,) = [o for o in rehearsal.escapes if "custom webhook" in o.flow]
    assert row.flow.startswith("webapp -> production") and "the plan binds oidc.circleci.com/vcs-origin" in row.proof


def test_no_context_restriction_is_counted_against_a_custom_webhook_pipeline(
    example_declaration: Declaration, example_plan: Plan,
) -> None:
    """CircleCI does not support context restrictions for custom webhook triggers: only Vault can refuse."""
    (role,) = [r for r in example_plan.environment("production").roles if r.ci == "circleci"]
    deployment = next(d for d in example_plan.environment("production").deployments if role in d.roles)
    job = legitimate_job(example_declaration, deployment, role, "refs/heads/main")
    decision = context_restriction(example_plan, job.with_trait(CUSTOM_WEBHOOK_TRAIT, True))
    assert decision is not None and not decision.stops
    assert context_restriction(example_plan, job.with_trait(SSH_RERUN_TRAIT, True)).stops  # type: ignore[union-attr]


def test_a_policy_without_revoke_self_fails_the_rehearsal(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    def no_revoke(resource: VaultResource) -> VaultResource:
        if resource.type_token == POLICY and resource.inputs["name"] == "production.ci.webapp":
            return _with_inputs(resource, policy=resource.inputs["policy"].split("# End this token")[0])
        return resource

    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, no_revoke)
    refused = [o.flow for o in rehearsal.refused_legitimate]
    # The deployer's policy pins the planned text, so production's own `pulumi up` is refused first; the
    # rehearsal applies the changed policy with the bootstrap token and shows what it would do.
    assert refused == ["deployer of production: production.ci.webapp: PUT sys/policies/acl/production.ci.webapp",
                       "webapp -> production: revokes its own token (auth/token/revoke-self), as a job does at "
                       "its end"], refused
    assert [o.flow for o in rehearsal.escapes] == [
        "webapp -> production: its token, revoked, reads kv-production/data/apps/webapp"]


def test_an_admin_role_without_the_admins_networks_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    unbind = _role_inputs("production.admins", tokenBoundCidrs=[])
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, unbind)
    flows = [o.flow for o in rehearsal.escapes]
    assert any(f.startswith("admin role production.admins binds its tokens to the admins' networks") for f in flows)
    assert any(f.startswith("admin production: its admin logs in from outside the admins' networks") for f in flows)
    assert any(f.startswith("admin production: its token replayed from") for f in flows), flows


def test_an_admin_role_bound_to_two_groups_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    widen = _role_inputs("production.admins", boundClaims={"groups": "vault-production-admins,vault-dev-admins"})
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, widen)
    flows = [o.flow for o in rehearsal.escapes]
    assert "admin production: an admin of another environment (group vault-dev-admins) logs in" in flows, flows
