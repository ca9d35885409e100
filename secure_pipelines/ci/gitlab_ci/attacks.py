"""Attacks only GitLab CI's jobs can make, each one change away from a legitimate deploy.

Each is judged by the role's bound claims. Where a role does not bind the claim an attack changes
(a development role deploys from any branch, from any runner where the allowlist is open), the
attack is still fired and shown as an accepted risk with the design's reason; so is the one walk no
claim can tell apart: a developer retrying, or playing, a job of someone else's pipeline.
"""

from __future__ import annotations

from ...declaration.model import Tier
from ..base import AttackTarget, JobAttack
from . import sections
from .checks import closed_allowlist
from .claims import (
    ANOTHER_CONFIG_FILE,
    ANOTHER_PROJECT_CONFIG,
    AUDIENCE_TRAIT,
    CI_CONFIG_TRAIT,
    DEPLOYMENT_TIER_TRAIT,
    ENVIRONMENT_ACTION_TRAIT,
    ENVIRONMENT_PROTECTED_TRAIT,
    FORK_CLAIMS_BEFORE_18_2_2,
    FORK_CLAIMS_CURRENT,
    FORK_MERGE_REQUEST_TRAIT,
    GITLAB_HOSTED,
    INSTANCE_URL_AUDIENCE,
    JOB_USER_TRAIT,
    PIPELINE_SOURCE_TRAIT,
    REF_PROTECTED_TRAIT,
    RUNNER_TRAIT,
)
from .identity import ANOTHER_CONFIG_PATH

OUTSIDE_SOURCES = ("trigger", "api", "pipeline", "parent_pipeline", "web", "schedule")
"""Pipelines started other than by a push; ``web`` and ``schedule`` only where not declared."""
NON_DEPLOYING_ACTIONS = ("prepare", "verify", "access", "stop")
"""Environment actions that create no deployment, so skip deployment approvals (GitLab 17.4+): never a deploy."""

UNPROTECTED_RISK = ("a development environment deploys from unprotected branches too; the role binds the "
                    "project, the environment and (per developer) the developer")
ANY_BRANCH_RISK = ("any branch may deploy to this environment, running that branch's own CI config, so the config "
                   "cannot be pinned; the role binds the project, the environment and (per developer) the developer")
OPEN_ALLOWLIST_RISK = "the environment's allowlist admits every address, so any runner may deploy there"
RUN_BY_ANOTHER_RISK = ("GitLab's ID token names the user executing the job (user_id), whoever pushed its pipeline, and "
                       "no claim tells a job {actor} retries or plays from one {actor} pushed; validate warns about it "
                       "(environments[{environment}].per_developer)")
FREE_PLAN_RISK = ("GitLab Free cannot protect environments; the declaration's "
                  "overrides.unprotected_environment gives the reason this is accepted")


def attacks(target: AttackTarget) -> list[JobAttack]:
    """GitLab's attack matrix for one role (the core fires the common ones)."""
    legitimate = target.legitimate
    branch = target.deployment.branches[0] if "*" not in target.deployment.branches \
        else legitimate.repository.default_branch
    on_branch = legitimate.but(ref=f"refs/heads/{branch}")
    environment = target.declaration.environment(target.role.environment)
    unprotected = UNPROTECTED_RISK if target.role.tier is Tier.DEVELOPMENT else None
    any_branch = ANY_BRANCH_RISK if "*" in target.deployment.branches else None
    open_allowlist = None if closed_allowlist(environment) else OPEN_ALLOWLIST_RISK
    found = [
        JobAttack(f"merge-request pipeline from a branch named {branch}",
                  on_branch.but(event="pull_request")),
        JobAttack(f"protected merge-request pipeline from {branch} (protect_merge_request_pipelines)",
                  on_branch.but(event="pull_request").with_trait(REF_PROTECTED_TRAIT, True)),
        JobAttack(f"fork's merge request run in the parent project, from the fork's branch {branch} "
                  f"(GitLab {FORK_CLAIMS_CURRENT} claims)",
                  on_branch.but(event="pull_request").with_trait(FORK_MERGE_REQUEST_TRAIT, FORK_CLAIMS_CURRENT)),
        JobAttack(f"fork's merge request run in the parent project, from the fork's branch {branch} "
                  "(claims of GitLab before 18.2.2: the parent's project ids)",
                  on_branch.but(event="pull_request").with_trait(FORK_MERGE_REQUEST_TRAIT,
                                                                  FORK_CLAIMS_BEFORE_18_2_2)),
        JobAttack(f"protected tag named {branch}", legitimate.but(ref=f"refs/tags/{branch}", event="tag")
                  .with_trait(REF_PROTECTED_TRAIT, True)),
        JobAttack(f"{branch} unprotected (ref_protected false)",
                  on_branch.with_trait(REF_PROTECTED_TRAIT, False), accepted_when_unbound=unprotected),
        JobAttack(f"another CI config file of the project ({ANOTHER_CONFIG_PATH})",
                  legitimate.with_trait(CI_CONFIG_TRAIT, ANOTHER_CONFIG_FILE), accepted_when_unbound=any_branch),
        JobAttack("CI config kept in another project (ci_config_ref_uri null)",
                  legitimate.with_trait(CI_CONFIG_TRAIT, ANOTHER_PROJECT_CONFIG), accepted_when_unbound=any_branch),
        JobAttack("ID token requested with the instance URL as audience",
                  legitimate.with_trait(AUDIENCE_TRAIT, INSTANCE_URL_AUDIENCE)),
        JobAttack("environment under another deployment tier (other)",
                  legitimate.with_trait(DEPLOYMENT_TIER_TRAIT, "other")),
        JobAttack("GitLab-hosted runner (runner_environment gitlab-hosted)",
                  legitimate.with_trait(RUNNER_TRAIT, GITLAB_HOSTED), accepted_when_unbound=open_allowlist),
    ]
    if target.role.tier is not Tier.DEVELOPMENT:
        free = not sections.organization(target.declaration).plan.protects_environments
        found.append(JobAttack("environment not protected (environment_protected false)",
                               legitimate.with_trait(ENVIRONMENT_PROTECTED_TRAIT, False),
                               accepted_when_unbound=FREE_PLAN_RISK if free else None))
    declared = sections.environment(environment).deploy_sources
    for source in OUTSIDE_SOURCES:
        if source not in declared:
            found.append(JobAttack(f"{source} pipeline on {branch}",
                                   on_branch.with_trait(PIPELINE_SOURCE_TRAIT, source)))
    for action in NON_DEPLOYING_ACTIONS:
        found.append(JobAttack(f"environment action {action} (skips deployment approvals)",
                               legitimate.with_trait(ENVIRONMENT_ACTION_TRAIT, action)))
    if target.role.developer is not None:
        found.append(run_by_another(target))
    return found


def run_by_another(target: AttackTarget) -> JobAttack:
    """The role's developer retries a deploy job of another developer's pipeline, or plays it when it is manual:
    the other's code runs with the role's own user claims. Vault cannot refuse it; the row says so."""
    actor = str(target.role.developer)
    author = target.intruders[0] if target.intruders else None
    name = author.name if author else "another developer"
    branch = f"refs/heads/{author.name if author else 'colleague'}/feature"
    job = target.legitimate.but(developer=author, ref=branch).with_trait(JOB_USER_TRAIT, actor)
    return JobAttack(f"{actor} retries, or plays (manual), the deploy job of {name}'s pipeline on {branch}, so "
                     f"{name}'s code runs as {actor}", job,
                     accepted_when_unbound=RUN_BY_ANOTHER_RISK.format(actor=actor, environment=target.role.environment))
