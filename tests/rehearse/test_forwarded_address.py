"""The address Vault checks against ``token_bound_cidrs`` is the one the rehearsal sends.

The dev server's second listener trusts X-Forwarded-For from 127.0.0.1 only; these tests show a
login with a declared role admitted from inside the declared CIDRs and refused from outside them,
and refused without the header (Vault then sees 127.0.0.1, outside a non-loopback allowlist).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from secure_pipelines.declaration import Declaration, Tier
from secure_pipelines.declaration.role_safety import open_allowlist_problems
from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.rehearse.addresses import inside_address, is_inside, outside_addresses
from secure_pipelines.rehearse.apply import calls_for, vault_resources
from secure_pipelines.rehearse.flows import legitimate_job
from secure_pipelines.rehearse.forwarded import verify_forwarded_address
from secure_pipelines.rehearse.keys import IssuerKey
from secure_pipelines.rehearse.probe import Firing, login, token_for
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.rehearse.vault_client import VaultSession


def _role_with_narrow_allowlist(plan: Plan) -> CIRole:
    """A role whose allowlist leaves addresses outside it (the production roles in the example)."""
    return next(r for r in plan.roles if outside_addresses(r.token_bound_cidrs)
                and not is_inside("127.0.0.1", r.token_bound_cidrs))


def _write_role_as_captured(root: VaultSession, resources: list, role: CIRole, mount: str,
                            keys: dict[str, IssuerKey]) -> None:
    resource = next(r for r in vault_resources(resources) if r.name == role.resource_name)
    for call in calls_for(resource, keys):
        path = call.path.replace(f"auth/{role.mount_path}/", f"auth/{mount}/", 1)
        answer = root.call(call.method, path, dict(call.body))
        assert answer.ok, answer.reason


def _attempt(openbao: OpenBaoServer, declaration: Declaration, plan: Plan, keys: dict[str, IssuerKey],
             mount: str, role: CIRole, address: str | None) -> bool:
    deployment = next(d for e in plan.environments for d in e.deployments if role in d.roles)
    job = legitimate_job(declaration, deployment, role, f"refs/heads/{deployment.branches[0]}")
    firing = Firing(mount, role.role_name, job, client_address=address)
    return login(openbao.forwarded_addr, firing, token_for(declaration, firing, keys[role.issuer],
                                                            int(time.time()))).ok


def test_a_login_from_inside_each_declared_cidr_is_admitted(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list, issuer_keys: dict[str, IssuerKey], fresh_jwt_mount: Callable[[str], str],
) -> None:
    role = _role_with_narrow_allowlist(example_plan)
    mount = fresh_jwt_mount(role.issuer)
    _write_role_as_captured(openbao_root, example_resources, role, mount, issuer_keys)
    for cidr in role.token_bound_cidrs:
        address = inside_address(cidr)
        assert _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, address), cidr


def test_a_login_from_outside_the_allowlist_is_refused(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list, issuer_keys: dict[str, IssuerKey], fresh_jwt_mount: Callable[[str], str],
) -> None:
    role = _role_with_narrow_allowlist(example_plan)
    mount = fresh_jwt_mount(role.issuer)
    _write_role_as_captured(openbao_root, example_resources, role, mount, issuer_keys)
    outside = outside_addresses(role.token_bound_cidrs)
    assert outside
    for address in outside:
        assert not _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, address), address


def test_without_the_header_vault_judges_the_loopback_address(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list, issuer_keys: dict[str, IssuerKey], fresh_jwt_mount: Callable[[str], str],
) -> None:
    role = _role_with_narrow_allowlist(example_plan)
    mount = fresh_jwt_mount(role.issuer)
    _write_role_as_captured(openbao_root, example_resources, role, mount, issuer_keys)
    assert not _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, None)


def test_a_token_bound_to_one_address_works_from_that_address_only(openbao: OpenBaoServer) -> None:
    outcomes = verify_forwarded_address(openbao)
    assert [o.expected for o in outcomes] == ["admitted", "refused", "refused", "admitted", "refused"]
    assert all(o.verdict == "ok" for o in outcomes), [(o.flow, o.got) for o in outcomes]


def test_vault_judges_the_right_most_forwarded_address_not_one_a_client_prepended(openbao: OpenBaoServer) -> None:
    """Why a production listener must trust X-Forwarded-For from its load balancers only (README)."""
    outcomes = {o.flow: o for o in verify_forwarded_address(openbao)}
    prepended = outcomes["token bound to 192.0.2.55/32 used with X-Forwarded-For 192.0.2.56, 192.0.2.55"]
    appended = outcomes["token bound to 192.0.2.55/32 used with X-Forwarded-For 192.0.2.55, 192.0.2.56"]
    assert (prepended.got, appended.got.startswith("refused")) == ("admitted", True)


def test_openbao_admits_ipv4_clients_through_ranges_the_declaration_counts_as_open(
    openbao: OpenBaoServer, openbao_root: VaultSession, example_declaration: Declaration, example_plan: Plan,
    example_resources: list, issuer_keys: dict[str, IssuerKey], fresh_jwt_mount: Callable[[str], str],
) -> None:
    """Why an allowlist is judged by all its ranges together, IPv4-mapped ranges as IPv4: a real OpenBao admits
    any IPv4 client through each of these, and the declaration refuses each where it refuses 0.0.0.0/0."""
    role = _role_with_narrow_allowlist(example_plan)
    mount = fresh_jwt_mount(role.issuer)
    _write_role_as_captured(openbao_root, example_resources, role, mount, issuer_keys)

    def bind(cidrs: list[str]) -> None:
        updated = openbao_root.write(f"auth/{mount}/role/{role.role_name}",
                                     {"role_type": "jwt", "token_bound_cidrs": cidrs})
        assert updated.ok, updated.reason

    for cidrs in (["::ffff:0:0/96"], ["0.0.0.0/1", "128.0.0.0/1"]):
        bind(cidrs)
        for address in ("192.0.2.77", "8.8.8.8", "203.0.113.200"):
            assert _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, address), cidrs
        assert [p.field for p in open_allowlist_problems("ip_allowlist", cidrs, Tier.PRODUCTION)] == ["ip_allowlist"]
    bind(["::ffff:0:0/104"])  # the mapped /104 is IPv4's 0.0.0.0/8: the mapping is exact
    assert _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, "0.1.2.3")
    assert not _attempt(openbao, example_declaration, example_plan, issuer_keys, mount, role, "192.0.2.77")
