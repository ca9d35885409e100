"""The layers after Vault: what CircleCI's context restriction and config policy decide for a job.

Vault cannot see everything (a glob role cannot bind a boolean claim). When Vault admits an attack,
the rehearsal asks these layers, and reports the one that stops it with the check that proves it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..declaration import CISystemName
from ..plan import Plan
from .context_expression import evaluate
from .identities import Job

CONTEXT_LAYER = "CircleCI context restriction"
CONFIG_POLICY_LAYER = "CircleCI config policy"


@dataclass(frozen=True)
class LayerDecision:
    layer: str
    stops: bool
    proof: str
    """The check and its result, e.g. ``acme-dev: `not job.ssh.enabled` is false (ssh rerun)``."""


def context_restriction(plan: Plan, job: Job) -> LayerDecision | None:
    """Whether the job's CircleCI context admits it (None when the job uses no CircleCI context)."""
    if job.ci is not CISystemName.CIRCLECI or job.deploys_via is None:
        return None
    env = next((e for e in plan.environments if e.name == job.deploys_via), None)
    context = env.circleci_context if env else None
    if context is None:
        return None
    project = str(job.repository.circleci_project_id)
    if project not in context.project_ids:
        return LayerDecision(
            CONTEXT_LAYER, True,
            f"context {context.name} is restricted to projects {', '.join(context.project_ids)}; "
            f"{project} is not one of them",
        )
    facts: dict[str, str | bool] = {"pipeline.git.branch": job.branch or "", "job.ssh.enabled": job.ssh_rerun}
    admitted = evaluate(context.restriction_expression, facts)
    shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else repr(v)}" for k, v in facts.items())
    return LayerDecision(
        CONTEXT_LAYER, not admitted,
        f"context {context.name}: `{context.restriction_expression}` is {str(admitted).lower()} for {shown}",
    )


# Rendering is pure but not free; a rehearsal asks once per repository. Keyed by the plan object.
_RENDERED: dict[tuple[int, str], tuple[Plan, dict[str, str], dict[str, Any]]] = {}
_POLICY_LOCK = threading.Lock()
"""One Rego evaluation at a time: the rehearsal fires roles from several threads."""


def _policy_inputs(plan: Plan, repository: str) -> tuple[dict[str, str], dict[str, Any]]:
    from ..render import RenderSource, circleci_config, circleci_policies, parse_config

    cached = _RENDERED.get((id(plan), repository))
    if cached is not None and cached[0] is plan:
        return cached[1], cached[2]
    source = RenderSource("the declaration", "securepipe rehearse")
    config = parse_config(circleci_config(plan, repository, source))
    policies = circleci_policies(plan, source)
    _RENDERED[(id(plan), repository)] = (plan, policies, config)
    return policies, config


def config_policy(plan: Plan, job: Job) -> LayerDecision | None:
    """CircleCI's config policy decision for the job's pipeline (None for other CI systems).

    Evaluated on the repository's reviewed config (as rendered from the plan) with the job's
    pipeline metadata: the decision CircleCI makes when such a pipeline (or rerun) starts.
    """
    if job.ci is not CISystemName.CIRCLECI or job.repository.circleci_project_id is None:
        return None
    from ..policy_eval import DecisionStatus, evaluate_policies

    meta = {"project_id": str(job.repository.circleci_project_id), "vcs": {"branch": job.branch or ""},
            "ssh_rerun": job.ssh_rerun}
    with _POLICY_LOCK:
        policies, config = _policy_inputs(plan, job.repository.name)
        decision = evaluate_policies(policies, config, meta)
    rules = sorted({v.rule for v in decision.hard_failures})
    shown = f"{decision.status}" + (f" ({', '.join(rules)})" if rules else "")
    return LayerDecision(
        CONFIG_POLICY_LAYER, decision.status is DecisionStatus.HARD_FAIL,
        f"config policy decision {shown} for branch {job.branch or '-'}, ssh_rerun={str(job.ssh_rerun).lower()}",
    )


def other_layers(plan: Plan, job: Job, *, thorough: bool = False) -> list[LayerDecision]:
    """The non-Vault layers' decisions on ``job`` that apply to it.

    The context restriction is cheap and always asked. The config policy (a Rego evaluation) is
    asked when ``thorough``: when Vault admitted the job and a later layer must stop it.
    """
    decisions = [context_restriction(plan, job)]
    if thorough:
        decisions.append(config_policy(plan, job))
    return [d for d in decisions if d is not None]
