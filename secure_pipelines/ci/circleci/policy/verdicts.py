"""The rendered CircleCI configs judged by the rendered config policies, before anything is written.

A declaration whose own policies would refuse the pipeline it renders (say, approved registries
that leave out the registry of the rendered jobs' image) is a mistake in the declaration: each
violation becomes a problem naming the rule, the jobs and the declaration field to change. A soft
rule's violation too: the rendered config would warn on every pipeline and fail its own rendered
tests. Violations with the same reason are reported once, with every repository and branch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ....errors import Problem
from ....plan.model import Plan
from ....render.templating import RenderSource
from ..plan import circleci_plan
from ..render import circleci_config
from .cases import FEATURE_BRANCH, parse_config
from .decision import Violation
from .evaluate import evaluate_policies
from .for_plan import plan_policies, run_plan_policy_tests
from .model import ConfigPolicyPlan, PolicyProject

_SOURCE = RenderSource(declaration="(in memory)", command="securepipe validate")
_HOLDER = re.compile(r'\b(job|executor) "([^"]+)"')

Fix = Callable[[ConfigPolicyPlan, Mapping[str, Any]], tuple[str, object, str]]
"""(field, its value, what to change) for a refusal of one rule, from the policy data and the config."""


def _images(config: Mapping[str, Any]) -> list[str]:
    holders = [*config.get("executors", {}).values(), *config.get("jobs", {}).values()]
    return sorted({str(d["image"]) for h in holders if isinstance(h, Mapping)
                   for d in h.get("docker") or () if isinstance(d, Mapping) and "image" in d})


def _registries_fix(policy: ConfigPolicyPlan, config: Mapping[str, Any]) -> tuple[str, object, str]:
    images = _images(config)
    prefixes = sorted({image.split("/", 1)[0] + "/" for image in images if "/" in image})
    return ("pipeline_policy.approved_registries", list(policy.approved_registries),
            f"the rendered jobs run {', '.join(images)}; add {', '.join(prefixes) or 'their registry'} to "
            "pipeline_policy.approved_registries")


def _field(field: str, value: Callable[[ConfigPolicyPlan], object]) -> Fix:
    return lambda policy, _config: (field, value(policy), f"change {field} so the rendered config satisfies the rule")


_FIXES: dict[str, Fix] = {
    "images_from_approved_registries": _registries_fix,
    "orbs_from_allowlist": _field("ci.circleci.config_policy.approved_orbs", lambda p: list(p.approved_orbs)),
    "banned_orb_versions": _field("ci.circleci.config_policy.banned_orb_versions",
                                  lambda p: list(p.banned_orb_versions)),
    "security_jobs_before_deploy": _field("pipeline_policy.required_security_jobs",
                                          lambda p: list(p.required_security_jobs)),
    "production_runner_class": _field("environments[<production>].ci.circleci.runner_resource_class",
                                      lambda p: list(p.production_resource_classes)),
    "code_freeze": _field("pipeline_policy.code_freeze",
                          lambda p: [project.repository for project in p.projects if project.frozen]),
    "contexts_reserved_to_projects": _field("environments[].repositories", lambda _p: None),
    "prod_context_only_on_default_branch": _field("environments[].branches", lambda _p: None),
    "no_ssh_rerun_with_protected_context": _field("environments[].branches", lambda _p: None),
}


def _jobs_named(violation: Violation, config: Mapping[str, Any]) -> list[str]:
    """The jobs a violation concerns: the job it names, or every job that runs on the executor it names."""
    jobs: list[str] = []
    for kind, name in _HOLDER.findall(violation.reason):
        if kind == "job":
            jobs.append(name)
        else:
            jobs.extend(job for job, body in config.get("jobs", {}).items()
                        if isinstance(body, Mapping) and body.get("executor") == name)
    return jobs


def _grouped(found: Iterable[tuple[Violation, str, str, Mapping[str, Any]]], policy: ConfigPolicyPlan,
             hard: set[str]) -> tuple[Problem, ...]:
    """One problem per (rule, reason), naming every repository, branch and job it concerns."""
    groups: dict[Violation, tuple[dict[str, None], dict[str, None], dict[str, None], Mapping[str, Any]]] = {}
    for violation, repository, branch, config in found:
        repos, branches, jobs, _ = groups.setdefault(violation, ({}, {}, {}, config))
        repos[repository] = None
        branches[branch] = None
        jobs.update(dict.fromkeys(_jobs_named(violation, config)))
    problems: list[Problem] = []
    for violation, (repos, branches, jobs, config) in groups.items():
        field, value, fix = _FIXES.get(violation.rule, _field("ci.circleci.config_policy", lambda _p: None))(
            policy, config)
        shown_jobs = f", jobs {', '.join(jobs)}" if jobs else ""
        problems.append(Problem(
            field, value,
            f"rule {violation.rule} of the rendered CircleCI config policy "
            f"{'refuses' if violation.rule in hard else 'warns about (soft rule)'} the rendered "
            f"{_and(repos)} config{'s' if len(repos) > 1 else ''} (on {_and(branches)}{shown_jobs}): "
            f"{violation.reason}. Fix: {fix}",
        ))
    return tuple(problems)


def _and(items: Iterable[str]) -> str:
    names = list(items)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _alike(project: PolicyProject, config: Mapping[str, Any]) -> str:
    """Projects whose configs differ only in what their jobs run (role names, secret paths: no rule reads
    a job's steps, and a test keeps it so) and that the policy data describes alike get one decision."""
    jobs = {name: {k: v for k, v in body.items() if k != "steps"} if isinstance(body, Mapping) else body
            for name, body in config.get("jobs", {}).items()}
    shape = {**config, "jobs": jobs}
    return json.dumps([shape, project.default_branch, sorted(project.contexts), project.frozen], sort_keys=True,
                      default=str)


def _violations(policies: Mapping[str, str], project: PolicyProject, config: Mapping[str, Any]
                ) -> list[tuple[Violation, str]]:
    found: list[tuple[Violation, str]] = []
    for branch in (project.default_branch, FEATURE_BRANCH):
        meta = {"project_id": project.project_id, "vcs": {"branch": branch}, "ssh_rerun": False}
        found.extend((v, branch) for v in evaluate_policies(policies, config, meta).violations)
    return found


def policy_refusals(plan: Plan) -> tuple[Problem, ...]:
    """Each project's rendered config under the rendered policies, on its default branch and a feature
    branch; every violation is a problem.

    Alike projects (:func:`_alike`) are judged through one of them; where it has a violation, each of
    them is evaluated, so every repository is named with its own reasons.
    """
    policy = circleci_plan(plan).config_policy
    if not policy.projects:
        return ()
    policies = plan_policies(plan)
    groups: dict[str, list[tuple[PolicyProject, Mapping[str, Any]]]] = {}
    for project in policy.projects:
        config = parse_config(circleci_config(plan, project.repository, _SOURCE))
        groups.setdefault(_alike(project, config), []).append((project, config))
    found: list[tuple[Violation, str, str, Mapping[str, Any]]] = []
    for members in groups.values():
        if not _violations(policies, *members[0]):
            continue
        for project, config in members:
            found.extend((v, project.repository, branch, config) for v, branch in _violations(policies, project,
                                                                                             config))
    return _grouped(found, policy, set(policy.hard_fail_rules))


def failing_policy_tests(plan: Plan) -> tuple[Problem, ...]:
    """The rendered ``*_test.yaml`` cases that fail against the rendered policies, as one problem."""
    if not circleci_plan(plan).config_policy.projects:
        return ()
    results = run_plan_policy_tests(plan)
    failed = [r for r in results if not r.passed]
    if not failed:
        return ()
    first = failed[0]
    return (Problem(
        "ci.circleci.config_policy", None,
        f"{len(failed)} of {len(results)} rendered policy tests fail against the rendered policies (first: "
        f"{first.file} {first.name}: expected {first.expected.get('status')}, got {first.actual.get('status')}); "
        "render the files and run `circleci policy test` on them to see each one",
    ),)
