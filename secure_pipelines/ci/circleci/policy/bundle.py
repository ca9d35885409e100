"""The config policy bundle (OPA Rego, CircleCI's dialect), rendered from the plan's data.

The templates hold the logic and only fill sets from the plan (``secure_pipelines_plan.rego``); one
file per rule, named after it, plus shared helpers (``secure_pipelines_helpers``; ``secure_pipelines_gates``:
whether a required job surely runs wherever a deploy does; ``secure_pipelines_job_groups``: a job group's jobs
read as jobs of the workflows that invoke it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ....plan.model import Plan
from ....render.templating import RenderSource, Templates
from ..plan import circleci_plan
from .model import ConfigPolicyPlan

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
    "job_groups_as_documented",
)
"""One Rego file per rule, named after it (the rule names of ``ci.circleci.config_policy.rules``)."""


def rego(value: object) -> str:
    """A Rego literal for a string, boolean or number (JSON literals are valid Rego)."""
    return json.dumps(value)


def rego_set(values: Iterable[str]) -> str:
    items = sorted(set(values))
    return "{" + ", ".join(json.dumps(v) for v in items) + "}" if items else "set()"


def row_table(rows: Iterable[tuple[str, Mapping[str, object]]]) -> str:
    """A Rego expression for a table that grows with the organisation: one string, a row a line (the key,
    a tab, the row as JSON), read one row at a time by the helpers' ``table_row`` (``split`` and
    ``json.unmarshal``: OPA built-ins CircleCI's policy agent allows).

    One string rather than a Rego object literal because the rehearsal's evaluator (rego-cpp) compiles a
    literal in time that grows with it, and parses a JSON document in time that grows with it, at every
    evaluation: half a second for a Rego literal of a thousand projects, a tenth for the same rows as one
    JSON object, next to nothing when only the evaluated project's row is parsed. Keys are printable ASCII
    (ids and names; rego-cpp's ``split`` does not match a pattern written with ``\\u`` escapes against the
    same text written as it is), keys and values hold no control character and no backslash (the
    declaration's names never do), so the JSON has no escape
    but ``\\"``, a tab or newline in the text is a separator, and a key's row is the text between a newline,
    the key and a tab and the next newline, exactly (rego-cpp's ``split`` would also find ``\\n`` inside an
    escape). Non-ASCII text is written as it is (rego-cpp's ``json.unmarshal`` does not read ``\\u``
    escapes), a backtick (which a raw string cannot hold) joined back in with ``concat``."""
    lines: dict[str, str] = {}
    for key, row in rows:
        if key in lines:
            raise ValueError(f"two rows of a policy table have the key {key!r}")
        if not key or not (key.isascii() and key.isprintable()) or "\\" in key:
            raise ValueError(f"a policy table's key must be printable ASCII without a backslash: {key!r}")
        _refuse_escaped_text(key, row)
        lines[key] = f"{key}\t{json.dumps(row, ensure_ascii=False)}\n"
    pieces = ("\n" + "".join(lines.values())).split("`")
    if len(pieces) == 1:
        return f"`{pieces[0]}`"
    return 'concat("`", [' + ", ".join(f"`{piece}`" for piece in pieces) + "])"


def _refuse_escaped_text(key: str, value: object) -> None:
    """Refuse text JSON would write with an escape other than ``\\"`` (a control character or a backslash)."""
    if isinstance(value, str):
        if "\\" in value or any(ord(c) < 0x20 or c == "\x7f" for c in value):
            raise ValueError(f"row {key!r} of a policy table holds a control character or a backslash: {value!r}")
    elif isinstance(value, Mapping):
        for item in (*value.keys(), *value.values()):
            _refuse_escaped_text(key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_escaped_text(key, item)


def projects_table(policy: ConfigPolicyPlan) -> str:
    return row_table(
        (project.project_id, {"repository": project.repository, "default_branch": project.default_branch,
                              "contexts": sorted(set(project.contexts)), "frozen": project.frozen})
        for project in policy.projects
    )


def reserved_runner_classes_table(policy: ConfigPolicyPlan) -> str:
    return row_table(
        (reserved.resource_class, {"environment": reserved.environment, "context": reserved.context,
                                   "branches": None if reserved.branches is None else list(reserved.branches)})
        for reserved in policy.reserved_runner_classes
    )


def runner_class_projects_table(policy: ConfigPolicyPlan) -> str:
    """``<runner class> <project id>`` for each project that deploys on a reserved class: membership by one
    small row, not by a row listing every project of the organisation (parsed at every lookup)."""
    return row_table(
        (f"{reserved.resource_class} {project}", {"deploys": True})
        for reserved in policy.reserved_runner_classes for project in sorted(set(reserved.project_ids))
    )


TEMPLATES = Templates(__package__ or "secure_pipelines.ci.circleci.policy", {
    "rego": rego, "rego_set": rego_set,
    "projects_table": projects_table, "reserved_runner_classes_table": reserved_runner_classes_table,
    "runner_class_projects_table": runner_class_projects_table,
})


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
        "secure_pipelines_gates.rego": TEMPLATES.render("secure_pipelines_gates.rego.j2", header=source.header()),
        "secure_pipelines_job_groups.rego": TEMPLATES.render("secure_pipelines_job_groups.rego.j2",
                                                             header=source.header()),
    }
    for rule in POLICY_LOGIC:
        files[f"{rule}.rego"] = TEMPLATES.render(f"{rule}.rego.j2", header=source.header())
    return files
