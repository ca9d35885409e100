"""Per-developer GitHub Actions roles admit their developer's pushes only. The role binds ``actor_id``, the account
that started the run; a review, a comment, a label, a dispatch or a check starts a run on code someone else wrote.
Each such run with the role's developer as the actor breaks ``event_name`` and nothing else, and a real OpenBao
refuses it for that binding alone, while the developer's own pushes still log in."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from secure_pipelines.ci.base import Job
from secure_pipelines.ci.github_actions.attacks import FOREIGN_CODE_EVENTS
from secure_pipelines.ci.github_actions.identity import GitHubActionsIdentity
from secure_pipelines.declaration import Declaration
from secure_pipelines.plan import CIRole, Deployment, Plan
from secure_pipelines.rehearse.attacks import login_attacks
from secure_pipelines.rehearse.flows import ANY_BRANCH_SAMPLE, legitimate_job
from secure_pipelines.rehearse.keys import IssuerKey
from secure_pipelines.rehearse.tokens import mint

from .conftest import RoleBody, RoleLogin
from .test_gitlab_ci import broken_bindings, role_body


def developer_role(plan: Plan, developer: str) -> tuple[Deployment, CIRole]:
    return next((d, r) for d in plan.environment("dev").deployments for r in d.roles
                if r.ci == "github-actions" and r.developer == developer)


def foreign_code_jobs(declaration: Declaration, plan: Plan, deployment: Deployment, role: CIRole) -> dict[str, Job]:
    """The runs the rehearsal fires at ``role`` whose actor is its developer but whose code is another's."""
    legitimate = legitimate_job(declaration, deployment, role, "refs/heads/main")
    return {a.name: a.firing.job for a in login_attacks(plan, declaration, deployment, role, legitimate)
            if " event (" in a.name}


def token(declaration: Declaration, key: IssuerKey, job: Job) -> tuple[str, dict[str, Any]]:
    claims = GitHubActionsIdentity().claims(declaration, job, int(time.time()))
    return mint(key, claims), claims


Login = RoleLogin


@pytest.fixture
def login_to(login_on: Callable[[str, RoleBody], RoleLogin]) -> Login:
    """Write ``role`` (less the bindings named) into a fresh mount of GitHub's issuer, and log in with ``token``."""
    return login_on("github-actions", role_body)


def test_a_developer_role_binds_its_developer_and_a_push_only(example_declaration: Declaration,
                                                              example_plan: Plan) -> None:
    for name in ("lin", "sam"):
        _, role = developer_role(example_plan, name)
        user = example_declaration.developer(name).ci["github_actions"].user_id
        assert role.claims["actor_id"] == (str(user),) and role.claims["event_name"] == ("push",)
        assert role.developer_jobs == f"runs started by {name}'s pushes"


def test_every_run_of_anothers_code_with_the_developer_as_actor_is_refused_by_the_event_alone(
    example_declaration: Declaration, example_plan: Plan, issuer_keys: dict[str, IssuerKey], login_to: Login,
) -> None:
    deployment, role = developer_role(example_plan, "sam")
    key = issuer_keys[role.issuer]
    jobs = foreign_code_jobs(example_declaration, example_plan, deployment, role)
    assert sorted(job.trait("event-name") for job in jobs.values()) == sorted(e for e, *_ in FOREIGN_CODE_EVENTS)
    for ref in ("refs/heads/main", ANY_BRANCH_SAMPLE):
        own, claims = token(example_declaration, key, legitimate_job(example_declaration, deployment, role, ref))
        assert (claims["event_name"], broken_bindings(role, claims)) == ("push", set())
        assert login_to(role, set(), own).ok, f"sam's own push of {ref} is refused"
    for name, job in jobs.items():
        attack, claims = token(example_declaration, key, job)
        assert claims["actor_id"] == str(example_declaration.developer("sam").ci["github_actions"].user_id), name
        assert broken_bindings(role, claims) == {"event_name"}, name
        assert not login_to(role, set(), attack).ok, name
        admitted = login_to(role, {"event_name"}, attack)
        assert admitted.ok, f"{name}: still refused without event_name: {admitted.reason}"


def test_a_review_of_lins_pull_request_is_the_walk_this_closes(
    example_declaration: Declaration, example_plan: Plan, issuer_keys: dict[str, IssuerKey],
) -> None:
    """Sam reviews lin's pull request, whose workflow lin changed to run on reviews: the run's ref is the pull
    request's merge ref (lin's code), its actor sam."""
    deployment, role = developer_role(example_plan, "sam")
    jobs = foreign_code_jobs(example_declaration, example_plan, deployment, role)
    (review,) = [job for job in jobs.values() if job.trait("event-name") == "pull_request_review"]
    _, claims = token(example_declaration, issuer_keys[role.issuer], review)
    assert (claims["event_name"], claims["ref"], claims["actor"]) == ("pull_request_review", "refs/pull/7/merge", "sam")
    assert claims["sub"] == "repo:acme/api:environment:dev"
