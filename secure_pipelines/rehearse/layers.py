"""The layers after Vault: what CircleCI's context restriction and config policy decide for a job.

Vault cannot see everything (a glob role cannot bind a boolean claim). When Vault admits an attack,
the rehearsal asks these layers, and reports the one that stops it with the check that proves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..declaration import CISystemName
from ..plan import Plan
from .context_expression import evaluate
from .identities import Job

CONTEXT_LAYER = "CircleCI context restriction"


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
    shown = ", ".join(f"{k}={v!r}" for k, v in facts.items())
    return LayerDecision(
        CONTEXT_LAYER, not admitted,
        f"context {context.name}: `{context.restriction_expression}` is {str(admitted).lower()} for {shown}",
    )


def other_layers(plan: Plan, job: Job) -> list[LayerDecision]:
    """Every non-Vault layer's decision on ``job`` that applies to it."""
    decisions = [context_restriction(plan, job)]
    return [d for d in decisions if d is not None]
