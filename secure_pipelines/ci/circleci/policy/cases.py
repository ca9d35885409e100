"""Honest and tampered CircleCI configs, each with the exact violations the policies must report.

The cases start from each project's rendered (honest) config and change one thing an attacker or a
hurried developer would change. The expected reasons (``sentences``) are written independently of
the Rego, so a rule that stops matching its sentence, or stops firing, fails the tests. The same
cases become the rendered ``<rule>_test.yaml`` files (``tests_file``) that ``circleci policy test`` runs.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ....declaration.model import Tier
from ....plan.model import Plan
from ....render.pipelines import DeployJob, Pipeline
from ....render.templating import RenderSource
from ....yaml_files import parse_rendered_yaml
from ..plan import circleci_plan
from ..render import approval_job_name, circleci_config, circleci_pipeline
from .decision import Decision, Violation, decide
from .model import PolicyProject, ReservedRunnerClass
from .sentences import (
    approval_gate_reason,
    approval_reason,
    banned_orb_reason,
    code_freeze_reason,
    floating_orb_reason,
    image_reason,
    inline_orb_reason,
    job_group_invocation_reason,
    job_group_name_clash_reason,
    job_group_named_like_a_job_reason,
    job_groups_shape_reason,
    may_resolve_to_banned_orb_reason,
    nested_job_group_reason,
    parameterised_context_reason,
    prod_context_reason,
    reserved_context_reason,
    runner_branch_reason,
    runner_class_reason,
    runner_not_a_deploy_reason,
    runner_project_reason,
    security_gate_reason,
    security_job_reason,
    ssh_rerun_reason,
    unapproved_orb_reason,
)

FEATURE_BRANCH = "feature/login-form"
FOREIGN_PROJECT_ID = "00000000-0000-4000-8000-000000000000"
UNAPPROVED_IMAGE = "unapproved.example/tools:latest"
PARAMETERISED_CONTEXT = "<< pipeline.parameters.deploy-context >>"
_CASE_SOURCE = RenderSource(declaration="(policy test)", command="secure_pipelines.ci.circleci.policy.cases")

Config = dict[str, Any]


@dataclass(frozen=True)
class PolicyCase:
    """One config and pipeline metadata, and every violation the policy bundle must report for it."""

    name: str
    summary: str
    project: str
    config: Config = field(repr=False)
    meta: dict[str, Any]
    violations: tuple[Violation, ...]
    rules: tuple[str, ...]
    """The rules this case is about (empty for an honest config, which concerns every rule)."""

    def expected_decision(self, plan: Plan) -> Decision:
        policy = circleci_plan(plan).config_policy
        reasons: dict[str, list[str]] = {}
        for violation in self.violations:
            reasons.setdefault(violation.rule, []).append(violation.reason)
        return decide(list(policy.enabled_rules), list(policy.hard_fail_rules), reasons)




def policy_cases(plan: Plan) -> tuple[PolicyCase, ...]:
    """Honest and tampered configs for every CircleCI project of the plan."""
    projects = circleci_plan(plan).config_policy.projects
    return tuple(case for project in projects for case in _project_cases(plan, project))


def honest_cases(plan: Plan) -> tuple[PolicyCase, ...]:
    return tuple(c for c in policy_cases(plan) if not c.violations)


def tampered_cases(plan: Plan) -> tuple[PolicyCase, ...]:
    return tuple(c for c in policy_cases(plan) if c.violations)


def parse_config(text: str) -> Config:
    loaded = parse_rendered_yaml(text)
    if not isinstance(loaded, dict):
        raise ValueError("a CircleCI config is a mapping")
    return loaded


class _Project:
    """One project's honest config and pipeline, and the facts the expected sentences need."""

    def __init__(self, plan: Plan, project: PolicyProject, *, include_frozen: bool):
        self.plan = plan
        self.policy = circleci_plan(plan).config_policy
        self.project = project
        self.pipeline: Pipeline = circleci_pipeline(plan, project.repository, include_frozen=include_frozen)
        self.config = parse_config(
            circleci_config(plan, project.repository, _CASE_SOURCE, include_frozen=include_frozen)
        )
        self.workflow = self.pipeline.workflow

    def meta(self, branch: str | None = None, *, ssh_rerun: bool = False, project_id: str | None = None) -> dict:
        return {
            "project_id": project_id or self.project.project_id,
            "vcs": {"branch": branch or self.project.default_branch},
            "ssh_rerun": ssh_rerun,
        }

    def jobs(self, *tiers: Tier) -> tuple[DeployJob, ...]:
        return tuple(j for j in self.pipeline.deploy_jobs if not tiers or j.tier in tiers)

    def production_jobs(self) -> tuple[DeployJob, ...]:
        return tuple(j for j in self.jobs(Tier.PRODUCTION) if j.deploy_via in self.policy.production_contexts)

    def copy(self) -> Config:
        return copy.deepcopy(self.config)

    def reservation(self, runner: str | None) -> ReservedRunnerClass | None:
        """The reservation of a runner class, if the declaration reserves it."""
        return next((r for r in self.policy.reserved_runner_classes if r.resource_class == runner), None)

    def runner_opened(self, job: DeployJob, name: str | None = None) -> tuple[Violation, ...]:
        """What the runner reservation says when ``job`` (read as ``name``, if given) has its branch filter
        widened."""
        reserved = self.reservation(job.runner)
        if reserved is None or reserved.branches is None:
            return ()
        return (Violation("runner_classes_reserved_to_deploys", runner_branch_reason(
            self.workflow, name or job.name, reserved.resource_class, reserved.environment,
            ", ".join(sorted(reserved.branches)))),)

    def runner_misused(self, job: str, runner: str | None) -> tuple[Violation, ...]:
        """What the runner reservation says when ``job``, which does not deploy there, asks for ``runner``."""
        reserved = self.reservation(runner)
        if reserved is None:
            return ()
        return (Violation("runner_classes_reserved_to_deploys", runner_not_a_deploy_reason(
            self.workflow, job, reserved.resource_class, reserved.environment, reserved.context)),)

    def with_orbs(self, **orbs: str) -> Config:
        """The honest config importing ``orbs`` (alias -> reference)."""
        config = self.copy()
        config["orbs"] = dict(orbs)
        return config

    def invocation(self, config: Config, job: str) -> dict[str, Any]:
        for item in config["workflows"][self.workflow]["jobs"]:
            if isinstance(item, dict) and job in item:
                return item[job]
        raise KeyError(job)

    def freeze_violations(self, renamed: Mapping[str, str] | None = None) -> tuple[Violation, ...]:
        """What a config with this pipeline's production jobs gets when the project is frozen (a job is read
        under the name ``renamed`` gives it, if any: in a job group)."""
        if not self.project.frozen:
            return ()
        return tuple(
            Violation("code_freeze", code_freeze_reason(
                self.workflow, (renamed or {}).get(job.name, job.name), self.project.repository, str(job.deploy_via),
                self.project.default_branch))
            for job in self.production_jobs()
        )

    def gates_left_behind(self, job: DeployJob, branches: tuple[str, ...] | None,
                          name: str | None = None) -> tuple[Violation, ...]:
        """What the gate rules say when ``job`` (read as ``name``, if given), held for approval, may run where
        its approval job (filtered to ``job``'s own branches) does not: ``branches`` the job's filters name
        (``None``: none). The rendered held deploy requires its approval alone, so the security jobs it reaches
        through it fall with it."""
        if job.deploy_via not in self.policy.approval_contexts:
            return ()
        context = str(job.deploy_via)
        return (
            Violation("no_held_deploy_without_approval", approval_gate_reason(
                self.workflow, name or job.name, context, approval_job_name(job.environment), branches)),
            *(Violation("security_jobs_before_deploy", security_gate_reason(
                self.workflow, name or job.name, context, security_job, branches))
              for security_job in self.policy.required_security_jobs),
        )

    def case(self, name: str, summary: str, config: Config, meta: dict, violations: tuple[Violation, ...],
             *rules: str) -> PolicyCase:
        return PolicyCase(
            name=f"{self.project.repository}_{name}".replace("-", "_"),
            summary=summary,
            project=self.project.repository,
            config=config,
            meta=meta,
            violations=tuple(sorted(set(violations))),
            rules=rules,
        )


def _project_cases(plan: Plan, project: PolicyProject) -> Iterator[PolicyCase]:
    honest = _Project(plan, project, include_frozen=False)
    # Cases that tamper with a production job start from the config with production in it.
    full = _Project(plan, project, include_frozen=True)
    for build in (_honest, _production_context, _orbs, _security_jobs, _reserved_contexts, _ssh_rerun,
                  _runner_class, _images, _code_freeze, _approval, _floating_orbs, _reserved_runners,
                  _approval_left_out, _security_job_left_out, _job_groups):
        yield from build(honest, full)


def _honest(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    yield p.case("honest_on_default_branch", "The rendered config on the default branch passes.",
                 p.copy(), p.meta(), ())
    yield p.case("honest_on_feature_branch", "The rendered config on a feature branch passes.",
                 p.copy(), p.meta(FEATURE_BRANCH), ())
    if all(job.branches for job in p.jobs(Tier.STAGING, Tier.PRODUCTION)):
        yield p.case("honest_ssh_rerun_on_feature_branch",
                     "An SSH rerun on a feature branch passes: no staging or production job runs there.",
                     p.copy(), p.meta(FEATURE_BRANCH, ssh_rerun=True), ())


def _production_context(_p: _Project, p: _Project) -> Iterator[PolicyCase]:
    rule = "prod_context_only_on_default_branch"
    for job in p.production_jobs()[:1]:
        context = str(job.deploy_via)
        branch = p.project.default_branch
        sentence = Violation(rule, prod_context_reason(p.workflow, job.name, context, branch))

        def opened(branches: tuple[str, ...] | None, job: DeployJob = job,
                   sentence: Violation = sentence) -> tuple[Violation, ...]:
            return (sentence, *p.runner_opened(job), *p.freeze_violations(), *p.gates_left_behind(job, branches))

        def tampered(change: Callable[[dict[str, Any]], None], name: str = job.name) -> Config:
            config = p.copy()
            change(p.invocation(config, name))
            return config

        yield p.case("production_context_on_feature_branch",
                     f"{job.name} is filtered to a feature branch and the pipeline runs there.",
                     tampered(lambda i: i.update(filters={"branches": {"only": FEATURE_BRANCH}})),
                     p.meta(FEATURE_BRANCH), opened((FEATURE_BRANCH,)), rule)
        yield p.case("production_branch_filter_removed", f"{job.name} lost its branch filter.",
                     tampered(lambda i: i.pop("filters")), p.meta(), opened(None), rule)
        yield p.case("production_branch_added", f"{job.name} also runs on another branch.",
                     tampered(lambda i, b=branch: i.update(filters={"branches": {"only": [b, "release-candidate"]}})),
                     p.meta(), opened((branch, "release-candidate")), rule)
        yield p.case("production_branch_pattern", f"{job.name} is filtered by a pattern that admits look-alikes.",
                     tampered(lambda i, b=branch: i.update(filters={"branches": {"only": f"/{b}.*/"}})),
                     p.meta(), opened(None), rule)
        yield p.case("production_tag_filter_added", f"{job.name} also runs for tags, which have no branch.",
                     tampered(lambda i, b=branch: i.update(
                         filters={"branches": {"only": [b]}, "tags": {"only": "/^v.*/"}})),
                     p.meta(), opened(None), rule)
        yield p.case("production_context_parameterised", f"{job.name} names its context through a parameter.",
                     tampered(lambda i: i.update(context=PARAMETERISED_CONTEXT)), p.meta(),
                     (Violation(rule, parameterised_context_reason(p.workflow, job.name, PARAMETERISED_CONTEXT)),
                      *p.runner_misused(job.name, job.runner)), rule)


def _banned_by(reference: str, banned: tuple[str, ...]) -> str | None:
    """The ban covering a pinned ``reference`` (``ns/orb@1.2`` covers ``ns/orb@1.2.3``), if any."""
    return next((b for b in banned if reference == b or reference.startswith(b + ".")), None)


def _unbanned_major(orb: str, banned: tuple[str, ...]) -> int:
    """A major version of ``orb`` that no ban touches."""
    return next(m for m in range(1, 100)
                if not any(b == f"{orb}@{m}" or b.startswith(f"{orb}@{m}.") for b in banned))


def _orbs(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    approved = p.policy.approved_orbs
    banned = p.policy.banned_orb_versions
    if approved:
        major = _unbanned_major(approved[0], banned)
        config = p.copy()
        config["orbs"] = {"approved": f"{approved[0]}@{major}.0.0"}
        yield p.case("approved_orb", "An approved orb pinned to a version that is not banned passes.",
                     config, p.meta(), (), "orbs_from_allowlist", "banned_orb_versions", "no_floating_orb_versions")
    namespace, _, name = (approved[0] if approved else "circleci/node").partition("/")
    lookalike = f"{namespace}-lookalike/{name}@1.0.0"
    config = p.copy()
    config["orbs"] = {name: lookalike}
    yield p.case("orb_swapped_for_lookalike", f"An orb is swapped for {lookalike}.", config, p.meta(),
                 (Violation("orbs_from_allowlist", unapproved_orb_reason(name, lookalike, approved)),),
                 "orbs_from_allowlist")
    config = p.copy()
    config["orbs"] = {"tools": {"commands": {"exfiltrate": {"steps": [{"run": "env"}]}}}}
    yield p.case("inline_orb", "An inline orb brings its own commands.", config, p.meta(),
                 (Violation("orbs_from_allowlist", inline_orb_reason("tools", approved)),), "orbs_from_allowlist")
    for ban in banned[:1]:
        orb, _, version = ban.partition("@")
        reference = f"{orb}@{'.'.join([*version.split('.'), '0', '0'][:3])}"
        violations = [Violation("banned_orb_versions", banned_orb_reason("pinned", reference, ban)),
                      *_unapproved("pinned", reference, approved)]
        yield p.case("banned_orb_version", f"The banned orb version {reference} is imported.",
                     p.with_orbs(pinned=reference), p.meta(), tuple(violations), "banned_orb_versions")
        floating = f"{orb}@{version.split('.')[0]}"
        violations = [Violation("no_floating_orb_versions", floating_orb_reason("floating", floating)),
                      *_unapproved("floating", floating, approved)]
        if floating != ban:
            violations.append(Violation("banned_orb_versions",
                                        may_resolve_to_banned_orb_reason("floating", floating, ban)))
        else:
            violations.append(Violation("banned_orb_versions", banned_orb_reason("floating", floating, ban)))
        yield p.case("floating_orb_may_resolve_to_banned_version",
                     f"{floating} is imported; CircleCI may resolve it to the banned {ban}.",
                     p.with_orbs(floating=floating), p.meta(), tuple(violations),
                     "banned_orb_versions", "no_floating_orb_versions")


def _unapproved(alias: str, reference: str, approved: tuple[str, ...]) -> tuple[Violation, ...]:
    if reference.split("@")[0] in approved:
        return ()
    return (Violation("orbs_from_allowlist", unapproved_orb_reason(alias, reference, approved)),)


def _floating_orbs(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    rule = "no_floating_orb_versions"
    orb = p.policy.approved_orbs[0] if p.policy.approved_orbs else "circleci/node"
    major = _unbanned_major(orb, p.policy.banned_orb_versions)
    forms = {
        "major": (f"{orb}@{major}", "a major version: every minor and patch release"),
        "minor": (f"{orb}@{major}.0", "a minor version: every patch release"),
        "volatile": (f"{orb}@volatile", "volatile: the last published version"),
        "dev": (f"{orb}@dev:feature-x", "a dev version: mutable, publishable by any member of the namespace"),
        "no_version": (orb, "no version at all"),
    }
    for form, (reference, what) in forms.items():
        violations = (Violation(rule, floating_orb_reason("node", reference)), *_unapproved("node", reference,
                                                                                             p.policy.approved_orbs))
        yield p.case(f"floating_orb_{form}", f"The orb is imported as {reference}: {what}.",
                     p.with_orbs(node=reference), p.meta(), violations, rule)


def _security_jobs(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    rule = "security_jobs_before_deploy"
    for security_job in p.pipeline.security_jobs[:1]:
        every_deploy = tuple(
            Violation(rule, security_job_reason(p.workflow, job.name, str(job.deploy_via), security_job))
            for job in p.jobs() if job.deploy_via
        )
        removed = p.copy()
        workflow = removed["workflows"][p.workflow]
        workflow["jobs"] = [item for item in workflow["jobs"] if item != security_job]
        for item in workflow["jobs"]:
            if isinstance(item, dict):
                for params in item.values():
                    if isinstance(params, dict) and "requires" in params:
                        params["requires"] = [r for r in params["requires"] if r != security_job]
        yield p.case("security_job_removed", f"{security_job} is removed from the workflow.",
                     removed, p.meta(), every_deploy, rule)

        not_required = p.copy()
        build = p.invocation(not_required, p.pipeline.build_job)
        build["requires"] = [r for r in build["requires"] if r != security_job]
        yield p.case("security_job_not_required", f"{p.pipeline.build_job} no longer requires {security_job}.",
                     not_required, p.meta(), every_deploy, rule)

        may_fail = p.copy()
        build = p.invocation(may_fail, p.pipeline.build_job)
        build["requires"] = [{r: "terminal"} if r == security_job else r for r in build["requires"]]
        yield p.case("security_job_may_fail", f"Deploys go on whatever the outcome of {security_job}.",
                     may_fail, p.meta(), every_deploy, rule)

        renamed = p.copy()
        workflow = renamed["workflows"][p.workflow]
        workflow["jobs"] = [
            {p.pipeline.test_job: {"name": security_job}} if item == security_job else item
            for item in workflow["jobs"]
        ]
        yield p.case("security_job_impersonated", f"Another job runs under the name {security_job}.",
                     renamed, p.meta(), every_deploy, rule)


def _reserved_contexts(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    rule = "contexts_reserved_to_projects"
    declared = set(p.policy.production_contexts + p.policy.staging_contexts + p.policy.test_contexts
                   + p.policy.development_contexts)
    violations = tuple(
        Violation(rule, reserved_context_reason(p.workflow, job.name, str(job.deploy_via), FOREIGN_PROJECT_ID))
        for job in p.jobs() if job.deploy_via in declared
    )
    runners = tuple(
        Violation("runner_classes_reserved_to_deploys", runner_project_reason(
            p.workflow, job.name, reserved.resource_class, reserved.environment, FOREIGN_PROJECT_ID))
        for job in p.jobs() if (reserved := p.reservation(job.runner)) is not None
    )
    yield p.case("contexts_used_by_another_project",
                 "Another project copies this config, its contexts and runner classes included.",
                 p.copy(), p.meta(project_id=FOREIGN_PROJECT_ID), violations + runners, rule,
                 "runner_classes_reserved_to_deploys")


def _ssh_rerun(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    rule = "no_ssh_rerun_with_protected_context"
    protected = set(p.policy.production_contexts + p.policy.staging_contexts + p.policy.test_contexts)
    branch = p.project.default_branch
    violations = tuple(
        Violation(rule, ssh_rerun_reason(p.workflow, job.name, str(job.deploy_via), branch))
        for job in p.jobs()
        if job.deploy_via in protected and (job.branches is None or branch in job.branches)
    )
    if violations:
        yield p.case("ssh_rerun_on_default_branch", "A deploy job is rerun with SSH on the default branch.",
                     p.copy(), p.meta(ssh_rerun=True), violations, rule)
    for job in p.jobs(Tier.STAGING)[:1]:
        if job.deploy_via not in protected:
            continue
        config = p.copy()
        p.invocation(config, job.name)["filters"] = {"branches": {"only": "/.*/"}}
        yield p.case("ssh_rerun_of_staging_opened_to_every_branch",
                     f"{job.name} is opened to every branch by a pattern and rerun with SSH on a feature branch.",
                     config, p.meta(FEATURE_BRANCH, ssh_rerun=True),
                     (Violation(rule, ssh_rerun_reason(p.workflow, job.name, str(job.deploy_via), FEATURE_BRANCH)),
                      *p.runner_opened(job)), rule)


def _runner_class(_p: _Project, p: _Project) -> Iterator[PolicyCase]:
    rule = "production_runner_class"
    allowed = ", ".join(sorted(p.policy.production_resource_classes))
    if not allowed:
        return
    for job in p.production_jobs()[:1]:
        config = p.copy()
        config["jobs"][job.name]["resource_class"] = "large"
        yield p.case("production_on_cloud_resource_class", f"{job.name} moves to a cloud resource class.",
                     config, p.meta(),
                     (Violation(rule, runner_class_reason(p.workflow, job.name, str(job.deploy_via), "large", allowed)),
                      *p.freeze_violations()), rule)


def _images(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    rule = "images_from_approved_registries"
    registries = p.policy.approved_registries
    if any(UNAPPROVED_IMAGE.startswith(prefix) for prefix in registries):
        return
    config = p.copy()
    for executor in config.get("executors", {}).values():
        executor["docker"][0]["image"] = UNAPPROVED_IMAGE
    violations = tuple(
        Violation(rule, image_reason("executor", name, UNAPPROVED_IMAGE, registries))
        for name in config.get("executors", {})
    )
    yield p.case("executor_image_from_unapproved_registry", "The jobs' executor pulls an unapproved image.",
                 config, p.meta(), violations, rule)
    config = p.copy()
    test_job = config["jobs"][p.pipeline.test_job]
    test_job.pop("executor", None)
    test_job["docker"] = [{"image": UNAPPROVED_IMAGE}]
    yield p.case("job_image_from_unapproved_registry", f"{p.pipeline.test_job} pulls an unapproved image.",
                 config, p.meta(),
                 (Violation(rule, image_reason("job", p.pipeline.test_job, UNAPPROVED_IMAGE, registries)),), rule)


def _code_freeze(p: _Project, full: _Project) -> Iterator[PolicyCase]:
    if not p.project.frozen or not full.production_jobs():
        return
    yield p.case("production_deploy_during_code_freeze",
                 "The production deploy is put back while the repository is under a code freeze.",
                 full.copy(), full.meta(), full.freeze_violations(), "code_freeze")


def _approval(_p: _Project, p: _Project) -> Iterator[PolicyCase]:
    rule = "no_held_deploy_without_approval"
    for job in [j for j in p.jobs() if j.deploy_via in p.policy.approval_contexts][:1]:
        approval = approval_job_name(job.environment)
        violations = (Violation(rule, approval_reason(p.workflow, job.name, str(job.deploy_via))),
                      *p.freeze_violations())

        removed = p.copy()
        waited_for = p.invocation(removed, approval)["requires"]
        workflow = removed["workflows"][p.workflow]
        workflow["jobs"] = [item for item in workflow["jobs"] if not (isinstance(item, dict) and approval in item)]
        p.invocation(removed, job.name)["requires"] = list(waited_for)
        yield p.case(f"{approval}_removed", f"{approval} is removed and {job.name} no longer waits for a person.",
                     removed, p.meta(), violations, rule)

        skipped = p.copy()
        p.invocation(skipped, job.name)["requires"] = list(p.invocation(skipped, approval)["requires"])
        yield p.case(f"{approval}_not_required", f"{approval} stays, but {job.name} no longer requires it.",
                     skipped, p.meta(), violations, rule)

        impersonated = p.copy()
        p.invocation(impersonated, approval).pop("type")
        impersonated["jobs"][approval] = {"executor": "cloud",
                                          "steps": [{"run": {"name": "Approve", "command": "true"}}]}
        yield p.case(f"{approval}_impersonated", f"A job that approves itself runs under the name {approval}.",
                     impersonated, p.meta(), violations, rule)


def _approval_left_out(_p: _Project, p: _Project) -> Iterator[PolicyCase]:
    """The approval job stays required but is kept out of the pipelines the deploy runs in: by its filters
    (a name or pattern that misses the deploy's branch, an `ignore`, tags alone, an expression, a pattern
    the policy cannot read), a matrix, or a requirement that a failed or canceled approval satisfies."""
    rule = "no_held_deploy_without_approval"
    branch = p.project.default_branch
    # A declared branch name is plain characters, so its escaped form is a pattern the policy reads.
    pattern = re.escape(branch)
    for job in [j for j in p.jobs() if j.deploy_via in p.policy.approval_contexts][:1]:
        approval = approval_job_name(job.environment)
        left_out = (*p.gates_left_behind(job, job.branches), *p.freeze_violations())

        def tampered(change: Callable[[dict[str, Any]], None], name: str = approval) -> Config:
            config = p.copy()
            change(p.invocation(config, name))
            return config

        filters: dict[str, tuple[str, object]] = {
            "filtered_to_another_branch": ("is filtered to branch never-matching, which nobody pushes",
                                           {"branches": {"only": ["never-matching"]}}),
            "ignores_the_default_branch": (f"ignores {branch}", {"branches": {"ignore": [branch]}}),
            "filtered_by_a_pattern_that_misses": (f"is filtered by a pattern that misses {branch}",
                                                  {"branches": {"only": f"/{pattern}.+/"}}),
            "ignored_by_an_unreadable_pattern": ("ignores a look-ahead pattern, which the policy cannot read",
                                                 {"branches": {"ignore": f"/(?!x){pattern}/"}}),
            "filtered_to_tags": ("runs for tags alone", {"branches": {"ignore": "/.*/"}, "tags": {"only": "/^v.*/"}}),
            "filtered_by_an_expression": ("is filtered by an expression", "not pipeline.parameters.skip-approval"),
        }
        for name, (what, value) in filters.items():
            yield p.case(f"{approval}_{name}", f"{approval} {what}, so {job.name} may run without it.",
                         tampered(lambda i, v=value: i.update(filters=v)), p.meta(), left_out, rule)
        yield p.case(f"{approval}_in_a_matrix", f"{approval} is a matrix, which may expand to no job.",
                     tampered(lambda i: i.update(matrix={"parameters": {"region": ["eu"]}})), p.meta(), left_out, rule)

        unrequired = (Violation(rule, approval_reason(p.workflow, job.name, str(job.deploy_via))),
                      *(Violation("security_jobs_before_deploy", security_job_reason(
                          p.workflow, job.name, str(job.deploy_via), security_job))
                        for security_job in p.policy.required_security_jobs),
                      *p.freeze_violations())
        for status, statuses, what in (("may_fail", ["success", "failed"], "whether it is approved or fails"),
                                       ("may_be_canceled", "canceled", "when a person cancels it")):
            yield p.case(f"{approval}_{status}", f"{job.name} requires {approval} {what}.",
                         tampered(lambda i, s=statuses, a=approval: i.update(requires=[{a: s}]), job.name), p.meta(),
                         unrequired, rule, "security_jobs_before_deploy")

        if p.project.frozen:
            continue
        yield p.case(f"{approval}_filtered_by_a_matching_pattern",
                     f"{approval} is filtered by a pattern that matches {branch} alone: it runs with {job.name}.",
                     tampered(lambda i: i.update(filters={"branches": {"only": f"/{pattern}/"}})), p.meta(), (), rule)
        yield p.case(f"{approval}_required_to_succeed_by_status", f"{job.name} requires {approval}: success.",
                     tampered(lambda i, a=approval: i.update(requires=[{a: "success"}]), job.name), p.meta(), (), rule)


def _security_job_left_out(p: _Project, _full: _Project) -> Iterator[PolicyCase]:
    """The security job, or the job every deploy reaches it through, is filtered away from the deploys'
    branches; or the security job's definition is swapped for an orb's job."""
    rule = "security_jobs_before_deploy"
    branch = p.project.default_branch
    for security_job in p.pipeline.security_jobs[:1]:
        left_out = tuple(
            Violation(rule, security_gate_reason(p.workflow, job.name, str(job.deploy_via), security_job, job.branches))
            for job in p.jobs() if job.deploy_via
        )
        yield p.case("security_job_ignores_the_default_branch", f"{security_job} ignores {branch}.",
                     _invoked_as(p, security_job, {"filters": {"branches": {"ignore": [branch]}}}), p.meta(),
                     left_out, rule)
        yield p.case("security_job_filtered_to_feature_branches", f"{security_job} runs on feature branches alone.",
                     _invoked_as(p, security_job, {"filters": {"branches": {"only": "/feature\\/.+/"}}}), p.meta(),
                     left_out, rule)

        config = p.copy()
        p.invocation(config, p.pipeline.build_job)["filters"] = {"branches": {"ignore": [branch]}}
        yield p.case("build_job_skipped_on_the_default_branch",
                     f"{p.pipeline.build_job}, through which every deploy waits for {security_job}, ignores {branch}.",
                     config, p.meta(), left_out, rule)

        approved = p.policy.approved_orbs[0] if p.policy.approved_orbs else "circleci/node"
        alias = approved.split("/")[1]
        reference = f"{approved}@{_unbanned_major(approved, p.policy.banned_orb_versions)}.0.0"
        config = _invoked_as(p, security_job, {"override-with": f"{alias}/test"})
        config["orbs"] = {alias: reference}
        yield p.case("security_job_overridden_by_an_orb_job",
                     f"{security_job} runs an orb's job in its place (override-with).", config, p.meta(),
                     (*(Violation(rule, security_job_reason(p.workflow, job.name, str(job.deploy_via), security_job))
                        for job in p.jobs() if job.deploy_via),
                      *_unapproved(alias, reference, p.policy.approved_orbs)), rule)


def _invoked_as(p: _Project, job: str, params: dict[str, Any]) -> Config:
    """The honest config with ``job``, listed by name alone, invoked with ``params``."""
    config = p.copy()
    workflow = config["workflows"][p.workflow]
    workflow["jobs"] = [{job: dict(params)} if item == job else item for item in workflow["jobs"]]
    return config


def _reserved_runners(_p: _Project, p: _Project) -> Iterator[PolicyCase]:
    """Jobs that are not an environment's deploy jobs asking for its runner class, by each route a config
    can take: the job's own resource_class, its executor's, an orb job's parameter, a parameter CircleCI
    resolves in its compiled config; and a deploy job opened to another branch."""
    rule = "runner_classes_reserved_to_deploys"
    test = p.pipeline.test_job
    reservations = p.policy.reserved_runner_classes
    # Every route to the most protected class; a branch opened on each class's deploy job (production's
    # also breaks prod_context_only_on_default_branch, so the first one that is not production's is enough).
    opened = [r for r in reservations if r.branches is not None]
    opened = [next((r for r in opened if r not in reservations[-1:]), opened[-1])] if opened else []
    for reserved in reservations[-1:]:
        runner = reserved.resource_class

        def not_a_deploy(job: str, runner: str = runner) -> tuple[Violation, ...]:
            return (*p.runner_misused(job, runner), *p.freeze_violations())

        config = p.copy()
        config["jobs"][test] = {"machine": True, "resource_class": runner, "steps": ["checkout", {"run": "make test"}]}
        yield p.case(f"{test}_on_{reserved.environment}_runner",
                     f"{test} runs on {runner}, where it can read what deploys leave behind.",
                     config, p.meta(), not_a_deploy(test), rule)

        config = p.copy()
        config["executors"]["deployers"] = {"machine": True, "resource_class": runner}
        config["jobs"][test]["executor"] = {"name": "deployers"}
        yield p.case(f"{test}_on_{reserved.environment}_runner_through_an_executor",
                     f"{test} reaches {runner} through an executor of its own.", config, p.meta(),
                     not_a_deploy(test), rule)

        approved = p.policy.approved_orbs[0] if p.policy.approved_orbs else "circleci/node"
        reference = f"{approved}@{_unbanned_major(approved, p.policy.banned_orb_versions)}.0.0"
        orb_job = f"{approved.split('/')[1]}/test"
        config = p.with_orbs(**{approved.split("/")[1]: reference})
        config["workflows"][p.workflow]["jobs"].append({orb_job: {"resource_class": runner}})
        yield p.case(f"orb_job_on_{reserved.environment}_runner",
                     f"An orb's job is invoked with resource_class {runner}.", config, p.meta(),
                     (*not_a_deploy(orb_job), *_unapproved(approved.split("/")[1], reference,
                                                            p.policy.approved_orbs)), rule)

        config = p.copy()
        config["parameters"] = {"size": {"type": "string", "default": runner}}
        config["jobs"][test]["resource_class"] = "<< pipeline.parameters.size >>"
        compiled = copy.deepcopy(config)
        compiled.pop("parameters")
        compiled["jobs"][test]["resource_class"] = runner
        config["_compiled_"] = {"version": 2, "jobs": compiled["jobs"], "workflows": compiled["workflows"]}
        yield p.case(f"{test}_on_{reserved.environment}_runner_through_a_parameter",
                     f"{test} names its resource class through a pipeline parameter whose default is {runner} "
                     "(CircleCI's compiled config resolves it).", config, p.meta(), not_a_deploy(test), rule)

    for reserved in opened:
        runner = reserved.resource_class
        for job in [j for j in p.jobs() if j.runner == runner and j.deploy_via == reserved.context][:1]:
            config = p.copy()
            p.invocation(config, job.name)["filters"] = {"branches": {"only": [*(reserved.branches or ()), "hotfix"]}}
            extra = () if job.tier is not Tier.PRODUCTION else (
                Violation("prod_context_only_on_default_branch",
                          prod_context_reason(p.workflow, job.name, reserved.context, p.project.default_branch)),)
            yield p.case(f"{reserved.environment}_runner_opened_to_another_branch",
                         f"{job.name} also runs from branch hotfix on {runner}.", config, p.meta(),
                         (*p.runner_opened(job), *extra, *p.freeze_violations()), rule)


def _in_a_job_group(p: _Project, config: Config, group: str, jobs: tuple[str, ...], **invocation: Any) -> Config:
    """``config`` with the workflow's ``jobs`` moved into job group ``group``, invoked where the first of them
    was with the keys of ``invocation``, the way a developer would: the jobs' requirements on jobs outside the
    group move to the invocation, and the workflow's requirements on them become requirements on the invocation."""
    config = copy.deepcopy(config)
    workflow = config["workflows"][p.workflow]
    called = invocation.get("name", group)

    def key(item: str | dict[str, Any]) -> str:
        return item if isinstance(item, str) else next(iter(item))

    members: list[str | dict[str, Any]] = []
    outside: list[str] = []
    for item in workflow["jobs"]:
        if key(item) not in jobs:
            continue
        if isinstance(item, str):
            members.append(item)
            continue
        params = dict(item[key(item)])
        requires = params.pop("requires", [])
        outside += [r for r in requires if r not in jobs and r not in outside]
        if [r for r in requires if r in jobs]:
            params["requires"] = [r for r in requires if r in jobs]
        members.append({key(item): params} if params else key(item))
    params = {**({"requires": outside} if outside else {}), **invocation}
    first = next(i for i, item in enumerate(workflow["jobs"]) if key(item) in jobs)
    kept = [item for i, item in enumerate(workflow["jobs"]) if key(item) not in jobs or i == first]
    workflow["jobs"] = [({group: params} if params else group) if key(item) in jobs else item for item in kept]
    for item in workflow["jobs"]:
        if isinstance(item, dict) and key(item) != group and "requires" in item[key(item)]:
            requires = item[key(item)]["requires"]
            rewired = [called if r in jobs else r for r in requires]
            item[key(item)]["requires"] = [r for i, r in enumerate(rewired) if r not in rewired[:i]]
    config["job-groups"] = {**config.get("job-groups", {}), group: {"jobs": members}}
    return config


def _job_groups(p: _Project, full: _Project) -> Iterator[PolicyCase]:
    """Jobs in a job group (a top-level `job-groups` entry that a workflow invokes like a job) are read as jobs
    of the workflow named "<invocation>/<job>": every rule applies to them. The checks and the production release
    in groups pass; a deploy in a group opened to a feature branch, without its approval, on a cloud class, in an
    SSH rerun, in another project or under a code freeze, a job in a group on a deploy runner, and a security job
    a group leaves out of the deploys' pipelines fail as they would outside one."""
    checks_rule = "job_groups_as_documented"
    checks = (p.pipeline.test_job, *p.pipeline.security_jobs)
    grouped = _in_a_job_group(p, p.copy(), "checks", checks)
    yield p.case("checks_in_a_job_group", "The test and security jobs run in a job group the build requires.",
                 grouped, p.meta(), (), checks_rule, "security_jobs_before_deploy")
    yield p.case("checks_in_a_job_group_on_feature_branch",
                 "The test and security jobs run in a job group, on a feature branch.",
                 grouped, p.meta(FEATURE_BRANCH), (), checks_rule, "security_jobs_before_deploy")

    for security_job in p.pipeline.security_jobs[:1]:
        branch = p.project.default_branch
        left_out = tuple(
            Violation("security_jobs_before_deploy", security_gate_reason(
                p.workflow, job.name, str(job.deploy_via), security_job, job.branches))
            for job in p.jobs() if job.deploy_via
        )
        config = copy.deepcopy(grouped)
        config["job-groups"]["checks"]["jobs"] = [
            {item: {"filters": {"branches": {"ignore": [branch]}}}} if item == security_job else item
            for item in config["job-groups"]["checks"]["jobs"]]
        yield p.case("security_job_in_a_job_group_ignores_the_default_branch",
                     f"{security_job}, in the job group checks, ignores {branch}, so the group-end job the build "
                     "waits for may run without it.", config, p.meta(), left_out, "security_jobs_before_deploy")
        yield p.case("checks_job_group_invoked_in_a_serial_group",
                     "The job group checks is invoked in a serial group, which may skip it in an older pipeline.",
                     _in_a_job_group(p, p.copy(), "checks", checks, **{"serial-group": "checks"}), p.meta(),
                     left_out, "security_jobs_before_deploy")

    for job in p.jobs(Tier.STAGING)[:1]:
        if job.deploy_via not in set(p.policy.staging_contexts):
            continue
        name = f"stage/{job.name}"
        config = p.copy()
        p.invocation(config, job.name).pop("filters", None)
        config = _in_a_job_group(p, config, "stage", (job.name,), filters={"branches": {"only": "/.*/"}})
        yield p.case("staging_deploy_in_a_job_group_opened_to_every_branch",
                     f"{job.name} runs in a job group whose invocation admits every branch, rerun with SSH on a "
                     "feature branch.", config, p.meta(FEATURE_BRANCH, ssh_rerun=True),
                     (Violation("no_ssh_rerun_with_protected_context", ssh_rerun_reason(
                         p.workflow, name, str(job.deploy_via), FEATURE_BRANCH)), *p.runner_opened(job, name)),
                     "no_ssh_rerun_with_protected_context", "runner_classes_reserved_to_deploys")

    reservations = p.policy.reserved_runner_classes
    for reserved in reservations[-1:]:
        config = copy.deepcopy(grouped)
        config["jobs"][p.pipeline.test_job] = {"machine": True, "resource_class": reserved.resource_class,
                                               "steps": ["checkout", {"run": "make test"}]}
        yield p.case(f"test_in_a_job_group_on_{reserved.environment}_runner",
                     f"{p.pipeline.test_job}, in the job group checks, runs on {reserved.resource_class}.", config,
                     p.meta(), p.runner_misused(f"checks/{p.pipeline.test_job}", reserved.resource_class),
                     "runner_classes_reserved_to_deploys")

        config = copy.deepcopy(grouped)
        config["parameters"] = {"size": {"type": "string", "default": reserved.resource_class}}
        config["jobs"][p.pipeline.test_job]["resource_class"] = "<< pipeline.parameters.size >>"
        compiled = copy.deepcopy(config)
        compiled.pop("parameters")
        compiled["jobs"][p.pipeline.test_job]["resource_class"] = reserved.resource_class
        config["_compiled_"] = {"version": 2, "jobs": compiled["jobs"], "workflows": compiled["workflows"],
                                "job-groups": compiled["job-groups"]}
        yield p.case(f"test_in_a_job_group_on_{reserved.environment}_runner_through_a_parameter",
                     f"{p.pipeline.test_job}, in the job group checks, names its resource class through a pipeline "
                     f"parameter whose default is {reserved.resource_class} (CircleCI's compiled config resolves it, "
                     "its job groups unexpanded).", config, p.meta(),
                     p.runner_misused(f"checks/{p.pipeline.test_job}", reserved.resource_class),
                     "runner_classes_reserved_to_deploys")

    yield from _production_in_a_job_group(full)
    yield from _job_groups_not_as_documented(p, grouped)


def _production_in_a_job_group(p: _Project) -> Iterator[PolicyCase]:
    """The production deploy (with its approval job) in a job group: honest when the invocation is filtered to
    the default branch; refused when the group opens it to another branch, skips its approval, moves it to a cloud
    class, is copied by another project, or lends it an approval through a job named like the workflow's."""
    for job in p.production_jobs()[:1]:
        context = str(job.deploy_via)
        branch = p.project.default_branch
        held = job.deploy_via in p.policy.approval_contexts
        approval = approval_job_name(job.environment)
        released = (approval, job.name) if held else (job.name,)
        name = f"release/{job.name}"
        renamed = {job.name: name}

        # The release (approval and deploy) in a group whose invocation carries the branch filter.
        config = p.copy()
        filters = p.invocation(config, job.name)["filters"]
        for member in released:
            p.invocation(config, member).pop("filters")
        release = _in_a_job_group(p, config, "release", released, filters=filters)
        if not p.project.frozen:
            yield p.case("production_release_in_a_job_group",
                         f"{' and '.join(released)} run in a job group invoked on {branch} alone.", release,
                         p.meta(), (), "prod_context_only_on_default_branch", "no_held_deploy_without_approval",
                         "production_runner_class", "runner_classes_reserved_to_deploys")
        else:
            yield p.case("production_release_in_a_job_group_during_code_freeze",
                         f"{job.name} is put back, in a job group, while the repository is under a code freeze.",
                         release, p.meta(), p.freeze_violations(renamed), "code_freeze")

        opened = copy.deepcopy(release)
        opened["workflows"][p.workflow]["jobs"] = [
            {"release": {**item["release"], "filters": {"branches": {"only": [branch, "hotfix"]}}}}
            if isinstance(item, dict) and "release" in item else item
            for item in opened["workflows"][p.workflow]["jobs"]]
        yield p.case("production_release_in_a_job_group_opened_to_another_branch",
                     f"The job group holding {job.name} is also invoked on branch hotfix.", opened, p.meta(),
                     (Violation("prod_context_only_on_default_branch", prod_context_reason(
                         p.workflow, name, context, branch)), *p.runner_opened(job, name),
                      *p.freeze_violations(renamed)), "prod_context_only_on_default_branch")

        config = p.copy()
        p.invocation(config, job.name)["filters"] = {"branches": {"only": FEATURE_BRANCH}}
        ship = _in_a_job_group(p, config, "ship", (job.name,))
        yield p.case("production_deploy_in_a_job_group_on_a_feature_branch",
                     f"{job.name}, alone in a job group, is filtered to a feature branch and the pipeline runs there.",
                     ship, p.meta(FEATURE_BRANCH),
                     (Violation("prod_context_only_on_default_branch", prod_context_reason(
                         p.workflow, f"ship/{job.name}", context, branch)),
                      *p.runner_opened(job, f"ship/{job.name}"),
                      *p.freeze_violations({job.name: f"ship/{job.name}"}),
                      *p.gates_left_behind(job, (FEATURE_BRANCH,), f"ship/{job.name}")),
                     "prod_context_only_on_default_branch", "no_held_deploy_without_approval",
                     "security_jobs_before_deploy")

        if held:
            config = p.copy()
            p.invocation(config, job.name)["requires"] = list(p.invocation(config, approval)["requires"])
            yield p.case("production_deploy_in_a_job_group_without_approval",
                         f"{job.name}, alone in a job group, requires what {approval} requires, not {approval}.",
                         _in_a_job_group(p, config, "ship", (job.name,)), p.meta(),
                         (Violation("no_held_deploy_without_approval", approval_reason(
                             p.workflow, f"ship/{job.name}", context)),
                          *p.freeze_violations({job.name: f"ship/{job.name}"})),
                         "no_held_deploy_without_approval")

        allowed = ", ".join(sorted(p.policy.production_resource_classes))
        if allowed:
            config = copy.deepcopy(release)
            config["jobs"][job.name]["resource_class"] = "large"
            yield p.case("production_deploy_in_a_job_group_on_a_cloud_resource_class",
                         f"{job.name}, in a job group, moves to a cloud resource class.", config, p.meta(),
                         (Violation("production_runner_class", runner_class_reason(
                             p.workflow, name, context, "large", allowed, job.name)),
                          *p.freeze_violations(renamed)),
                         "production_runner_class")

        declared = set(p.policy.production_contexts + p.policy.staging_contexts + p.policy.test_contexts
                       + p.policy.development_contexts)
        yield p.case("production_release_in_a_job_group_copied_by_another_project",
                     "Another project copies this config, its job group included.", release,
                     p.meta(project_id=FOREIGN_PROJECT_ID),
                     (*(Violation("contexts_reserved_to_projects", reserved_context_reason(
                         p.workflow, renamed.get(other.name, other.name), str(other.deploy_via), FOREIGN_PROJECT_ID))
                        for other in p.jobs() if other.deploy_via in declared),
                      *(Violation("runner_classes_reserved_to_deploys", runner_project_reason(
                          p.workflow, renamed.get(other.name, other.name), reserved.resource_class,
                          reserved.environment, FOREIGN_PROJECT_ID))
                        for other in p.jobs() if (reserved := p.reservation(other.runner)) is not None)),
                     "contexts_reserved_to_projects")

        if held:
            # A job of the group named like the workflow's approval job, read under the same name, would lend the
            # deploy the approval it never waits for.
            config = copy.deepcopy(release)
            config["jobs"][approval] = {"executor": "cloud", "steps": [{"run": {"name": "Approve", "command": "true"}}]}
            config["job-groups"]["release"]["jobs"] = [
                approval if isinstance(item, dict) and approval in item else item
                for item in config["job-groups"]["release"]["jobs"]]
            invocation = next(item["release"] for item in config["workflows"][p.workflow]["jobs"]
                              if isinstance(item, dict) and "release" in item)
            config["workflows"][p.workflow]["jobs"].append(
                {approval: {"type": "approval", "name": f"release/{approval}", "requires": invocation["requires"],
                            "filters": invocation["filters"]}})
            yield p.case("approval_impersonated_by_a_job_group_name",
                         f"A job of the job group release that approves itself runs under the name {approval}, and "
                         f"the workflow's approval job is named release/{approval}.", config, p.meta(),
                         (Violation("job_groups_as_documented", job_group_name_clash_reason(
                             p.workflow, f"release/{approval}", "release")), *p.freeze_violations(renamed)),
                         "job_groups_as_documented")


def _job_groups_not_as_documented(p: _Project, grouped: Config) -> Iterator[PolicyCase]:
    """Job groups in forms the policy cannot read as CircleCI expands them are refused."""
    rule = "job_groups_as_documented"
    production = p.production_jobs()[:1] or p.jobs()[:1]
    for job in production:
        config = copy.deepcopy(grouped)
        config["job-groups"]["hidden"] = {"jobs": [{job.name: {"context": str(job.deploy_via)}}]}
        config["job-groups"]["checks"]["jobs"].append("hidden")
        yield p.case("job_group_nested", f"The job group checks invokes a job group that holds {job.name}.",
                     config, p.meta(), (Violation(rule, nested_job_group_reason("checks", "hidden", "hidden")),),
                     rule)

    def invoked(**params: Any) -> Config:
        config = copy.deepcopy(grouped)
        config["workflows"][p.workflow]["jobs"] = [
            {"checks": params} if item == "checks" else item for item in config["workflows"][p.workflow]["jobs"]]
        return config

    contexts = p.policy.production_contexts or p.policy.staging_contexts or ("a-context",)
    yield p.case("job_group_invoked_with_a_context", "The job group checks is invoked with a context.",
                 invoked(context=contexts[0]), p.meta(),
                 (Violation(rule, job_group_invocation_reason(p.workflow, "checks", "checks", ("context",))),), rule)

    config = copy.deepcopy(grouped)
    config["jobs"]["checks"] = {"executor": "cloud", "steps": [{"run": "true"}]}
    yield p.case("job_group_named_like_a_job", "A job is defined under the name of the job group checks.",
                 config, p.meta(), (Violation(rule, job_group_named_like_a_job_reason("checks")),), rule)

    config = copy.deepcopy(grouped)
    config["job-groups"] = [config["job-groups"]]
    yield p.case("job_groups_not_a_map", "job-groups is a list, which CircleCI does not read.", config, p.meta(),
                 (Violation(rule, job_groups_shape_reason()),
                  *(Violation("security_jobs_before_deploy", security_job_reason(
                      p.workflow, job.name, str(job.deploy_via), security_job))
                    for security_job in p.pipeline.security_jobs[:1] for job in p.jobs() if job.deploy_via)),
                 rule)
