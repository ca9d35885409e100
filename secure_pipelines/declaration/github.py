"""What GitHub (the VCS host) can enforce on which plan and visibility, and which repositories it
hosts: pure functions."""

from __future__ import annotations

from ..ci import registry
from .model import GITHUB_HOST, Declaration, GitHubPlan, Repository, Visibility


def vcs_hosts(repository: Repository) -> list[str]:
    """The hosts the repository's CI systems expect it on (one, in a valid declaration)."""
    return list(dict.fromkeys(system.vcs_host for system in registry.of_repository(repository)))


def hosted_on_github(repository: Repository) -> bool:
    """Whether the repository lives on GitHub, so that GitHub's protection applies to it."""
    return GITHUB_HOST in vcs_hosts(repository)


def github_repositories(declaration: Declaration) -> tuple[Repository, ...]:
    """The repositories GitHub hosts, in declaration order."""
    return tuple(r for r in declaration.repositories if hosted_on_github(r))


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
