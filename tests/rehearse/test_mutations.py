"""The rehearsal fails when the Vault configuration is wrong: each test breaks one thing in what the
stacks register and checks that the rehearsal reports it (an escape or a refused legitimate flow)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from secure_pipelines.ci.circleci.claims import PIPELINE_DEFINITION_ID, SSH_RERUN, VCS_REF
from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal, Subject, VaultTarget, rehearse
from secure_pipelines.rehearse.apply import AUTH_BACKEND_ROLE, ENDPOINT, POLICY, VaultResource
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
        if resource.type_token == POLICY and resource.inputs["name"] == "ci-production-webapp":
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
    mutate = _endpoint_body_change("webapp-production", lambda body: body["bound_claims"].pop(VCS_REF))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    escaped = [o for o in rehearsal.escapes if o.flow.startswith("webapp -> production")]
    assert any("look-alike ref" in o.flow for o in escaped), [o.flow for o in rehearsal.escapes]
    assert all("the plan binds oidc.circleci.com/vcs-ref" in o.proof for o in escaped if "ref" in o.flow)


def test_ssh_rerun_bound_as_a_string_refuses_the_legitimate_deploy(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    mutate = _endpoint_body_change("webapp-production",
                                   lambda body: body["bound_claims"].__setitem__(SSH_RERUN, ["false"]))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    refused = [o.flow for o in rehearsal.refused_legitimate]
    assert refused and all(f.startswith("webapp -> production") for f in refused if "log in" in f), refused


def test_a_role_without_its_allowlist_is_an_escape(
    example_declaration: Declaration, example_plan: Plan, example_resources: list[VaultResource],
) -> None:
    def unbind(resource: VaultResource) -> VaultResource:
        if resource.type_token == AUTH_BACKEND_ROLE and resource.inputs.get("roleName") == "api-production":
            return _with_inputs(resource, tokenBoundCidrs=[])
        return resource

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
    mutate = _endpoint_body_change("webapp-production",
                                   lambda body: body["bound_claims"].pop(PIPELINE_DEFINITION_ID))
    rehearsal = _rehearse_mutated(example_declaration, example_plan, example_resources, mutate)
    flows = [o.flow for o in rehearsal.escapes]
    assert "webapp -> production: another pipeline definition (config source) of the same project" in flows
