"""``DefaultBranchProtection``: reviewed code only, per repository or with one organisation ruleset."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from ..plan import BranchProtection, OrganizationRuleset
from ._component import Component, child_options


def _unenforced_message(protection: BranchProtection) -> str:
    reason = protection.unenforced_reason or "GitHub cannot enforce it for this repository"
    return (
        f"branch protection for {protection.repository}@{protection.branch} skipped: {reason}; "
        "merges to it are not forced through review (upgrade the plan or make the repository public)"
    )


def _pull_request_reviews(protection: BranchProtection) -> github.BranchProtectionRequiredPullRequestReviewArgs:
    return github.BranchProtectionRequiredPullRequestReviewArgs(
        required_approving_review_count=protection.required_approvals,
        require_code_owner_reviews=protection.require_code_owner_reviews,
        require_last_push_approval=protection.require_last_push_approval,
        dismiss_stale_reviews=protection.dismiss_stale_reviews,
    )


def _ruleset_rules(ruleset: OrganizationRuleset) -> github.OrganizationRulesetRulesArgs:
    checks = (
        github.OrganizationRulesetRulesRequiredStatusChecksArgs(
            required_checks=[
                github.OrganizationRulesetRulesRequiredStatusChecksRequiredCheckArgs(context=check)
                for check in ruleset.required_status_checks
            ],
            strict_required_status_checks_policy=True,
        )
        if ruleset.required_status_checks else None
    )
    return github.OrganizationRulesetRulesArgs(
        deletion=True,
        non_fast_forward=True,
        pull_request=github.OrganizationRulesetRulesPullRequestArgs(
            required_approving_review_count=ruleset.required_approvals,
            require_code_owner_review=ruleset.require_code_owner_reviews,
            dismiss_stale_reviews_on_push=ruleset.dismiss_stale_reviews,
            require_last_push_approval=ruleset.require_last_push_approval,
            required_review_thread_resolution=ruleset.require_conversation_resolution,
        ),
        required_status_checks=checks,
    )


@dataclass(frozen=True)
class DefaultBranchProtectionArgs:
    """Arguments of :class:`DefaultBranchProtection`."""

    protections: Sequence[BranchProtection]
    """The plan's per-repository protections (``Plan.branch_protections``); empty with a ruleset."""
    ruleset: OrganizationRuleset | None = None
    """The plan's organisation ruleset (``Plan.organization_ruleset``), when the plan uses one."""


class DefaultBranchProtection(Component):
    """Every default branch takes changes only through reviewed pull requests, admins included."""

    protections: dict[str, github.BranchProtection]
    """Classic protection per repository name (repositories GitHub cannot protect are absent)."""
    ruleset: github.OrganizationRuleset | None
    """The organisation ruleset, when the plan uses one."""
    skipped: list[str]
    """Repositories whose protection was skipped because GitHub cannot enforce it there."""

    def __init__(
        self, name: str, args: DefaultBranchProtectionArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("DefaultBranchProtection", name, opts)
        self.protections = {}
        self.skipped = []
        for protection in args.protections:
            if not protection.enforceable:
                pulumi.log.warn(_unenforced_message(protection), resource=self)
                self.skipped.append(protection.repository)
                continue
            self.protections[protection.repository] = self._new_protection(protection)
        self.ruleset = self._new_ruleset(args.ruleset) if args.ruleset else None
        self.register_outputs({"protected": list(self.protections), "skipped": self.skipped})

    def _new_protection(self, protection: BranchProtection) -> github.BranchProtection:
        checks = (
            [github.BranchProtectionRequiredStatusCheckArgs(
                contexts=list(protection.required_status_checks), strict=True,
            )]
            if protection.required_status_checks else None
        )
        return github.BranchProtection(
            protection.resource_name,
            # The provider takes a repository name or GraphQL node id, not the numeric id.
            repository_id=protection.repository,
            pattern=protection.branch,
            enforce_admins=protection.enforce_admins,
            allows_force_pushes=protection.allows_force_pushes,
            allows_deletions=protection.allows_deletions,
            require_conversation_resolution=protection.require_conversation_resolution,
            required_pull_request_reviews=[_pull_request_reviews(protection)],
            required_status_checks=checks,
            opts=child_options(self, github.BranchProtection, protection.resource_name),
        )

    def _new_ruleset(self, ruleset: OrganizationRuleset) -> github.OrganizationRuleset:
        bypass = [
            github.OrganizationRulesetBypassActorArgs(actor_id=team, actor_type="Team", bypass_mode="always")
            for team in ruleset.bypass_team_ids
        ]
        return github.OrganizationRuleset(
            ruleset.resource_name,
            name=ruleset.name,
            target="branch",
            enforcement="active",
            conditions=github.OrganizationRulesetConditionsArgs(
                ref_name=github.OrganizationRulesetConditionsRefNameArgs(
                    includes=list(ruleset.branches), excludes=[],
                ),
                repository_ids=list(ruleset.repository_ids),
            ),
            rules=_ruleset_rules(ruleset),
            bypass_actors=bypass or None,
            opts=child_options(self, github.OrganizationRuleset, ruleset.resource_name),
        )
