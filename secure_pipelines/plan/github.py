"""The VCS host's side of the plan: default-branch protection (per repository or one organisation
ruleset) of the repositories GitHub hosts, and the deployment environments of systems that deploy
through them. Repositories on another host get nothing here: their CI system says what that host
must enforce."""

from __future__ import annotations

from dataclasses import replace

from ..declaration.github import (
    environments_available,
    github_plan,
    github_repositories,
    protection_enforceable,
    reviewers_enforceable,
)
from ..declaration.model import PROTECTED_TIERS, Declaration, Environment, ProtectionMode, Repository
from .model import BranchProtection, GitHubEnvironment, OrganizationRuleset


def branch_protections(declaration: Declaration) -> tuple[BranchProtection, ...]:
    if declaration.organization.github.protection is not ProtectionMode.PER_REPOSITORY:
        return ()
    return tuple(_branch_protection(declaration, r) for r in github_repositories(declaration))


def _github_id(repo: Repository) -> int:
    assert repo.github_id is not None, "checked by validation: a repository GitHub hosts has its id"
    return repo.github_id


def _branch_protection(declaration: Declaration, repo: Repository) -> BranchProtection:
    plan = github_plan(declaration, repo)
    enforceable = protection_enforceable(plan, repo.visibility)
    return BranchProtection(
        repository=repo.name,
        repository_id=_github_id(repo),
        branch=repo.default_branch,
        required_approvals=repo.required_approvals,
        require_code_owner_reviews=repo.code_owner_review,
        require_last_push_approval=True,
        dismiss_stale_reviews=True,
        required_status_checks=repo.required_status_checks,
        require_conversation_resolution=True,
        enforce_admins=True,
        allows_force_pushes=False,
        allows_deletions=False,
        enforceable=enforceable,
        unenforced_reason=None if enforceable else (
            f"{repo.visibility} repository on the {plan} plan: GitHub does not enforce branch protection there"
        ),
    )


DEFAULT_BRANCH_REF = "~DEFAULT_BRANCH"
"""A ruleset's name for each repository's default branch on GitHub."""


def organization_ruleset(declaration: Declaration) -> OrganizationRuleset | None:
    github = declaration.organization.github
    repos = github_repositories(declaration)
    if github.protection is not ProtectionMode.ORGANIZATION_RULESET or not repos:
        return None
    return OrganizationRuleset(
        name=f"{declaration.organization.name}-default-branch",
        repository_ids=tuple(_github_id(r) for r in repos),
        branches=(DEFAULT_BRANCH_REF, *sorted({f"refs/heads/{r.default_branch}" for r in repos})),
        # One ruleset for all: the strictest declared setting applies to every repository.
        required_approvals=max(r.required_approvals for r in repos),
        require_code_owner_reviews=any(r.code_owner_review for r in repos),
        required_status_checks=tuple(sorted({c for r in repos for c in r.required_status_checks})),
        bypass_team_ids=github.ruleset_bypass_team_ids,
        require_last_push_approval=True,
        dismiss_stale_reviews=True,
        require_conversation_resolution=True,
    )


def github_environment(declaration: Declaration, env: Environment, repo: Repository) -> GitHubEnvironment:
    """The deployment environment ``repo`` deploys to ``env`` through."""
    plan = github_plan(declaration, repo)
    branches = declaration.deploy_branches(env, repo)
    return GitHubEnvironment(
        repository=repo.name,
        repository_id=_github_id(repo),
        environment=env.name,
        tier=env.tier,
        reviewer_users=env.reviewers.users,
        reviewer_teams=env.reviewers.teams,
        reviewers_enforceable=reviewers_enforceable(plan, repo.visibility),
        available=environments_available(plan, repo.visibility),
        prevent_self_review=True,
        can_admins_bypass=env.tier not in PROTECTED_TIERS,  # declared reviewers bind admins too where it matters
        deployment_branches=None if "*" in branches else branches,
    )


def infrastructure_environment(declaration: Declaration, env: Environment, repo: Repository) -> GitHubEnvironment:
    """The deployment environment the infrastructure pipeline applies ``env``'s stack in: the default branch
    only, the environment's reviewers, and no admin bypass (its job holds the stack's deployer role)."""
    return replace(github_environment(declaration, env, repo), deployment_branches=(repo.default_branch,),
                   can_admins_bypass=False)
