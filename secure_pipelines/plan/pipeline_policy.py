"""The CI-neutral pipeline policy: what every pipeline must respect, whichever CI system runs it."""

from __future__ import annotations

from ..declaration.model import Declaration
from .model import PipelinePolicyPlan


def pipeline_policy(declaration: Declaration) -> PipelinePolicyPlan:
    policy = declaration.pipeline_policy
    return PipelinePolicyPlan(
        approved_registries=policy.approved_registries,
        required_security_jobs=policy.required_security_jobs,
        code_freeze=policy.code_freeze,
    )
