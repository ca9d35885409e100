"""The example declaration, rehearsed whole against a real OpenBao: nothing escapes, nothing
legitimate is refused, and every attack the plan calls for was fired."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML

from secure_pipelines.ci.circleci.claims import PIPELINE_DEFINITION_ID
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal, VaultTarget
from secure_pipelines.rehearse.addresses import outside_addresses
from secure_pipelines.rehearse.server import OpenBaoServer


@pytest.fixture(scope="module")
def example_rehearsal(rehearse_example) -> Iterator[tuple[Plan, Rehearsal]]:
    """``securepipe rehearse --all`` on the example, with its own embedded OpenBao."""
    yield rehearse_example()


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
        if role.ci == "gitlab-ci":
            expected += ["merge-request pipeline", "fork's merge request run in the parent project", "protected tag",
                         "trigger pipeline", "api pipeline", "environment action prepare", "environment action verify",
                         "another CI config file", "instance URL as audience", "another deployment tier",
                         "unprotected", "GitLab-hosted runner"]
            if role.tier != "development":
                expected.append("environment not protected")
        if role.developer is not None:
            expected.append("another developer's dev environment")
        if outside_addresses(role.token_bound_cidrs):
            expected += ["login from outside the allowlist", "replayed from"]
        for needle in expected:
            rows = [o for o in _rows(rehearsal, _label(role), needle) if o.kind == "attack"]
            assert rows, f"{role.role_name}: no '{needle}' attack was fired"
            assert all(o.verdict in ("ok", "stopped-elsewhere", "accepted-risk") for o in rows), needle


def test_gitlab_accepts_risks_only_where_a_development_role_is_open_to_any_branch_and_address(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    _, rehearsal = example_rehearsal
    gitlab = [o for o in rehearsal.outcomes if o.ci == "gitlab-ci" and o.kind == "attack"]
    accepted = {(o.environment, o.flow.split(": ", 1)[1]) for o in gitlab if o.verdict == "accepted-risk"}
    assert accepted == {("dev", name) for name in (
        "main unprotected (ref_protected false)", "another CI config file of the project (.gitlab/deploy.yml)",
        "CI config kept in another project (ci_config_ref_uri null)",
        "GitLab-hosted runner (runner_environment gitlab-hosted)")}
    assert all(o.verdict in ("ok", "not-applicable") for o in gitlab if o.environment != "dev")


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


def test_a_second_rehearsal_on_the_same_vault_applies_cleanly_and_passes(openbao: OpenBaoServer,
                                                                         rehearse_example) -> None:
    target = VaultTarget(openbao.api_addr, openbao.root_token, openbao.forwarded_addr)
    for _ in range(2):
        _, rehearsal = rehearse_example(target=target)
        assert rehearsal.passed, [(o.flow, o.got) for o in rehearsal.outcomes if o.failed]
        assert not rehearsal.embedded


def test_an_accepted_risk_is_only_where_the_plan_leaves_the_claim_unbound(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    for outcome in (o for o in rehearsal.outcomes if o.verdict == "accepted-risk"):
        role = next(r for r in plan.roles if outcome.flow.startswith(_label(r) + ":"))
        assert PIPELINE_DEFINITION_ID not in role.claims, outcome.flow
        assert outcome.proof.startswith("accepted in the declaration by "), outcome.flow
    pinned = [r for r in plan.roles if PIPELINE_DEFINITION_ID in r.claims]
    assert pinned, "no role pins its pipeline definition: the refusal below would prove nothing"
    for role in pinned:
        rows = _rows(rehearsal, _label(role), "another pipeline definition")
        assert [o.verdict for o in rows] == ["ok"] and PIPELINE_DEFINITION_ID in rows[0].layer


def test_an_accepted_risk_row_quotes_the_override_that_accepts_it(tmp_path, rehearse_example, example_project) -> None:
    values = YAML(typ="safe", pure=True).load((example_project / "stacks" / "declaration.yaml").read_text())
    circleci = next(r for r in values["repositories"] if r["name"] == "webapp")["ci"]["circleci"]
    del circleci["pipeline_definition_id"]
    reason = "one pipeline definition per project, created by the admins only"
    circleci["overrides"] = {"unpinned_pipeline_definition": reason}
    path = tmp_path / "declaration.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(values, handle)
    _, rehearsal = rehearse_example("production", path, cwd=tmp_path)
    (row,) = _rows(rehearsal, "webapp -> production", "another pipeline definition")
    assert row.verdict == "accepted-risk"
    assert row.proof.startswith("accepted in the declaration by repositories[webapp].ci.circleci.overrides."
                                f"unpinned_pipeline_definition: {reason!r}; asked: ")
    assert rehearsal.passed


def test_no_row_refers_to_a_document_users_do_not_have(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    shown = [" ".join((o.flow, o.got, o.layer, o.proof, *o.also)) for o in rehearsal.outcomes]
    assert shown and not [text for text in shown if re.search(r"DESIGN\.md|STYLE\.md|\.\./shared", text)]
