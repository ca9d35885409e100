"""The plan: pure data derived once from a validated declaration, read by every output.

``model`` holds the frozen dataclasses; ``assembly.build_plan`` builds them, with one module per
target: ``vault`` (mounts, roles, policies, paths), ``github`` (protection, rulesets, deployment
environments) and ``pipeline_policy`` (what every pipeline must respect).
"""

from .model import (
    AdminAuthMount,
    AdminRole,
    BoundClaim,
    BranchProtection,
    CIRole,
    Deployer,
    Deployment,
    DeveloperLookup,
    EnvironmentPlan,
    GitHubEnvironment,
    Grant,
    JwtMount,
    OrganizationRuleset,
    PipelinePolicyPlan,
    Plan,
    PromotionRecords,
    RepositoryPlan,
    SecretPath,
    SecretStore,
    VaultPolicy,
)

__all__ = [
    "AdminAuthMount",
    "AdminRole",
    "BoundClaim",
    "BranchProtection",
    "CIRole",
    "Deployer",
    "Deployment",
    "DeveloperLookup",
    "EnvironmentPlan",
    "GitHubEnvironment",
    "Grant",
    "JwtMount",
    "OrganizationRuleset",
    "PipelinePolicyPlan",
    "Plan",
    "PromotionRecords",
    "RepositoryPlan",
    "SecretPath",
    "SecretStore",
    "VaultPolicy",
]
