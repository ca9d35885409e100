"""The example declaration, rehearsed whole against a real OpenBao: nothing escapes, nothing
legitimate is refused, and every attack the plan calls for was fired."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secure_pipelines.ci.circleci.claims import PIPELINE_DEFINITION_ID
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal, VaultTarget, rehearse_declaration
from secure_pipelines.rehearse.addresses import outside_addresses
from secure_pipelines.rehearse.server import OpenBaoServer


@pytest.fixture(scope="module")
def example_rehearsal() -> Iterator[tuple[Plan, Rehearsal]]:
    """``securepipe rehearse --all`` on the example, with its own embedded OpenBao."""
    yield rehearse_declaration(None, None)


def _rows(rehearsal: Rehearsal, role_label: str, needle: str) -> list:
    return [o for o in rehearsal.outcomes if o.flow.startswith(role_label + ":") and needle in o.flow]


def _label(role) -> str:
    return f"{role.repository} -> {role.environment}" + (f" as {role.developer}" if role.developer else "")


def test_nothing_escapes(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    assert rehearsal.escapes == [], [(o.flow, o.got, o.proof) for o in rehearsal.escapes]


def test_no_legitimate_flow_is_refused(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    assert rehearsal.refused_legitimate == [], [(o.flow, o.got) for o in rehearsal.refused_legitimate]


def test_every_role_logs_in_from_every_declared_cidr_and_reads_its_own_paths(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    for role in plan.roles:
        logins = [o for o in _rows(rehearsal, _label(role), "log in") if o.verdict == "ok"]
        for cidr in role.token_bound_cidrs:
            assert any(f"({cidr})" in o.flow for o in logins), f"{role.role_name}: no login from {cidr}"
        for path in role.secret_paths:
            reads = _rows(rehearsal, _label(role), f"read own {path.data_path}")
            assert [o.verdict for o in reads] == ["ok"], role.role_name


def test_every_role_faces_the_whole_attack_matrix(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    plan, rehearsal = example_rehearsal
    for role in plan.roles:
        deployment = next(d for e in plan.environments for d in e.deployments if role in d.roles)
        expected = ["wrong issuer", "wrong audience", "expired token", "not yet valid", "wrongly signed",
                    "alg: none", "another project / repository", "another organisation", "fork's origin",
                    "missing context / environment", "another environment's context",
                    "writes its own", "other secret paths readable"]
        if "*" not in deployment.branches:
            expected += ["feature branch", "tag refs/tags/", "pull request", "look-alike ref"]
        if role.ci == "circleci":
            expected.append("SSH rerun")
            if role.tier != "development":
                expected.append("another pipeline definition")
        if role.developer is not None:
            expected.append("another developer's dev environment")
        if outside_addresses(role.token_bound_cidrs):
            expected += ["login from outside the allowlist", "replayed from"]
        for needle in expected:
            rows = [o for o in _rows(rehearsal, _label(role), needle) if o.kind == "attack"]
            assert rows, f"{role.role_name}: no '{needle}' attack was fired"
            assert all(o.verdict in ("ok", "stopped-elsewhere", "accepted-risk") for o in rows), needle


def test_an_attack_vault_admits_by_design_names_the_layer_and_its_check(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    _, rehearsal = example_rehearsal
    elsewhere = [o for o in rehearsal.outcomes if o.verdict == "stopped-elsewhere"]
    for outcome in elsewhere:
        assert outcome.layer and outcome.proof, outcome.flow
        assert outcome.got.startswith("admitted by Vault"), outcome.flow


def test_glob_roles_cannot_bind_ssh_rerun_so_the_context_refuses_it(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    glob_circleci = [r for r in plan.roles if r.claims_match == "glob" and r.ci == "circleci"]
    assert glob_circleci, "the example has no per-developer CircleCI role: this test would prove nothing"
    for role in glob_circleci:
        reruns = [o for o in _rows(rehearsal, _label(role), "SSH rerun on ")]
        assert reruns
        for outcome in reruns:
            assert outcome.verdict == "stopped-elsewhere", outcome.flow
            assert outcome.layer == "CircleCI context restriction"
            assert "job.ssh.enabled=true" in outcome.proof


def test_admins_write_but_never_read(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    plan, rehearsal = example_rehearsal
    for env in plan.environments:
        for path in env.secret_store.paths:
            rotate = [o for o in rehearsal.outcomes if o.flow == f"admin {env.name} rotates {path.data_path}"]
            read = [o for o in rehearsal.outcomes if o.flow == f"admin {env.name} reads {path.data_path}"]
            assert [o.verdict for o in rotate] == ["ok"] and rotate[0].expected == "admitted"
            assert [o.verdict for o in read] == ["ok"] and read[0].expected == "refused"


def test_a_second_rehearsal_on_the_same_vault_applies_cleanly_and_passes(openbao: OpenBaoServer) -> None:
    target = VaultTarget(openbao.api_addr, openbao.root_token, openbao.forwarded_addr)
    for _ in range(2):
        _, rehearsal = rehearse_declaration(None, None, target=target)
        assert rehearsal.passed, [(o.flow, o.got) for o in rehearsal.outcomes if o.failed]
        assert not rehearsal.embedded


def test_an_accepted_risk_is_only_where_the_plan_leaves_the_claim_unbound(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    for outcome in (o for o in rehearsal.outcomes if o.verdict == "accepted-risk"):
        role = next(r for r in plan.roles if outcome.flow.startswith(_label(r) + ":"))
        assert PIPELINE_DEFINITION_ID not in role.claims, outcome.flow
        assert outcome.proof.startswith("accepted by design: "), outcome.flow
    pinned = [r for r in plan.roles if PIPELINE_DEFINITION_ID in r.claims]
    assert pinned, "no role pins its pipeline definition: the refusal below would prove nothing"
    for role in pinned:
        rows = _rows(rehearsal, _label(role), "another pipeline definition")
        assert [o.verdict for o in rows] == ["ok"] and PIPELINE_DEFINITION_ID in rows[0].layer


def test_the_rehearsal_times_every_phase_it_runs(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    phases = dict(rehearsal.phases.in_order())
    assert list(phases) == ["capture", "keys", "server-start", "apply", "address-check", "seed", "flows",
                            "admin", "differential", "server-stop"]
    assert all(seconds > 0 for seconds in phases.values()), phases
    assert sum(phases.values()) <= rehearsal.seconds
