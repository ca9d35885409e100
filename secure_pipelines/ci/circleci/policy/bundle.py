"""The config policy bundle (OPA Rego, CircleCI's dialect), rendered from the plan's data.

The templates hold the logic and only fill sets from the plan (``secure_pipelines_plan.rego``); one
file per rule, named after it, plus shared helpers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ....plan.model import Plan
from ....render.templating import RenderSource, Templates
from ..plan import circleci_plan

POLICY_DIR = "circleci/policies"
"""Where the bundle and its tests are written, relative to the output directory."""
POLICY_LOGIC = (
    "prod_context_only_on_default_branch",
    "no_ssh_rerun_with_protected_context",
    "orbs_from_allowlist",
    "banned_orb_versions",
    "security_jobs_before_deploy",
    "contexts_reserved_to_projects",
    "production_runner_class",
    "images_from_approved_registries",
    "code_freeze",
    "no_held_deploy_without_approval",
    "no_floating_orb_versions",
    "runner_classes_reserved_to_deploys",
)
"""One Rego file per rule, named after it (the rule names of ``ci.circleci.config_policy.rules``)."""


def rego(value: object) -> str:
    """A Rego literal for a string, boolean or number (JSON literals are valid Rego)."""
    return json.dumps(value)


def rego_set(values: Iterable[str]) -> str:
    items = sorted(set(values))
    return "{" + ", ".join(json.dumps(v) for v in items) + "}" if items else "set()"


TEMPLATES = Templates(__package__ or "secure_pipelines.ci.circleci.policy", {"rego": rego, "rego_set": rego_set})


def circleci_policies(plan: Plan, source: RenderSource) -> dict[str, str]:
    """The Rego bundle, by file name: the plan's data, shared helpers, and one file per rule."""
    policy = circleci_plan(plan).config_policy
    rules = set(policy.enabled_rules)
    unknown = rules - set(POLICY_LOGIC)
    if unknown:
        raise ValueError(f"no policy logic for rules {sorted(unknown)}; add a <rule>.rego.j2 template")
    files = {
        "secure_pipelines_plan.rego": TEMPLATES.render(
            "secure_pipelines_plan.rego.j2", header=source.header(), policy=policy,
        ),
        "secure_pipelines_helpers.rego": TEMPLATES.render("secure_pipelines_helpers.rego.j2", header=source.header()),
    }
    for rule in POLICY_LOGIC:
        files[f"{rule}.rego"] = TEMPLATES.render(f"{rule}.rego.j2", header=source.header())
    return files
