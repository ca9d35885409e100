"""The example declaration, rehearsed whole against a real OpenBao: nothing escapes, nothing
legitimate is refused, and every attack the plan calls for was fired."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML

from secure_pipelines.ci.circleci.claims import PIPELINE_DEFINITION_ID
from secure_pipelines.declaration.model import Declaration
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import Rehearsal, VaultTarget
from secure_pipelines.rehearse.addresses import outside_addresses
from secure_pipelines.rehearse.runner import Subject, admitted_by_design
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.rehearse.vault_client import VaultSession

from .test_infrastructure_roles import assert_rehearsed


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
            whose = f"read shared ({', '.join(path.readers)})" if path.shared else "read own"
            reads = _rows(rehearsal, _label(role), f"{whose} {path.data_path}")
            assert [o.verdict for o in reads] == ["ok"], role.role_name


def test_a_shared_secret_is_read_by_its_listed_repositories_and_refused_to_every_other(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    shared = "kv-production/data/shared/payments"
    for role in plan.environment("production").roles:
        if role.repository in ("webapp", "shop"):
            (row,) = _rows(rehearsal, _label(role), f"read shared (webapp, shop) {shared}")
            assert (row.expected, row.verdict) == ("admitted", "ok")
            (write,) = _rows(rehearsal, _label(role), f"CI token writes its own {shared}")
            assert (write.verdict, write.layer) == ("ok", "Vault: ACL policy (read-only)")
        else:
            (row,) = _rows(rehearsal, _label(role), f"CI token reads {shared} (shared with webapp, shop only)")
            assert (row.expected, row.got, row.verdict) == ("refused", "refused: permission denied", "ok")


def test_staging_records_each_digest_once_production_reads_it_and_nobody_else_can_forge_one(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    for role in plan.roles:
        expected = ["creates a promotion record anywhere but its own"]
        if role.environment == "staging":
            expected += ["records a digest it deployed", "overwrites a promotion record"]
        if role.environment == "production":
            expected += [f"reads staging's record kv-staging/data/promotions/{role.repository}/",
                         "forges a record in staging"]
        for needle in expected:
            assert [o.verdict for o in _rows(rehearsal, _label(role), needle)] == ["ok"], (role.role_name, needle)
        if role.environment != "staging":
            assert _rows(rehearsal, _label(role), "records a digest") == []
    forged = [o for o in rehearsal.outcomes if o.flow.startswith("admin staging forges a promotion record")]
    assert len(forged) == 3 and {(o.expected, o.verdict) for o in forged} == {("refused", "ok")}


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
            expected += ["SSH rerun", "unversioned config", "custom webhook"]
            if role.tier != "development":
                expected.append("another pipeline definition")
        if role.ci == "github-actions":
            expected.append("GitHub's default audience")
            if role.tier != "development":
                expected += ["pull_request_target event", "workflow_dispatch event", "issue_comment event",
                             "another workflow file", "a third-party reusable workflow", "a GitHub-hosted runner"]
        if role.ci == "gitlab-ci":
            expected += ["merge-request pipeline", "fork's merge request run in the parent project", "protected tag",
                         "trigger pipeline", "api pipeline", "environment action prepare", "environment action verify",
                         "another CI config file", "instance URL as audience", "another deployment tier",
                         "unprotected", "GitLab-hosted runner"]
            if role.tier != "development":
                expected.append("environment not protected")
        if role.developer is not None:
            expected.append("another developer's dev environment")
            if role.ci == "github-actions":
                expected += [f"{event} event (" for event in ("pull_request", "pull_request_review",
                                                              "pull_request_target", "workflow_dispatch",
                                                              "issue_comment", "workflow_run", "check_run")]
            if role.ci == "gitlab-ci":
                expected.append("retries, or plays (manual), the deploy job of")
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
        "GitLab-hosted runner (runner_environment gitlab-hosted)",
        "lin retries, or plays (manual), the deploy job of sam's pipeline on refs/heads/sam/feature, so sam's code "
        "runs as lin",
        "sam retries, or plays (manual), the deploy job of lin's pipeline on refs/heads/lin/feature, so lin's code "
        "runs as sam")}
    assert all(o.verdict in ("ok", "not-applicable") for o in gitlab if o.environment != "dev")


def test_github_developer_roles_refuse_every_run_but_their_developers_push_and_gitlab_says_what_it_cannot(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    for role in [r for r in plan.environment("dev").roles if r.developer is not None]:
        events = [o for o in _rows(rehearsal, _label(role), " event (") if o.kind == "attack"]
        reruns = [o for o in _rows(rehearsal, _label(role), "retries, or plays") if o.kind == "attack"]
        pushes = [o for o in _rows(rehearsal, _label(role), "log in") if o.kind == "legitimate"]
        assert pushes and {o.verdict for o in pushes} == {"ok"}, role.role_name
        if role.ci == "github-actions":
            assert len(events) == 9 and {(o.verdict, o.layer) for o in events} == {
                ("ok", "Vault: bound_claims event_name")}
        if role.ci == "gitlab-ci":
            (rerun,) = reruns
            assert rerun.verdict == "accepted-risk"
            assert "environments[dev].per_developer" in rerun.proof and "user_id" in rerun.proof
        else:
            assert reruns == []


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
        assert outcome.proof.startswith("accepted risk: "), outcome.flow
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
    assert row.proof.startswith("accepted risk: repositories[webapp].ci.circleci.overrides."
                                f"unpinned_pipeline_definition: {reason!r}; asked: ")
    assert rehearsal.passed


def test_every_tier_with_a_demo_promoted_from_qa_rehearses_with_zero_escapes(
    tmp_path, rehearse_example, example_project
) -> None:
    values = YAML(typ="safe", pure=True).load((example_project / "stacks" / "declaration.yaml").read_text())
    qa = next(e for e in values["environments"] if e["name"] == "qa")
    demo = {**qa, "name": "demo", "branches": ["main"], "promote_from": "qa", "ip_allowlist": ["192.0.2.128/26"],
            "ci": {"circleci": {"context": {"name": "acme-demo", "id": "4c2f8d5e-3b6a-4f7c-8d9e-0f1a2b3c4d5e"},
                                "runner_resource_class": "acme/demo-deployers"},
                   "gitlab_ci": {"runner_tags": ["acme-demo-deployers"]}}}
    values["environments"].insert(2, demo)
    values["admins"]["groups"]["demo"] = "vault-demo-admins"
    path = tmp_path / "declaration.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(values, handle)
    plan, rehearsal = rehearse_example(None, path, cwd=tmp_path)
    assert [e.tier for e in plan.environments] == ["development", "test", "test", "staging", "production"]
    assert rehearsal.passed and rehearsal.escapes == []
    for role in plan.environment("demo").roles:
        assert [o.verdict for o in _rows(rehearsal, _label(role), "reads qa's record")] == ["ok"]
        assert [o.verdict for o in _rows(rehearsal, _label(role), "forges a record in qa")] == ["ok"]


def test_no_row_refers_to_a_document_users_do_not_have(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    shown = [" ".join((o.flow, o.got, o.layer, o.proof, *o.also)) for o in rehearsal.outcomes]
    assert shown and not [text for text in shown if re.search(r"DESIGN\.md|STYLE\.md|\.\./shared", text)]


def test_every_ci_and_admin_token_revokes_itself_and_is_refused_afterwards(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    labels = [_label(role) for role in plan.roles] + [f"admin {env.name}" for env in plan.environments]
    for label in labels:
        revoked = [o for o in rehearsal.outcomes if o.flow.startswith(label) and "revokes its own token" in o.flow]
        after = [o for o in rehearsal.outcomes if o.flow.startswith(label) and "its token, revoked, reads" in o.flow]
        assert [(o.expected, o.verdict) for o in revoked] == [("admitted", "ok")], label
        assert [(o.expected, o.verdict, o.layer) for o in after] == [
            ("refused", "ok", "Vault: token revoked (auth/token/revoke-self)")], label


def test_an_unversioned_config_on_the_default_branch_is_stopped_by_every_circleci_context(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    """Vault cannot tell it from the reviewed config (identical claims); the context restriction can."""
    plan, rehearsal = example_rehearsal
    circleci_roles = [r for r in plan.roles if r.ci == "circleci"]
    assert {r.tier for r in circleci_roles} == {"development", "test", "staging", "production"}
    for role in circleci_roles:
        (row,) = _rows(rehearsal, _label(role), "unversioned config (pipeline.config_source api) on refs/heads/main")
        assert (row.got, row.verdict, row.layer) == (
            "admitted by Vault (by design)", "stopped-elsewhere", "CircleCI context restriction"), row.flow
        assert "pipeline.config_source='api'" in row.proof and 'not (pipeline.config_source starts-with "api")' in \
            row.proof


@pytest.mark.parametrize(("environment", "row", "who"), [
    ("production", "approved by someone outside security group production-approvers", "the approver of its hold"),
    ("staging", "started by someone outside security group staging-deployers", "the user who started the pipeline"),
])
def test_a_deploy_released_by_someone_outside_the_contexts_security_group_is_stopped_by_the_context(
    example_rehearsal: tuple[Plan, Rehearsal], environment: str, row: str, who: str,
) -> None:
    plan, rehearsal = example_rehearsal
    (role,) = [r for r in plan.environment(environment).roles if r.ci == "circleci"]
    (outcome,) = _rows(rehearsal, _label(role), row)
    assert (outcome.got, outcome.verdict, outcome.layer) == (
        "admitted by Vault (by design)", "stopped-elsewhere", "CircleCI context restriction")
    assert f"{who} is not a member" in outcome.proof and "Unauthorized" in outcome.proof


@pytest.mark.parametrize(("attack", "layer"), [
    ("GitHub's default audience", "Vault: bound_audiences"),
    ("pull_request_target event on refs/heads/main", "Vault: bound_claims event_name"),
    ("workflow_dispatch event on refs/heads/main", "Vault: bound_claims event_name"),
    ("issue_comment event on refs/heads/main", "Vault: bound_claims event_name"),
    ("another workflow file of the repository", "Vault: bound_claims "),
    ("a third-party reusable workflow", "Vault: bound_claims job_workflow_ref"),
    ("a GitHub-hosted runner", "Vault: bound_claims runner_environment"),
])
def test_protected_github_roles_refuse_every_token_but_the_reviewed_workflows_push_on_self_hosted_runners(
    example_rehearsal: tuple[Plan, Rehearsal], attack: str, layer: str,
) -> None:
    plan, rehearsal = example_rehearsal
    for environment in ("staging", "production"):
        (role,) = [r for r in plan.environment(environment).roles if r.ci == "github-actions"]
        (row,) = [o for o in _rows(rehearsal, _label(role), attack) if o.kind == "attack"]
        assert (row.verdict, row.got.startswith("refused")) == ("ok", True), row.flow
        assert row.layer.startswith(layer), (row.flow, row.layer)


def test_an_admin_of_another_environment_or_from_outside_the_admins_networks_is_refused(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    """Admins log in with the admin role's exact bindings (read back from Vault) on a rehearsal-only JWT mount."""
    plan, rehearsal = example_rehearsal
    for env in plan.environments:
        label = f"admin {env.name}"
        rows = [o for o in rehearsal.outcomes if o.flow.startswith(label + " logs in")]
        assert len(rows) == len(env.admin_role.token_bound_cidrs) and all(o.verdict == "ok" for o in rows), label
        others = [o for o in rehearsal.outcomes if o.flow.startswith(f"{label}: an admin of another environment")
                  or o.flow == f"{label}: someone in no admin group logs in"]
        assert len(others) == len(plan.environments), label
        assert all((o.verdict, o.layer) == ("ok", "Vault: bound_claims groups") for o in others), label
        outside = [o for o in rehearsal.outcomes if o.flow.startswith(f"{label}: its admin logs in from outside")]
        replayed = [o for o in rehearsal.outcomes if o.flow.startswith(f"{label}: its token replayed from")]
        assert outside and replayed, label
        assert all(o.verdict == "ok" and o.layer.startswith("Vault: token_bound_cidrs") for o in outside + replayed)
        read_back = [o for o in rehearsal.outcomes if o.kind == "verification" and o.environment == env.name]
        assert len(read_back) == 2 and all(o.verdict == "ok" for o in read_back), label


def test_a_pipeline_started_by_a_custom_webhook_is_refused_by_vault_for_every_circleci_role(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    """Such pipelines carry no vcs claims, and CircleCI does not restrict contexts for them: Vault must refuse."""
    plan, rehearsal = example_rehearsal
    for role in (r for r in plan.roles if r.ci == "circleci"):
        (row,) = _rows(rehearsal, _label(role), "custom webhook")
        assert row.verdict == "ok" and row.layer.startswith("Vault: bound_claims"), (row.flow, row.layer)


def test_the_admin_stand_in_mount_is_removed_and_a_leftover_one_does_not_stop_a_rehearsal(
    openbao: OpenBaoServer, rehearse_example,
) -> None:
    root = VaultSession(openbao.api_addr, openbao.root_token)
    leftover = "securepipe-rehearsal-admins-production"
    root.call("delete", f"sys/auth/{leftover}")
    assert root.write(f"sys/auth/{leftover}", {"type": "jwt"}).ok
    target = VaultTarget(openbao.api_addr, openbao.root_token, openbao.forwarded_addr)
    _, rehearsal = rehearse_example("production", target=target)
    assert rehearsal.passed, [(o.flow, o.got) for o in rehearsal.outcomes if o.failed]
    assert f"{leftover}/" not in (root.read("sys/auth").body.get("data") or {})


def test_the_attacks_openbao_admits_are_those_the_plan_admits_by_design(
    example_rehearsal: tuple[Plan, Rehearsal], example_declaration: Declaration,
) -> None:
    """The later layers' decisions start before the capture on the attacks the plan says Vault admits: a real
    OpenBao admitted exactly those (a head start on others would be wasted, one missed would start late)."""
    plan, rehearsal = example_rehearsal
    predicted = [f"{_label(attack.role)}: {attack.name}"
                 for _, attack in admitted_by_design(Subject.of(example_declaration, plan), int(time.time()))]
    admitted = [o.flow for o in rehearsal.outcomes if o.kind == "attack" and o.got.startswith("admitted")]
    assert len(predicted) >= 10
    assert sorted(predicted) == sorted(admitted)


def test_the_rehearsal_times_every_phase_it_runs(example_rehearsal: tuple[Plan, Rehearsal]) -> None:
    _, rehearsal = example_rehearsal
    phases = dict(rehearsal.phases.in_order())
    assert list(phases) == ["later-layers", "capture", "keys", "server-start", "apply", "address-check", "seed",
                            "flows", "admin", "deployers", "differential", "server-stop"]
    assert all(seconds > 0 for seconds in phases.values()), phases
    assert sum(phases.values()) <= rehearsal.seconds


def test_the_infrastructure_roles_admit_their_job_and_refuse_every_attack(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    assert_rehearsed(*example_rehearsal)


def test_vault_refuses_every_production_deploy_of_a_frozen_repository_on_every_ci_system(
    tmp_path, rehearse_example, example_project
) -> None:
    values = YAML(typ="safe", pure=True).load((example_project / "stacks" / "declaration.yaml").read_text())
    frozen = ["webapp", "api", "shop"]  # CircleCI, GitHub Actions, GitLab CI
    values["pipeline_policy"]["code_freeze"] = frozen
    path = tmp_path / "declaration.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(values, handle)
    plan, rehearsal = rehearse_example("production", path, cwd=tmp_path)
    production = plan.environment("production")
    assert not {r.repository for r in production.roles} & set(frozen)
    stopped = [d for d in production.deployments if d.frozen]
    assert {d.ci for d in stopped} == {"circleci", "github-actions", "gitlab-ci"}
    for deployment in stopped:
        rows = _rows(rehearsal, f"{deployment.repository} -> production", "log in under the code freeze")
        assert rows and all(o.verdict == "ok" and o.expected == "refused" for o in rows), rows
        assert all("code_freeze" in o.layer for o in rows)
        logins = _rows(rehearsal, f"{deployment.repository} -> production", ": log in")
        assert logins == rows  # no legitimate production login is left for a frozen repository
    assert rehearsal.passed and rehearsal.escapes == []


def test_a_circleci_developer_rerunning_anothers_workflow_is_an_accepted_risk_vault_admits(
    example_rehearsal: tuple[Plan, Rehearsal],
) -> None:
    plan, rehearsal = example_rehearsal
    roles = [r for r in plan.environment("dev").roles if r.ci == "circleci"]
    assert roles and all(r.developer for r in roles)
    for role in roles:
        (row,) = _rows(rehearsal, _label(role), f"{role.developer} reruns")
        assert row.verdict == "accepted-risk" and row.got.startswith("admitted")
        assert "environments[dev].per_developer" in row.proof
