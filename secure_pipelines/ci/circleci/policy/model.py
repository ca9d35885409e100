"""The config policy's declaration section and plan data (the rules, their modes, what they check)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import field_validator

from ....declaration.model import Strict


class RuleMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class ConfigPolicyRules(Strict):
    """Whether each config-policy rule hard-fails (blocks) or soft-fails (warns)."""

    prod_context_only_on_default_branch: RuleMode = RuleMode.HARD
    no_ssh_rerun_with_protected_context: RuleMode = RuleMode.HARD
    orbs_from_allowlist: RuleMode = RuleMode.HARD
    banned_orb_versions: RuleMode = RuleMode.HARD
    security_jobs_before_deploy: RuleMode = RuleMode.HARD
    contexts_reserved_to_projects: RuleMode = RuleMode.HARD
    production_runner_class: RuleMode = RuleMode.HARD
    images_from_approved_registries: RuleMode = RuleMode.HARD
    code_freeze: RuleMode = RuleMode.HARD
    no_held_deploy_without_approval: RuleMode = RuleMode.HARD
    no_floating_orb_versions: RuleMode = RuleMode.HARD
    runner_classes_reserved_to_deploys: RuleMode = RuleMode.HARD
    job_groups_as_documented: RuleMode = RuleMode.HARD


class ConfigPolicySettings(Strict):
    """``ci.circleci.config_policy``: what the organisation's config policies allow."""

    approved_orbs: tuple[str, ...] = ()
    """Orbs by ``namespace/name`` that configs may use."""
    banned_orb_versions: tuple[str, ...] = ()
    """Refused orb versions: ``namespace/name@1.2.3`` that version, ``@1.2`` every 1.2.x, ``@1`` every 1.x.y."""
    rules: ConfigPolicyRules = ConfigPolicyRules()

    @field_validator("approved_orbs")
    @classmethod
    def _orb_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for orb in value:
            if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", orb):
                raise ValueError(f"{orb!r} is not an orb name; write namespace/name without a version")
        return value

    @field_validator("banned_orb_versions")
    @classmethod
    def _orb_versions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for orb in value:
            if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+@[0-9]+(\.[0-9]+){0,2}", orb):
                raise ValueError(f"{orb!r} is not an orb version; write namespace/name@1.2.3 (that version), "
                                 "@1.2 (every 1.2.x) or @1 (every 1.x.y): configs may only import pinned x.y.z "
                                 "versions, so floating or dev versions need no ban")
        return value


@dataclass(frozen=True)
class PolicyProject:
    """What the config policy knows about one project."""

    project_id: str
    repository: str
    default_branch: str
    contexts: tuple[str, ...]
    frozen: bool


@dataclass(frozen=True)
class ReservedRunnerClass:
    """An environment's self-hosted runner class, which only that environment's deploy jobs may use."""

    resource_class: str
    environment: str
    context: str
    """The context of the environment's deploy jobs."""
    branches: tuple[str, ...] | None
    """The branches its deploys run from (``None``: any branch)."""
    project_ids: tuple[str, ...]
    """The projects that deploy to the environment."""


@dataclass(frozen=True)
class ConfigPolicyPlan:
    """The data the config policies are rendered from."""

    projects: tuple[PolicyProject, ...]
    production_contexts: tuple[str, ...]
    staging_contexts: tuple[str, ...]
    test_contexts: tuple[str, ...]
    development_contexts: tuple[str, ...]
    approval_contexts: tuple[str, ...]
    """Contexts of environments held for approval (``ci.circleci.approval_hold``): their deploy jobs must
    require an approval job first."""
    approved_orbs: tuple[str, ...]
    banned_orb_versions: tuple[str, ...]
    approved_registries: tuple[str, ...]
    production_resource_classes: tuple[str, ...]
    """The runner classes production deploys may run on (each production environment's)."""
    reserved_runner_classes: tuple[ReservedRunnerClass, ...]
    """Every environment's runner class, reserved to that environment's deploy jobs."""
    required_security_jobs: tuple[str, ...]
    rule_modes: tuple[tuple[str, RuleMode], ...]

    @property
    def hard_fail_rules(self) -> tuple[str, ...]:
        return tuple(rule for rule, mode in self.rule_modes if mode is RuleMode.HARD)

    @property
    def enabled_rules(self) -> tuple[str, ...]:
        return tuple(rule for rule, _ in self.rule_modes)
