"""How the config policy's settings changed between two declarations, for reviewers: a rule switched
to soft, an orb approved or a banned version lifted widens what pipelines may do."""

from __future__ import annotations

from collections.abc import Iterator

from ....changes import NARROWING, WIDENING, AccessChange, compare_sets
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
