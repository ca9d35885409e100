"""How the config policy's settings changed between two declarations, for reviewers: a rule switched
to soft, an orb approved or a banned version lifted widens what pipelines may do."""

from __future__ import annotations

from collections.abc import Iterator

from ....changes import NARROWING, WIDENING, AccessChange, compare_sets
from ..plan import CircleCIPlan
from .model import ConfigPolicyPlan, RuleMode

SUBJECT = "CircleCI config policy"


def policy_changes(old: ConfigPolicyPlan | None, new: ConfigPolicyPlan | None) -> Iterator[AccessChange]:
    if old is None or new is None:
        if new is not None:
            yield AccessChange("config-policy.added", NARROWING, SUBJECT, "rules", "-", ", ".join(new.enabled_rules),
                               "CircleCI pipelines are now checked by the config policy")
        if old is not None:
            yield AccessChange("config-policy.removed", WIDENING, SUBJECT, "rules", ", ".join(old.enabled_rules), "-",
                               "no CircleCI pipeline is checked by the config policy any more")
        return
    before, after = dict(old.rule_modes), dict(new.rule_modes)
    for rule in sorted(set(before) | set(after)):
        was, now = before.get(rule), after.get(rule)
        if was == now:
            continue
        weaker = now is None or (was is RuleMode.HARD and now is RuleMode.SOFT)
        yield AccessChange(
            "config-policy.rule-weakened" if weaker else "config-policy.rule-strengthened",
            WIDENING if weaker else NARROWING, SUBJECT, f"rules.{rule}", str(was or "-"), str(now or "-"),
            f"{SUBJECT}: {rule} is {'only a warning (soft)' if now is RuleMode.SOFT else now or 'off'} "
            f"where it was {was or 'off'}")
    yield from compare_sets(SUBJECT, "approved_orbs", old.approved_orbs, new.approved_orbs, more_is=WIDENING,
                            what="config-policy.orbs")
    yield from compare_sets(SUBJECT, "banned_orb_versions", old.banned_orb_versions, new.banned_orb_versions,
                            more_is=NARROWING, what="config-policy.banned-orb-versions")
    yield from compare_sets(SUBJECT, "production runner classes", old.production_resource_classes,
                            new.production_resource_classes, more_is=WIDENING, what="config-policy.production-runners")


def gate_changes(old: CircleCIPlan | None, new: CircleCIPlan | None) -> Iterator[AccessChange]:
    """Per environment kept: the approval hold and the context's security group, each a gate in front of the
    deploy jobs (dropping or changing one lets others through; a moved runner is the core diff's)."""
    if old is None or new is None:
        return
    before = {e.environment: e for e in old.environments}
    for now in new.environments:
        was = before.get(now.environment)
        if was is None:
            continue
        subject = f"CircleCI deploys to {now.environment}"
        if was.approval_hold and not now.approval_hold:
            yield AccessChange("circleci.approval-hold-removed", WIDENING, subject, "approval_hold", "true", "false",
                               f"{subject}: no approval job holds them any more")
        elif now.approval_hold and not was.approval_hold:
            yield AccessChange("circleci.approval-hold-added", NARROWING, subject, "approval_hold", "false", "true",
                               f"{subject}: an approval job now holds them")
        group_was = was.context.security_group if was.context else None
        group_now = now.context.security_group if now.context else None
        if group_was != group_now:
            yield AccessChange("circleci.security-group", NARROWING if group_was is None else WIDENING, subject,
                               "security_group", group_was or "-", group_now or "-",
                               f"{subject}: " + (f"members of {group_now} now release them"
                                                 if group_now else "no security group restricts their context"))
