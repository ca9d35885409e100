"""``GitHubEnvironments``: one environment's GitHub deployment environments (for repositories
whose CI system deploys through them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from ..plan import GitHubEnvironment
from ._component import Component, child_options


def _reviewers_skipped_message(environment: GitHubEnvironment) -> str:
    return (
        f"required reviewers for {environment.repository} environment {environment.environment} skipped: "
        "GitHub does not enforce environment reviewers for this repository's plan and visibility "
        "(private repositories need GitHub Enterprise); deployments there need no approval"
    )


def _unavailable_message(environment: GitHubEnvironment) -> str:
    return (
        f"GitHub environment {environment.environment} of {environment.repository} skipped: GitHub offers no "
        "deployment environments to this repository's plan and visibility (private repositories need a paid "
        "plan); its deploy jobs are bound by the Vault role alone"
    )


def _reviewers(environment: GitHubEnvironment) -> list[github.RepositoryEnvironmentReviewerArgs] | None:
    if not (environment.reviewer_users or environment.reviewer_teams):
        return None
    return [github.RepositoryEnvironmentReviewerArgs(
        users=list(environment.reviewer_users) or None,
        teams=list(environment.reviewer_teams) or None,
    )]


@dataclass(frozen=True)
class GitHubEnvironmentsArgs:
    """Arguments of :class:`GitHubEnvironments`."""

    environments: Sequence[GitHubEnvironment]
    """The plan's GitHub environments of one environment (``EnvironmentPlan.github_environments``)."""


class GitHubEnvironments(Component):
    """Deployment environments: reviewers, no self-review, and only the plan's branches may deploy."""

    environments: dict[str, github.RepositoryEnvironment]
    """Each GitHub environment, keyed by ``<repository>-<environment>``."""
    branch_policies: dict[str, github.RepositoryEnvironmentDeploymentPolicy]
    """Each deployment branch policy, keyed by ``<repository>-<environment>-<branch>``."""

    def __init__(self, name: str, args: GitHubEnvironmentsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("GitHubEnvironments", name, opts)
        self.environments = {}
        self.branch_policies = {}
        for environment in args.environments:
            if not environment.available:
                pulumi.log.warn(_unavailable_message(environment), resource=self)
                continue
            created = self._new_environment(environment)
            self.environments[environment.resource_name] = created
            for branch in environment.deployment_branches or ():
                key = f"{environment.resource_name}-{branch}"
                self.branch_policies[key] = github.RepositoryEnvironmentDeploymentPolicy(
                    key,
                    repository=environment.repository,
                    environment=created.environment,
                    branch_pattern=branch,
                    opts=child_options(self, github.RepositoryEnvironmentDeploymentPolicy, key),
                )
        self.register_outputs({"environments": list(self.environments)})

    def _new_environment(self, environment: GitHubEnvironment) -> github.RepositoryEnvironment:
        reviewers = _reviewers(environment)
        prevent_self_review: bool | None = environment.prevent_self_review
        if reviewers and not environment.reviewers_enforceable:
            # GitHub refuses the whole environment if asked for what the plan cannot have.
            pulumi.log.warn(_reviewers_skipped_message(environment), resource=self)
            reviewers, prevent_self_review = None, None
        branch_policy = (
            github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True,
            )
            if environment.deployment_branches is not None else None
        )
        return github.RepositoryEnvironment(
            environment.resource_name,
            repository=environment.repository,
            environment=environment.environment,
            reviewers=reviewers,
            prevent_self_review=prevent_self_review,
            can_admins_bypass=environment.can_admins_bypass,
            deployment_branch_policy=branch_policy,
            opts=child_options(self, github.RepositoryEnvironment, environment.resource_name),
        )
