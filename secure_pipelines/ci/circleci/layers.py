"""The layers after Vault: what CircleCI's context restriction and config policy decide for a job.

Vault cannot see everything (a glob role cannot bind a boolean claim). When Vault admits an attack,
the rehearsal asks these layers, and reports the one that stops it with the check that proves it.
"""

from __future__ import annotations

import threading
from typing import Any

from ...plan.model import Plan
from ...render.templating import RenderSource
from ..base import Job, LayerDecision
from .claims import SSH_RERUN_TRAIT
from .context_expression import evaluate
from .identity import job_project_id
from .plan import circleci_plan
from .policy.bundle import circleci_policies
from .policy.cases import parse_config
from .policy.decision import DecisionStatus
from .policy.evaluate import evaluate_policies
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
    ssh_rerun = bool(job.trait(SSH_RERUN_TRAIT))
    facts: dict[str, str | bool] = {"pipeline.git.branch": job.branch or "", "job.ssh.enabled": ssh_rerun}
    admitted = evaluate(context.restriction_expression, facts)
    shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else repr(v)}" for k, v in facts.items())
    return LayerDecision(
        CONTEXT_LAYER, not admitted,
        f"context {context.name}: `{context.restriction_expression}` is {str(admitted).lower()} for {shown}",
    )


# Rendering is pure but not free; a rehearsal asks once per repository. Keyed by the plan object.
_RENDERED: dict[tuple[int, str], tuple[Plan, dict[str, str], dict[str, Any]]] = {}
_DECIDED: dict[tuple[int, str, str, str, bool], tuple[Plan, LayerDecision]] = {}
"""Decisions already made: the evaluation is pure in the plan, the repository and the pipeline's
metadata, and one costs tens of milliseconds (several developers' jobs of a repository ask the same)."""
_POLICY_LOCK = threading.Lock()
"""One Rego evaluation at a time: the rehearsal fires roles from several threads."""


def _policy_inputs(plan: Plan, repository: str) -> tuple[dict[str, str], dict[str, Any]]:
    cached = _RENDERED.get((id(plan), repository))
    if cached is not None and cached[0] is plan:
        return cached[1], cached[2]
    source = RenderSource("the declaration", "securepipe rehearse")
    config = parse_config(circleci_config(plan, repository, source))
    policies = circleci_policies(plan, source)
    _RENDERED[(id(plan), repository)] = (plan, policies, config)
    return policies, config


def config_policy(plan: Plan, job: Job) -> LayerDecision | None:
    """The config policy's decision for the job's pipeline.

    Evaluated on the repository's reviewed config (as rendered from the plan) with the job's
    pipeline metadata: the decision CircleCI makes when such a pipeline (or rerun) starts.
    """
    ssh_rerun = bool(job.trait(SSH_RERUN_TRAIT))
    project_id, branch = job_project_id(job), job.branch or ""
    key = (id(plan), job.repository.name, project_id, branch, ssh_rerun)
    with _POLICY_LOCK:
        cached = _DECIDED.get(key)
        if cached is not None and cached[0] is plan:
            return cached[1]
        policies, config = _policy_inputs(plan, job.repository.name)
        decision = evaluate_policies(policies, config,
                                     {"project_id": project_id, "vcs": {"branch": branch}, "ssh_rerun": ssh_rerun})
        rules = sorted({v.rule for v in decision.hard_failures})
        shown = f"{decision.status}" + (f" ({', '.join(rules)})" if rules else "")
        decided = LayerDecision(
            CONFIG_POLICY_LAYER, decision.status is DecisionStatus.HARD_FAIL,
            f"config policy decision {shown} for branch {job.branch or '-'}, ssh_rerun={str(ssh_rerun).lower()}",
        )
        _DECIDED[key] = (plan, decided)
        return decided


class CircleCILayers:
    """The layers after Vault on CircleCI: the context restriction, then the config policy."""

    def decide(self, plan: Plan, job: Job, *, thorough: bool) -> list[LayerDecision]:
        """The context restriction is cheap and always asked. The config policy (a Rego evaluation) is
        asked when ``thorough``: when Vault admitted the job and a later layer must stop it."""
        decisions = [context_restriction(plan, job)]
        if thorough:
            decisions.append(config_policy(plan, job))
        return [d for d in decisions if d is not None]
