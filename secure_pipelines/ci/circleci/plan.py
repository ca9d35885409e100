"""CircleCI's part of the plan (kept in ``Plan.extras``): each environment's context, runner and
approval, and the config policy's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from ...declaration.model import Declaration, Environment, Repository, Tier
from ...plan.model import Plan
from . import sections
from .policy.model import ConfigPolicyPlan, PolicyProject, ReservedRunnerClass

NAME = "circleci"
NOT_UNVERSIONED_CONFIG = 'not (pipeline.config_source starts-with "api")'
"""CircleCI's own documented clause (contexts page, "Expression restrictions") refusing pipelines
triggered with unversioned configuration. The value of ``pipeline.config_source`` for a checked-in
config is not documented; any value not starting with ``api`` passes, and were the variable absent,
CircleCI fails closed (every deploy ``Unauthorized``, no secret released)."""


@dataclass(frozen=True)
class CircleCIContext:
    """A CircleCI context: created in CircleCI, restricted as the plan says (not a Pulumi resource)."""

    environment: str
    tier: Tier
    name: str
    id: str
    project_ids: tuple[str, ...]
    restriction_expression: str
    """Context expression restriction, e.g. ``pipeline.git.branch == "main" and not job.ssh.enabled and
    not (pipeline.config_source starts-with "api")``."""
    security_group: str | None
    """The security group (GitHub team) whose members alone may start or approve jobs using it."""

    @property
    def restrictions(self) -> str:
        """Every restriction of the context, for people: the expression, then the security group."""
        group = f"; security group {self.security_group}" if self.security_group else "; no security group"
        return self.restriction_expression + group


@dataclass(frozen=True)
class CircleCIEnvironmentPlan:
    """How CircleCI deploys to one environment."""

    environment: str
    context: CircleCIContext | None
    runner_resource_class: str | None
    ip_ranges: bool
    approval_hold: bool


@dataclass(frozen=True)
class CircleCIProject:
    """The CircleCI project that builds one repository."""

    repository: str
    project_id: str
    pipeline_definition_id: str | None


@dataclass(frozen=True)
class CircleCIPlan:
    environments: tuple[CircleCIEnvironmentPlan, ...]
    config_policy: ConfigPolicyPlan
    org_id: str = ""
    projects: tuple[CircleCIProject, ...] = ()
    developers: tuple[tuple[str, str], ...] = ()
    """``(developer, CircleCI user id)`` of every developer the declaration gives a CircleCI identity."""

    def environment(self, name: str) -> CircleCIEnvironmentPlan:
        return next(e for e in self.environments if e.environment == name)

    def context(self, environment: str) -> CircleCIContext | None:
        found = next((e for e in self.environments if e.environment == environment), None)
        return found.context if found else None


def circleci_plan(plan: Plan) -> CircleCIPlan:
    """CircleCI's part of ``plan`` (present whenever a repository builds on CircleCI)."""
    extra = plan.extra(NAME)
    if extra is None:
        raise KeyError("no repository of this plan builds on CircleCI")
    return cast(CircleCIPlan, extra)


def build(declaration: Declaration) -> CircleCIPlan:
    return CircleCIPlan(
        environments=tuple(_environment(declaration, env) for env in declaration.environments),
        config_policy=_config_policy(declaration),
        org_id=str(sections.organization(declaration).org_id),
        projects=tuple(
            CircleCIProject(r.name, sections.project_id(r),
                            str(section.pipeline_definition_id) if section.pipeline_definition_id else None)
            for r in declaration.repositories if (section := sections.repository(r)) is not None
        ),
        developers=tuple((d.name, str(user.user_id)) for d in declaration.developers
                         if (user := sections.developer(d)) is not None),
    )


def _users(declaration: Declaration, env: Environment) -> list[Repository]:
    return [r for r in declaration.repositories if r.name in env.repositories and sections.builds_on_circleci(r)]


def _environment(declaration: Declaration, env: Environment) -> CircleCIEnvironmentPlan:
    section = sections.environment(env)
    return CircleCIEnvironmentPlan(
        environment=env.name,
        context=_context(declaration, env),
        runner_resource_class=section.runner_resource_class,
        ip_ranges=section.ip_ranges,
        approval_hold=section.approval_hold,
    )


def _deploy_branches(declaration: Declaration, env: Environment) -> tuple[str, ...]:
    """The branches CircleCI deploys to ``env`` from, over every repository that does."""
    return tuple(sorted({b for r in _users(declaration, env) for b in declaration.deploy_branches(env, r)}))


def _context(declaration: Declaration, env: Environment) -> CircleCIContext | None:
    context = sections.environment(env).context
    users = _users(declaration, env)
    if context is None or not users:
        return None
    # No context is ever available to an SSH rerun: a per-developer role cannot bind the boolean
    # ssh-rerun claim in Vault (glob mode compares strings only), so the context refuses it instead.
    # Nor to a pipeline run with a config that was never committed (CircleCI's "unversioned config"):
    # its jobs carry the same OIDC claims as the reviewed config's, so only the context can tell.
    expression = f"not job.ssh.enabled and {NOT_UNVERSIONED_CONFIG}"
    branches = _deploy_branches(declaration, env)
    if "*" not in branches:
        branch_test = " or ".join(f'pipeline.git.branch == "{b}"' for b in branches)
        if len(branches) > 1:
            branch_test = f"({branch_test})"
        expression = f"{branch_test} and {expression}"
    return CircleCIContext(
        environment=env.name,
        tier=env.tier,
        name=context.name,
        id=str(context.id),
        project_ids=tuple(sections.project_id(r) for r in users),
        restriction_expression=expression,
        security_group=context.security_group,
    )


def _config_policy(declaration: Declaration) -> ConfigPolicyPlan:
    settings = sections.organization(declaration).config_policy
    policy = declaration.pipeline_policy
    contexts = {env.name: ctx.name for env in declaration.environments
                if (ctx := sections.environment(env).context) is not None}

    def contexts_of(tier: Tier) -> tuple[str, ...]:
        return tuple(sorted(contexts[e.name] for e in declaration.environments
                            if e.tier is tier and e.name in contexts))

    projects = tuple(
        PolicyProject(
            project_id=sections.project_id(r),
            repository=r.name,
            default_branch=r.default_branch,
            contexts=tuple(sorted(contexts[e.name] for e in declaration.environments
                                  if r.name in e.repositories and e.name in contexts)),
            frozen=r.name in policy.code_freeze,
        )
        for r in declaration.repositories if sections.builds_on_circleci(r)
    )
    production_classes = sorted({
        runner for env in declaration.environments
        if env.tier is Tier.PRODUCTION and (runner := sections.environment(env).runner_resource_class)
    })
    reserved = tuple(
        ReservedRunnerClass(
            resource_class=runner,
            environment=env.name,
            context=contexts[env.name],
            branches=None if "*" in (branches := _deploy_branches(declaration, env)) else branches,
            project_ids=tuple(sections.project_id(r) for r in _users(declaration, env)),
        )
        for env in declaration.environments
        if (runner := sections.environment(env).runner_resource_class) and env.name in contexts
        and _users(declaration, env)
    )
    return ConfigPolicyPlan(
        projects=projects,
        production_contexts=contexts_of(Tier.PRODUCTION),
        staging_contexts=contexts_of(Tier.STAGING),
        test_contexts=contexts_of(Tier.TEST),
        development_contexts=contexts_of(Tier.DEVELOPMENT),
        approval_contexts=tuple(sorted(contexts[e.name] for e in declaration.environments
                                       if sections.environment(e).approval_hold and e.name in contexts)),
        approved_orbs=settings.approved_orbs,
        banned_orb_versions=settings.banned_orb_versions,
        approved_registries=policy.approved_registries,
        production_resource_classes=tuple(production_classes),
        reserved_runner_classes=reserved,
        required_security_jobs=policy.required_security_jobs,
        rule_modes=tuple((rule, mode) for rule, mode in settings.rules),
    )
