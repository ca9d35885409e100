"""secure-pipelines: release production secrets to reviewed CI jobs only.

The public API: load a declaration, derive the plan, and read it.
"""

from .declaration import Declaration, Tier
from .errors import DeclarationNotFound, InvalidDeclaration, Problem, SecurePipelinesError
from .loader import load_declaration, parse_declaration
from .plan import CIRole, EnvironmentPlan, Plan, build_plan

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
