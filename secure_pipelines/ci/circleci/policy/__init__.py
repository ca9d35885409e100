"""CircleCI's config policies as one package.

``model`` (the declaration section and plan data) and ``decision`` (CircleCI's decision semantics)
are exported here; they are what the rest of the CircleCI folder builds on. The modules above them
are imported by path: ``bundle`` (the Rego files), ``evaluate`` (regopy, and CircleCI's policy
tests), ``sentences`` (what each rule says), ``cases`` (honest and tampered configs), ``tests_file``
(the ``*_test.yaml`` writer) and ``for_plan`` (each of these for a plan in one call).
"""

from .decision import Decision, DecisionStatus, Violation, decide
from .model import (
    ConfigPolicyPlan,
    ConfigPolicyRules,
    ConfigPolicySettings,
    PolicyProject,
    ReservedRunnerClass,
    RuleMode,
)

__all__ = [
    "ConfigPolicyPlan",
    "ConfigPolicyRules",
    "ConfigPolicySettings",
    "Decision",
    "DecisionStatus",
    "PolicyProject",
    "ReservedRunnerClass",
    "RuleMode",
    "Violation",
    "decide",
]
