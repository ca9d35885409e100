"""CircleCI's config policies as one package: the Rego bundle (``bundle``), its evaluation under
CircleCI's decision semantics (``decision``, ``evaluate``), the sentence each rule says
(``sentences``), honest and tampered configs (``cases``) and the ``*_test.yaml`` writer
(``tests_file``); ``for_plan`` does each for a plan in one call."""

from .bundle import circleci_policies
from .cases import PolicyCase, honest_cases, parse_config, policy_cases, tampered_cases
from .decision import Decision, DecisionStatus, Violation, decide
from .evaluate import PolicyError, PolicyTestResult, evaluate_org, evaluate_policies, run_policy_tests
from .for_plan import evaluate_plan_policies, plan_policies, run_plan_policy_tests
from .model import ConfigPolicyPlan, PolicyProject, RuleMode
from .tests_file import circleci_policy_tests

__all__ = [
    "ConfigPolicyPlan",
    "Decision",
    "DecisionStatus",
    "PolicyCase",
    "PolicyError",
    "PolicyProject",
    "PolicyTestResult",
    "RuleMode",
    "Violation",
    "circleci_policies",
    "circleci_policy_tests",
    "decide",
    "evaluate_org",
    "evaluate_plan_policies",
    "evaluate_policies",
    "honest_cases",
    "parse_config",
    "plan_policies",
    "policy_cases",
    "run_plan_policy_tests",
    "run_policy_tests",
    "tampered_cases",
]
