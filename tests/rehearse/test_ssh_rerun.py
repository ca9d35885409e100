"""The evidence for writing typed-claim roles as a JSON body: Vault compares JSON values.

The production CircleCI role binds ``oidc.circleci.com/ssh-rerun`` to the boolean ``false``. Written
as the stack writes it (``vault.generic.Endpoint`` with a JSON body), Vault admits a normal run and
refuses an SSH rerun. Written as ``vault.jwt.AuthBackendRole`` would send it (every value a string),
the same binding refuses every token, normal runs included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from secure_pipelines.ci.circleci.claims import SSH_RERUN, SSH_RERUN_TRAIT
from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.rehearse.addresses import inside_address
from secure_pipelines.rehearse.apply import ENDPOINT, VaultResource, provider_bound_claims
from secure_pipelines.rehearse.flows import legitimate_job
from secure_pipelines.rehearse.keys import IssuerKey
from secure_pipelines.rehearse.probe import Firing, login, token_for
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.rehearse.vault_client import VaultSession


def _typed_roles(plan: Plan) -> list[CIRole]:
    return [role for role in plan.roles if role.has_typed_claims]


def _endpoint_body(resources: list[VaultResource], role: CIRole) -> dict[str, Any]:
    endpoint = next(r for r in resources
                    if r.type_token == ENDPOINT and r.inputs["path"].endswith(f"/role/{role.role_name}"))
    return json.loads(endpoint.inputs["dataJson"])


def _as_provider_strings(body: dict[str, Any]) -> dict[str, Any]:
    """The role as ``vault.jwt.AuthBackendRole`` would send it: values joined by ',' then split."""
    joined = {claim: ",".join(v if isinstance(v, str) else json.dumps(v) for v in values)
              for claim, values in body["bound_claims"].items()}
    return {**body, "bound_claims": provider_bound_claims(joined)}


def _login(openbao: OpenBaoServer, declaration: Declaration, plan: Plan, keys: dict[str, IssuerKey],
           mount: str, role: CIRole, ssh_rerun: bool) -> bool:
    deployment = next(d for e in plan.environments for d in e.deployments if role in d.roles)
    job = legitimate_job(declaration, deployment, role, f"refs/heads/{deployment.branches[0]}")
    firing = Firing(mount, role.role_name, job.with_trait(SSH_RERUN_TRAIT, ssh_rerun),
                    client_address=inside_address(role.token_bound_cidrs[0]))
    return login(openbao.forwarded_addr, firing, token_for(declaration, firing, keys[role.issuer],
                                                            int(time.time()))).ok


def test_the_example_has_a_role_with_a_typed_claim(example_plan: Plan) -> None:
    assert _typed_roles(example_plan), "no role binds a boolean: this evidence would test nothing"


def test_the_stack_writes_ssh_rerun_as_a_json_boolean(example_plan: Plan,
                                                      example_resources: list[VaultResource]) -> None:
    for role in _typed_roles(example_plan):
        assert _endpoint_body(example_resources, role)["bound_claims"][SSH_RERUN] == [False], role.role_name


def test_json_false_admits_a_normal_run_and_refuses_an_ssh_rerun(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list[VaultResource], issuer_keys: dict[str, IssuerKey],
    fresh_jwt_mount: Callable[[str], str],
) -> None:
    for role in _typed_roles(example_plan):
        mount = fresh_jwt_mount(role.issuer)
        answer = openbao_root.write(f"auth/{mount}/role/{role.role_name}", _endpoint_body(example_resources, role))
        assert answer.ok, answer.reason
        args = (openbao, example_declaration, example_plan, issuer_keys, mount, role)
        assert _login(*args, ssh_rerun=False), f"{role.role_name}: a normal run was refused"
        assert not _login(*args, ssh_rerun=True), f"{role.role_name}: an SSH rerun was admitted"


def test_string_false_refuses_every_token(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list[VaultResource], issuer_keys: dict[str, IssuerKey],
    fresh_jwt_mount: Callable[[str], str],
) -> None:
    for role in _typed_roles(example_plan):
        mount = fresh_jwt_mount(role.issuer)
        body = _as_provider_strings(_endpoint_body(example_resources, role))
        assert body["bound_claims"][SSH_RERUN] == ["false"]
        answer = openbao_root.write(f"auth/{mount}/role/{role.role_name}", body)
        assert answer.ok, answer.reason
        args = (openbao, example_declaration, example_plan, issuer_keys, mount, role)
        for ssh_rerun in (False, True):
            assert not _login(*args, ssh_rerun=ssh_rerun), f"{role.role_name}: string 'false' admitted a token"
