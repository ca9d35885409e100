"""GitHub Actions' cross-field rules: the audience, the deploy events, public repositories on
self-hosted runners (the core checks its ids and developers' user ids); and its warnings."""

from __future__ import annotations

from collections.abc import Iterator

from ...declaration.model import Declaration, Repository, Visibility
from ...errors import Problem
from . import sections
from .identity import github_default_audience
from .infrastructure import RUNNER_LABEL
from .workflow import on_self_hosted_runners

REFUSED_EVENTS = {
    "pull_request_target": "runs the default branch's workflow for any pull request, a fork's included, with "
                           "ref set to the default branch",
    "workflow_run": "runs after another workflow, whoever started that one, with ref set to the default branch",
    "issue_comment": "anyone who may comment starts it, with ref set to the default branch",
    "schedule": "runs on the default branch with no push behind it",
}
"""Events whose ``ref`` is the default branch although nobody pushed to it."""
FOREIGN_AUDIENCES = ("sigstore", "sts.amazonaws.com", "api://AzureADTokenExchange")
"""Audiences jobs request for other services: a token minted for one of them is handed to a third party."""
PUBLIC_SELF_HOSTED = (
    'GitHub: "self-hosted runners should almost never be used for public repositories on GitHub, because any '
    'user can open pull requests against the repository and compromise the environment"'
)


def builds_on_github_actions(repo: Repository) -> bool:
    return sections.KEY in repo.ci


def problems(d: Declaration) -> list[Problem]:
    if not any(builds_on_github_actions(r) for r in d.repositories):
        return []
    return [*_audience(d), *_deploy_events(d), *_public_self_hosted(d), *_infrastructure_runners(d)]


def _audience(d: Declaration) -> Iterator[Problem]:
    declared = sections.organization(d).audience
    if declared is None:
        return
    if declared.rstrip("/").lower() == github_default_audience(d).lower():
        yield Problem("ci.github_actions.audience", declared,
                      "is GitHub's default audience, which every job's token carries without asking, so any job "
                      "of the organisation could log in; remove it (the default is vault.<organization.name>) or "
                      "name an audience only Vault uses")
    elif declared in FOREIGN_AUDIENCES:
        yield Problem("ci.github_actions.audience", declared,
                      "is another service's audience: tokens requested for it are handed to that service; name an "
                      "audience only Vault uses")


def _deploy_events(d: Declaration) -> Iterator[Problem]:
    settings = sections.organization(d)
    for event in settings.deploy_events:
        where = "ci.github_actions.deploy_events"
        if event == "push":
            continue
        if event == "workflow_dispatch":
            if not settings.overrides.workflow_dispatch_deploys:
                yield Problem(where, event, "lets anyone with write access start a staging or production deploy of "
                                            "the default branch by hand; remove it, or set "
                                            "ci.github_actions.overrides.workflow_dispatch_deploys to the reason")
        elif event in REFUSED_EVENTS:
            yield Problem(where, event, f"{REFUSED_EVENTS[event]}; deploy on push only")
        else:
            yield Problem(where, event, "is not an event whose ref is the pushed branch; deploy on push (and "
                                        "workflow_dispatch, with an override)")


def _infrastructure_runners(d: Declaration) -> Iterator[Problem]:
    """The infrastructure pipeline's runners (they hold every deployer role) run nothing else, and none of a
    public repository's."""
    infrastructure = d.infrastructure
    if infrastructure is None:
        return
    for env in d.environments:
        if env.name == RUNNER_LABEL and any(builds_on_github_actions(r) for r in d.repositories
                                            if r.name in env.repositories):
            yield Problem(f"environments[{env.name}].name", env.name,
                          f"GitHub deploy jobs run on runners labelled [self-hosted, <environment>], and "
                          f"'{RUNNER_LABEL}' labels the infrastructure pipeline's runners, which hold every deployer "
                          "role; name the environment otherwise")
    repo = next((r for r in d.repositories if r.name == infrastructure.repository), None)
    if repo is not None and builds_on_github_actions(repo) and repo.visibility is Visibility.PUBLIC:
        yield Problem(f"repositories[{repo.name}].visibility", str(repo.visibility),
                      f"the infrastructure repository applies every stack on self-hosted runners with the deployer "
                      f"roles. {PUBLIC_SELF_HOSTED}. Make it private or internal")


def _public_self_hosted(d: Declaration) -> Iterator[Problem]:
    for repo in d.repositories:
        if (not builds_on_github_actions(repo) or repo.visibility is not Visibility.PUBLIC
                or repo.overrides.self_hosted_runners_on_public_repository):
            continue
        closed = [e.name for e in d.environments if repo.name in e.repositories and on_self_hosted_runners(e)]
        if closed:
            yield Problem(f"repositories[{repo.name}].overrides.self_hosted_runners_on_public_repository", None,
                          f"this public repository deploys to {', '.join(closed)} through self-hosted runners. "
                          f"{PUBLIC_SELF_HOSTED}. Deploy from a private repository, or set this override to the reason "
                          "you accept it (e.g. ephemeral runners in a group restricted to this repository's deploy "
                          "workflow, and approval of outside contributors' runs)")


def warnings(d: Declaration) -> list[Problem]:
    if not any(builds_on_github_actions(r) for r in d.repositories):
        return []
    found: list[Problem] = []
    reason = sections.organization(d).overrides.workflow_dispatch_deploys
    if reason and "workflow_dispatch" in sections.organization(d).deploy_events:
        found.append(Problem("ci.github_actions.overrides.workflow_dispatch_deploys", reason,
                             "anyone with write access can start a staging or production deploy by hand"))
    for repo in d.repositories:
        reason = repo.overrides.self_hosted_runners_on_public_repository
        if reason and builds_on_github_actions(repo):
            found.append(Problem(f"repositories[{repo.name}].overrides.self_hosted_runners_on_public_repository",
                                 reason, "a pull request from anyone may reach this repository's self-hosted runners"))
    return found
