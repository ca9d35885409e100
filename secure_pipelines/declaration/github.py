"""What GitHub (the VCS host) can enforce on which plan and visibility: pure functions."""

from __future__ import annotations

from .model import Declaration, GitHubPlan, Repository, Visibility


def github_plan(declaration: Declaration, repository: Repository) -> GitHubPlan:
    """The repository's GitHub plan: its own override, else the organisation's."""
    return repository.github_plan or declaration.organization.github.plan


def protection_enforceable(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Branch protection and rulesets: public repositories on any plan, private ones on paid plans."""
    return visibility is Visibility.PUBLIC or plan is not GitHubPlan.FREE


def environments_available(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Deployment environments: public repositories on any plan, private ones on paid plans."""
    return visibility is Visibility.PUBLIC or plan is not GitHubPlan.FREE


def reviewers_enforceable(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Environment required reviewers: public repositories, or any repository on Enterprise."""
    return visibility is Visibility.PUBLIC or plan is GitHubPlan.ENTERPRISE
