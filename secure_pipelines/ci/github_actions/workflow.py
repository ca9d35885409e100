"""The deploy workflow as Vault knows it: its file, the events it deploys on, the runners it uses.

One place for what the role bindings, the rendered workflow and the rehearsal must agree on: the
workflow file's path (bound as ``workflow_ref`` / ``job_workflow_ref``), the deploy events (bound as
``event_name``: the declared ones for test, staging and production, a push alone per developer) and
whether an environment's deploys run on self-hosted runners (bound as ``runner_environment``). The
plan keeps them (``GitHubActionsPlan``); the render reads them there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import cast

from ...declaration.model import Declaration, Environment
from ...plan.model import Plan
from . import sections

NAME = "github-actions"
DEPLOY_WORKFLOW_PATH = ".github/workflows/deploy.yml"
"""The deploy workflow's file in each repository: the render writes it, roles bind it."""
SELF_HOSTED = "self-hosted"
GITHUB_HOSTED = "github-hosted"
DEVELOPER_DEPLOY_EVENTS = ("push",)
"""The events a per-developer role admits, whatever ``deploy_events`` says. The role binds ``actor_id``, the
account that started the run, and only a push's starter is who put the code there: a review, a comment, a label,
a dispatch or a check started by one developer runs code another wrote (a pull request's, a dispatched branch's).
A re-run keeps the first run's actor."""


def workflow_ref(repository: str, ref: str, path: str = DEPLOY_WORKFLOW_PATH) -> str:
    """``<owner>/<repo>/<path>@<ref>``, as GitHub writes ``workflow_ref`` and ``job_workflow_ref``."""
    return f"{repository}/{path}@{ref}"


def on_self_hosted_runners(environment: Environment) -> bool:
    """Deploys run on self-hosted runners where the allowlist is closed (GitHub's own runners have no
    fixed egress addresses)."""
    return not any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in environment.ip_allowlist)


def deploy_events(declaration: Declaration) -> tuple[str, ...]:
    return sections.organization(declaration).deploy_events


def job_events(deploy_events: tuple[str, ...], per_developer: bool) -> tuple[str, ...]:
    """The events a deploy job runs on, and its role binds: a push alone per developer."""
    return DEVELOPER_DEPLOY_EVENTS if per_developer else deploy_events


@dataclass(frozen=True)
class GitHubActionsPlan:
    """GitHub Actions' part of the plan (kept in ``Plan.extras``)."""

    workflow_path: str
    """The deploy workflow's path in each repository."""
    deploy_events: tuple[str, ...]
    """The events the workflow deploys on (test, staging and production roles bind ``event_name`` to them;
    per-developer roles, ``DEVELOPER_DEPLOY_EVENTS``)."""
    developers: tuple[tuple[str, int], ...] = ()
    """``(developer, GitHub user id)`` of every developer the declaration gives a GitHub identity."""


def build(declaration: Declaration) -> GitHubActionsPlan:
    return GitHubActionsPlan(
        workflow_path=DEPLOY_WORKFLOW_PATH,
        deploy_events=deploy_events(declaration),
        developers=tuple((d.name, user.user_id) for d in declaration.developers
                         if (user := sections.developer(d)) is not None),
    )


def github_actions_plan(plan: Plan) -> GitHubActionsPlan:
    """GitHub Actions' part of ``plan`` (present whenever a repository builds on GitHub Actions)."""
    extra = plan.extra(NAME)
    if extra is None:
        raise KeyError("no repository of this plan builds on GitHub Actions")
    return cast(GitHubActionsPlan, extra)
