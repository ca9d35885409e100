"""The layers after Vault: what CircleCI's context restriction and config policy decide for a job.

Vault cannot see everything (a glob role cannot bind a boolean claim). When Vault admits an attack,
the rehearsal asks these layers, and reports the one that stops it with the check that proves it.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from ...plan.model import Plan
from ...render.templating import RenderSource
from ..base import Job, LayerDecision
from .claims import (
    CHECKED_IN_CONFIG,
    CONFIG_SOURCE_TRAIT,
    CUSTOM_WEBHOOK_TRAIT,
    RELEASED_BY_OUTSIDER_TRAIT,
    SSH_RERUN_TRAIT,
)
from .context_expression import evaluate
from .identity import job_project_id
from .plan import circleci_plan
from .policy.bundle import circleci_policies
from .policy.cases import parse_config
from .policy.decision import Decision, DecisionStatus
from .policy.evaluator import WORKERS_FROM_PROJECTS, PolicyEvaluator
from .render import circleci_config

CONTEXT_LAYER = "CircleCI context restriction"
CONFIG_POLICY_LAYER = "CircleCI config policy"


def context_restriction(plan: Plan, job: Job) -> LayerDecision | None:
    """Whether the job's context admits it (None when the job uses no context)."""
    if job.deploys_via is None:
        return None
    context = circleci_plan(plan).context(job.deploys_via)
    if context is None:
        return None
    project = job_project_id(job)
    if project not in context.project_ids:
        return LayerDecision(
            CONTEXT_LAYER, True,
            f"context {context.name} is restricted to projects {', '.join(context.project_ids)}; "
            f"{project} is not one of them",
        )
    if job.trait(CUSTOM_WEBHOOK_TRAIT):
        # CircleCI: "Restricting contexts for custom webhook triggers is not currently supported". Read
        # it the way that claims least: no restriction of the context stops such a pipeline.
        return LayerDecision(CONTEXT_LAYER, False,
                             f"context {context.name}: CircleCI does not support context restrictions for custom "
                             "webhook triggers, so none is counted here")
    if context.security_group and job.trait(RELEASED_BY_OUTSIDER_TRAIT):
        who = "the approver of its hold" if circleci_plan(plan).environment(context.environment).approval_hold \
            else "the user who started the pipeline"
        return LayerDecision(
            CONTEXT_LAYER, True,
            f"context {context.name} is restricted to security group {context.security_group} and {who} is not a "
            "member: CircleCI refuses the job as Unauthorized (set by hand: Organization Settings > Contexts)",
        )
    facts: dict[str, str | bool | int] = {
        "pipeline.git.branch": job.branch or "",
        "job.ssh.enabled": bool(job.trait(SSH_RERUN_TRAIT)),
        "pipeline.config_source": str(job.trait(CONFIG_SOURCE_TRAIT, CHECKED_IN_CONFIG)),
    }
    admitted = evaluate(context.restriction_expression, facts)
    shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else repr(v)}" for k, v in facts.items())
    return LayerDecision(
        CONTEXT_LAYER, not admitted,
        f"context {context.name}: `{context.restriction_expression}` is {str(admitted).lower()} for {shown}",
    )


# Rendering is pure but not free: the bundle once per plan, each config once per repository. Keyed by
# the plan object.
_BUNDLES: dict[int, tuple[Plan, dict[str, str]]] = {}
_CONFIGS: dict[tuple[int, str], tuple[Plan, dict[str, Any]]] = {}
_DECIDED: dict[tuple[int, str, str, str, bool], tuple[Plan, Future[Decision]]] = {}
_GUARD = threading.Lock()
_EVALUATOR = PolicyEvaluator()
"""Evaluates the config policies in the background (one thread, or worker processes once ``start`` asks for
them): the rehearsal's threads go on firing while it works."""


def _policy_inputs(plan: Plan, repository: str) -> tuple[dict[str, str], dict[str, Any]]:
    source = RenderSource("the declaration", "securepipe rehearse")
    bundle = _BUNDLES.get(id(plan))
    if bundle is None or bundle[0] is not plan:
        bundle = _BUNDLES[id(plan)] = (plan, circleci_policies(plan, source))
    config = _CONFIGS.get((id(plan), repository))
    if config is None or config[0] is not plan:
        config = _CONFIGS[(id(plan), repository)] = (plan, parse_config(circleci_config(plan, repository, source)))
    return bundle[1], config[1]


def _decision(plan: Plan, job: Job) -> Future[Decision]:
    """The config policy's decision for the job's pipeline, evaluated once per (config, metadata): many
    attacks share both. Started in the background if it is not yet."""
    ssh_rerun = bool(job.trait(SSH_RERUN_TRAIT))
    project = job_project_id(job)
    key = (id(plan), job.repository.name, project, job.branch or "", ssh_rerun)
    with _GUARD:
        cached = _DECIDED.get(key)
        if cached is not None and cached[0] is plan:
            return cached[1]
        meta = {"project_id": project, "vcs": {"branch": job.branch or ""}, "ssh_rerun": ssh_rerun}
        policies, config = _policy_inputs(plan, job.repository.name)
        decision = _EVALUATOR.submit(policies, config, meta)
        _DECIDED[key] = (plan, decision)
        return decision


def config_policy(plan: Plan, job: Job) -> LayerDecision | None:
    """The config policy's decision for the job's pipeline.

    Evaluated on the repository's reviewed config (as rendered from the plan) with the job's
    pipeline metadata: the decision CircleCI makes when such a pipeline (or rerun) starts.
    """
    decision = _decision(plan, job).result()
    rules = sorted({v.rule for v in decision.hard_failures})
    shown = f"{decision.status}" + (f" ({', '.join(rules)})" if rules else "")
    ssh_rerun = bool(job.trait(SSH_RERUN_TRAIT))
    return LayerDecision(
        CONFIG_POLICY_LAYER, decision.status is DecisionStatus.HARD_FAIL,
        f"config policy decision {shown} for branch {job.branch or '-'}, ssh_rerun={str(ssh_rerun).lower()}",
    )


class CircleCILayers:
    """The layers after Vault on CircleCI: the context restriction, then the config policy."""

    def start(self, plan: Plan) -> None:
        """Get the config policy's evaluator ready (worker processes for a large organisation) while the
        rehearsal does other work."""
        projects = len(circleci_plan(plan).config_policy.projects)
        _EVALUATOR.start(in_workers=projects >= WORKERS_FROM_PROJECTS)

    def prepare(self, plan: Plan, job: Job) -> None:
        """Start the config policy's evaluation for the job in the background."""
        _decision(plan, job)

    def cpu_seconds(self) -> float:
        """CPU seconds the config-policy evaluations took in worker processes so far."""
        return _EVALUATOR.cpu_seconds()

    def decide(self, plan: Plan, job: Job, *, thorough: bool) -> list[LayerDecision]:
        """The context restriction is cheap and always asked. The config policy (a Rego evaluation) is
        asked when ``thorough``: when Vault admitted the job and a later layer must stop it."""
        decisions = [context_restriction(plan, job)]
        if thorough:
            decisions.append(config_policy(plan, job))
        return [d for d in decisions if d is not None]
