"""Attacks only GitHub Actions' jobs can make, each one change away from a legitimate deploy.

Each is judged by the role's bound claims: GitHub's default audience for every role; for test, staging and
production, the events, workflows and runners a job on a deploying branch could still come from; per
developer, the events whose ``actor`` (the account that started the run, which the role binds) is not who
wrote the code that runs.
"""

from __future__ import annotations

from ...declaration.model import REVIEWED_TIERS
from ..base import AttackTarget, Job, JobAttack
from .claims import AUDIENCE_TRAIT, CALLED_WORKFLOW_TRAIT, EVENT_TRAIT, RUNNER_TRAIT, WORKFLOW_FILE_TRAIT
from .identity import github_default_audience
from .workflow import GITHUB_HOSTED, deploy_events, on_self_hosted_runners

UNTRUSTED_EVENTS = ("pull_request_target", "workflow_dispatch", "issue_comment")
"""Events that run on the default branch, in the deployment environment, without a reviewed push."""
THIRD_PARTY_WORKFLOW = "attacker-org/ci-tools/.github/workflows/deploy.yml@refs/heads/main"

PULL_REQUEST_MERGE_REF = "refs/pull/7/merge"
PULL_REQUEST = "pull request"
"""The run's ``ref`` is the pull request's merge ref: the workflow and code are the pull request's."""
AUTHOR_BRANCH = "author's branch"
"""The run's ``ref`` is a branch the code's author pushed: the workflow and code are theirs."""
DEFAULT_BRANCH = "default branch"
"""The run's ``ref`` is the default branch: the workflow and code are whatever was merged there."""
FOREIGN_CODE_EVENTS = (
    ("pull_request", PULL_REQUEST, "{actor} reopens, labels or updates {author}'s pull request",
     "{author}'s pull request"),
    ("pull_request_review", PULL_REQUEST, "{actor} reviews {author}'s pull request", "{author}'s pull request"),
    ("pull_request_review_comment", PULL_REQUEST, "{actor} comments on the diff of {author}'s pull request",
     "{author}'s pull request"),
    ("pull_request_target", AUTHOR_BRANCH, "{actor} labels a pull request into {author}'s branch",
     "{author}'s branch"),
    ("workflow_dispatch", AUTHOR_BRANCH, "{actor} runs a workflow by hand on {author}'s branch", "{author}'s branch"),
    ("create", AUTHOR_BRANCH, "{actor} creates a branch at {author}'s commit", "{author}'s commit"),
    ("issue_comment", DEFAULT_BRANCH, "{actor} comments on an issue or a pull request", "the default branch"),
    ("workflow_run", DEFAULT_BRANCH, "after a run of another workflow", "the default branch"),
    ("check_run", DEFAULT_BRANCH, "{actor} re-requests a check", "the default branch"),
)
"""``(event_name, whose ref, how, whose code)``: runs a person starts (so ``actor`` may name them) on code someone
else wrote. A per-developer role admits a push only (``DEVELOPER_DEPLOY_EVENTS``); GitHub's documentation gives
each event's ``GITHUB_REF`` (Events that trigger workflows)."""


def attacks(target: AttackTarget) -> list[JobAttack]:
    """GitHub's attack matrix for one role (the core fires the common ones)."""
    legitimate = target.legitimate
    found = [JobAttack("GitHub's default audience (a token nobody asked an audience for)",
                       legitimate.with_trait(AUDIENCE_TRAIT, github_default_audience(target.declaration)))]
    if target.role.developer is not None:
        found.extend(foreign_code_attacks(target))
    if target.role.tier not in REVIEWED_TIERS:
        return found
    for event in UNTRUSTED_EVENTS:
        if event not in deploy_events(target.declaration):
            found.append(JobAttack(f"{event} event on {legitimate.ref} in environment {target.role.environment}",
                                   legitimate.with_trait(EVENT_TRAIT, event)))
    found.append(JobAttack("another workflow file of the repository (.github/workflows/other.yml)",
                           legitimate.with_trait(WORKFLOW_FILE_TRAIT, "other.yml")))
    found.append(JobAttack(f"a third-party reusable workflow ({THIRD_PARTY_WORKFLOW})",
                           legitimate.with_trait(CALLED_WORKFLOW_TRAIT, THIRD_PARTY_WORKFLOW)))
    environment = target.declaration.environment(target.role.environment)
    if on_self_hosted_runners(environment):
        found.append(JobAttack("a GitHub-hosted runner", legitimate.with_trait(RUNNER_TRAIT, GITHUB_HOSTED)))
    return found


def foreign_code_attacks(target: AttackTarget) -> list[JobAttack]:
    """Runs the role's developer starts on another developer's code: the token's ``actor_id`` is the role's
    own, only ``event_name`` tells them from the developer's push."""
    legitimate = target.legitimate
    actor = target.role.developer
    author = target.intruders[0].name if target.intruders else "another developer"
    author_branch = f"refs/heads/{target.intruders[0].name if target.intruders else 'colleague'}/feature"
    found: list[JobAttack] = []
    for event, whose, how, code in FOREIGN_CODE_EVENTS:
        job = _run_on(legitimate, whose, author_branch).with_trait(EVENT_TRAIT, event)
        found.append(JobAttack(f"{event} event ({how.format(actor=actor, author=author)}): "
                               f"{code.format(author=author)} runs with {actor} as the actor ({job.ref})", job))
    return found


def _run_on(legitimate: Job, whose: str, author_branch: str) -> Job:
    if whose == PULL_REQUEST:
        return legitimate.but(event="pull_request", ref=PULL_REQUEST_MERGE_REF)
    if whose == AUTHOR_BRANCH:
        return legitimate.but(ref=author_branch)
    return legitimate.but(ref=f"refs/heads/{legitimate.repository.default_branch}")
