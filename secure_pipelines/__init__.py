"""secure-pipelines: release production secrets to reviewed CI jobs only.

The public API: load a declaration, derive the plan, and read it.
"""

from .declaration.loader import load_declaration, parse_declaration
from .declaration.model import Declaration, Tier
from .errors import DeclarationNotFound, InvalidDeclaration, Problem, SecurePipelinesError
from .plan.assembly import build_plan
from .plan.model import CIRole, EnvironmentPlan, Plan

__all__ = [
    "CIRole",
    "Declaration",
    "DeclarationNotFound",
    "EnvironmentPlan",
    "InvalidDeclaration",
    "Plan",
    "Problem",
    "SecurePipelinesError",
    "Tier",
    "build_plan",
    "load_declaration",
    "parse_declaration",
]
