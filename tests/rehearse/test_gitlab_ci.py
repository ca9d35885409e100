"""GitLab CI's attack matrix, one attack at a time against a real OpenBao: each attack token breaks
exactly the bindings named in the table (and no others), the planned role refuses it, and the same
role without those bindings admits it. So each binding is what stops its attacks, and each attack
is a real job one change away from a legitimate one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

from secure_pipelines.ci.base import AttackTarget, Job
from secure_pipelines.ci.gitlab_ci.attacks import attacks
from secure_pipelines.ci.gitlab_ci.identity import GitLabCIIdentity
from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import CIRole, Deployment, Plan
from secure_pipelines.rehearse.attacks import login_attacks, violated_binding
from secure_pipelines.rehearse.flows import legitimate_job
from secure_pipelines.rehearse.keys import IssuerKey
from secure_pipelines.rehearse.tokens import mint

from .conftest import RoleBody, RoleLogin

AUDIENCE = "bound_audiences"
"""Not a bound claim: the role's audience list."""

PRODUCTION = {
    "merge-request pipeline from a branch named main": {"pipeline_source", "ref_protected"},
    "protected merge-request pipeline from main (protect_merge_request_pipelines)": {"pipeline_source"},
    "fork's merge request run in the parent project, from the fork's branch main (GitLab 18.2.2+ claims)":
        {"project_id", "namespace_id", "pipeline_source", "ref_protected"},
    "fork's merge request run in the parent project, from the fork's branch main (claims of GitLab before 18.2.2: "
    "the parent's project ids)": {"pipeline_source", "ref_protected"},
    "protected tag named main": {"ref_type", "ci_config_ref_uri"},
    "main unprotected (ref_protected false)": {"ref_protected"},
    "another CI config file of the project (.gitlab/deploy.yml)": {"ci_config_ref_uri"},
    "CI config kept in another project (ci_config_ref_uri null)": {"ci_config_ref_uri"},
    "ID token requested with the instance URL as audience": {AUDIENCE},
    "environment under another deployment tier (other)": {"deployment_tier"},
    "GitLab-hosted runner (runner_environment gitlab-hosted)": {"runner_environment"},
    "environment not protected (environment_protected false)": {"environment_protected"},
    "trigger pipeline on main": {"pipeline_source"},
    "api pipeline on main": {"pipeline_source"},
    "pipeline pipeline on main": {"pipeline_source"},
    "parent_pipeline pipeline on main": {"pipeline_source"},
    "web pipeline on main": {"pipeline_source"},
    "schedule pipeline on main": {"pipeline_source"},
    "environment action prepare (skips deployment approvals)": {"environment_action"},
    "environment action verify (skips deployment approvals)": {"environment_action"},
    "environment action access (skips deployment approvals)": {"environment_action"},
    "environment action stop (skips deployment approvals)": {"environment_action"},
    # The common attacks, as GitLab's jobs make them:
    "another project / repository": {"project_id", "ci_config_ref_uri"},
    "another organisation": {"project_id", "namespace_id", "ci_config_ref_uri"},
    "fork's origin": {"project_id", "namespace_id", "ci_config_ref_uri"},
    "feature branch refs/heads/feature/x": {"ref", "ref_protected", "ci_config_ref_uri"},
    "tag refs/tags/v1.0.0": {"ref", "ref_type", "ref_protected", "ci_config_ref_uri"},
    "pull request refs/pull/7/merge": {"ref", "ref_protected", "pipeline_source", "ci_config_ref_uri"},
    "look-alike ref refs/heads/main-evil": {"ref", "ref_protected", "ci_config_ref_uri"},
    "missing context / environment": {"environment", "environment_protected", "environment_action",
                                      "deployment_tier"},
    "another environment's context / environment (staging)": {"environment", "deployment_tier"},
    "another environment's context / environment (qa)": {"environment", "deployment_tier"},
    "another environment's context / environment (dev)": {"environment", "deployment_tier",
                                                          "environment_protected", "runner_environment"},
}
"""Each attack on ``production.shop``, and the bindings its token breaks."""

DEV = {
    "merge-request pipeline from a branch named main": {"pipeline_source"},
    "fork's merge request run in the parent project, from the fork's branch main (GitLab 18.2.2+ claims)":
        {"project_id", "namespace_id", "pipeline_source"},
    "fork's merge request run in the parent project, from the fork's branch main (claims of GitLab before 18.2.2: "
    "the parent's project ids)": {"pipeline_source"},
    "protected tag named main": {"ref_type"},
    "trigger pipeline on main": {"pipeline_source"},
    "web pipeline on main": {"pipeline_source"},
    "schedule pipeline on main": {"pipeline_source"},
    "environment action verify (skips deployment approvals)": {"environment_action"},
    "ID token requested with the instance URL as audience": {AUDIENCE},
    "another developer's dev environment (sam as lin)": {"user_id"},
    "fork's origin": {"project_id", "namespace_id"},
}
"""Attacks on ``dev.shop.lin``: a development role binds less, and still refuses these (a pipeline run by hand
or by a schedule names its starter in user_id, on any branch: per developer, only a push deploys)."""

RUN_BY_LIN = ("lin retries, or plays (manual), the deploy job of sam's pipeline on refs/heads/sam/feature, so sam's "
              "code runs as lin")
ACCEPTED_IN_DEV = {"main unprotected (ref_protected false)",
                   "another CI config file of the project (.gitlab/deploy.yml)",
                   "CI config kept in another project (ci_config_ref_uri null)",
                   "GitLab-hosted runner (runner_environment gitlab-hosted)",
                   RUN_BY_LIN}


def gitlab_role(plan: Plan, environment: str, developer: str | None = None) -> tuple[Deployment, CIRole]:
    return next((d, r) for env in plan.environments for d in env.deployments for r in d.roles
                if r.ci == "gitlab-ci" and r.environment == environment and r.developer == developer)


def attack_jobs(declaration: Declaration, plan: Plan, deployment: Deployment, role: CIRole) -> dict[str, Job]:
    """Every claims attack the rehearsal fires at the role: the common ones and GitLab's own."""
    legitimate = legitimate_job(declaration, deployment, role, "refs/heads/main")
    jobs = {a.name: a.firing.job for a in login_attacks(plan, declaration, deployment, role, legitimate)
            if not a.firing.claim_changes and a.firing.signature == "issuer"
            and a.expected_layer != "Vault: token_bound_cidrs"}
    jobs["__legitimate__"] = legitimate
    return jobs


def broken_bindings(role: CIRole, claims: dict[str, Any]) -> set[str]:
    """Every binding of ``role`` the claims break (the audience included)."""
    broken = {b.claim for b in role.bound_claims
              if violated_binding(dataclasses.replace(role, bound_claims=(b,)), claims) is not None}
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    return broken | ({AUDIENCE} if not set(audiences) & set(role.bound_audiences) else set())


def role_body(role: CIRole, without: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    audiences = list(role.bound_audiences)
    if AUDIENCE in without:
        audiences.append("https://gitlab.com")
    return {
        "role_type": "jwt", "user_claim": role.user_claim, "bound_audiences": audiences,
        "bound_claims": {b.claim: list(b.values) for b in role.bound_claims if b.claim not in without},
        "bound_claims_type": role.claims_match, "token_policies": ["default"],
    }


Login = RoleLogin


@pytest.fixture
def login_to(login_on: Callable[[str, RoleBody], RoleLogin]) -> Login:
    """Write ``role`` (less the bindings named) into a fresh mount of its issuer, and log in with ``token``."""
    return login_on("gitlab-ci", role_body)


def token(declaration: Declaration, key: IssuerKey, job: Job) -> tuple[str, dict[str, Any]]:
    claims = GitLabCIIdentity().claims(declaration, job, int(time.time()))
    return mint(key, claims), claims


@pytest.mark.parametrize(("environment", "developer", "table"), [("production", None, PRODUCTION),
                                                                 ("dev", "lin", DEV)])
def test_each_attack_breaks_exactly_its_bindings_and_only_they_refuse_it(
    example_declaration: Declaration, example_plan: Plan, issuer_keys: dict[str, IssuerKey], login_to: Login,
    environment: str, developer: str | None, table: dict[str, set[str]],
) -> None:
    deployment, role = gitlab_role(example_plan, environment, developer)
    jobs = attack_jobs(example_declaration, example_plan, deployment, role)
    key = issuer_keys[role.issuer]
    legitimate, claims = token(example_declaration, key, jobs["__legitimate__"])
    assert broken_bindings(role, claims) == set()
    assert login_to(role, set(), legitimate).ok
    for name, expected in table.items():
        attack, claims = token(example_declaration, key, jobs[name])
        assert broken_bindings(role, claims) == expected, name
        refused = login_to(role, set(), attack)
        assert not refused.ok, name
        admitted = login_to(role, expected, attack)
        assert admitted.ok, f"{name}: still refused without {sorted(expected)}: {admitted.reason}"


def test_the_table_covers_every_attack_the_rehearsal_fires_at_production(
    example_declaration: Declaration, example_plan: Plan,
) -> None:
    deployment, role = gitlab_role(example_plan, "production")
    fired = set(attack_jobs(example_declaration, example_plan, deployment, role)) - {"__legitimate__"}
    look_alikes = {name for name in fired if name.startswith("look-alike ref") and name not in PRODUCTION}
    assert fired - look_alikes == set(PRODUCTION)


def test_only_a_development_role_open_to_any_branch_and_address_accepts_attacks_by_design(
    example_declaration: Declaration, example_plan: Plan,
) -> None:
    deployment, role = gitlab_role(example_plan, "dev", "lin")
    legitimate = legitimate_job(example_declaration, deployment, role, "refs/heads/main")
    sam = (example_declaration.developer("sam"),)
    target = AttackTarget(example_plan, example_declaration, deployment, role, legitimate, (), sam)
    accepted = {a.name for a in attacks(target) if a.accepted_when_unbound}
    assert accepted == ACCEPTED_IN_DEV
    production_deployment, production = gitlab_role(example_plan, "production")
    target = AttackTarget(example_plan, example_declaration, production_deployment, production,
                          legitimate_job(example_declaration, production_deployment, production, "refs/heads/main"),
                          (), ())
    assert {a.name for a in attacks(target) if a.accepted_when_unbound} == set(), \
        "production binds every claim GitLab's attacks change: no excuse applies"


def test_a_fork_merge_request_looks_like_main_of_the_parent_but_for_the_bindings_that_stop_it(
    example_declaration: Declaration, example_plan: Plan, issuer_keys: dict[str, IssuerKey],
) -> None:
    """The research's warning, as a token: ci_config_ref_uri and ref alone would admit a fork's branch main."""
    deployment, role = gitlab_role(example_plan, "production")
    jobs = attack_jobs(example_declaration, example_plan, deployment, role)
    key = issuer_keys[role.issuer]
    _, legitimate = token(example_declaration, key, jobs["__legitimate__"])
    name = next(n for n in PRODUCTION if "18.2.2+" in n)
    _, fork = token(example_declaration, key, jobs[name])
    same = {c for c in ("ref", "ref_type", "ref_path", "ci_config_ref_uri", "environment", "environment_protected",
                        "environment_action", "job_project_id") if fork[c] == legitimate[c]}
    assert same == {"ref", "ref_type", "ref_path", "ci_config_ref_uri", "environment", "environment_protected",
                    "environment_action", "job_project_id"}
    assert fork["project_id"] != legitimate["project_id"] and fork["ref_protected"] == "false"


def test_a_job_lin_retries_or_plays_in_sams_pipeline_carries_lins_user_claims_so_no_binding_refuses_it(
    example_declaration: Declaration, example_plan: Plan, issuer_keys: dict[str, IssuerKey], login_to: Login,
) -> None:
    """What per-developer roles cannot close on GitLab, as a token: user_id names who executes the job, and the
    retried (or played) job of sam's pipeline differs from lin's own push in nothing any role could bind."""
    deployment, role = gitlab_role(example_plan, "dev", "lin")
    jobs = attack_jobs(example_declaration, example_plan, deployment, role)
    key = issuer_keys[role.issuer]
    _, own = token(example_declaration, key, jobs["__legitimate__"].but(ref="refs/heads/lin/feature"))
    retried, claims = token(example_declaration, key, jobs[RUN_BY_LIN])
    lin = example_declaration.developer("lin").ci["gitlab_ci"].user_id
    assert (claims["user_id"], claims["user_login"]) == (str(lin), "lin")
    assert {c for c in claims if claims[c] != own[c]} <= {"sub", "ref", "ref_path", "sha", "pipeline_id", "job_id",
                                                          "jti", "ci_config_ref_uri", "ci_config_sha"}
    assert claims["pipeline_source"] == "push" and claims["ref"] == "sam/feature"
    assert broken_bindings(role, claims) == set()
    assert login_to(role, set(), retried).ok, "Vault admits it: the rehearsal must call it an accepted risk"
