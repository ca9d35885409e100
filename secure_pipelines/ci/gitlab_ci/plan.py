"""GitLab CI's part of the plan (kept in ``Plan.extras``): the instance, the audience deploy jobs
request, each project's path and config file, and how each environment's deploy jobs run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from ...declaration.model import REVIEWED_TIERS, Declaration, Environment, Tier
from ...plan.model import Plan
from . import sections

NAME = "gitlab-ci"
ID_TOKEN_VARIABLE = "VAULT_ID_TOKEN"
"""The ``id_tokens`` entry of deploy jobs: GitLab puts the token in this CI/CD variable."""


@dataclass(frozen=True)
class GitLabProject:
    """The GitLab project of one repository."""

    repository: str
    project_id: str
    project_path: str
    ci_config_path: str
    namespace_id: str = ""


@dataclass(frozen=True)
class GitLabEnvironmentPlan:
    """How GitLab CI deploys to one environment."""

    environment: str
    tier: Tier
    runner_tags: tuple[str, ...]
    """Self-hosted runners the deploy jobs run on (empty: any runner, the allowlist admits every address)."""
    deploy_sources: tuple[str, ...]
    """Pipeline sources that run the deploy job (and that its roles require)."""
    environment_protected: bool
    """Its roles require ``environment_protected: "true"`` (GitLab Premium or Ultimate)."""


@dataclass(frozen=True)
class GitLabCIPlan:
    instance_url: str
    audience: str
    projects: tuple[GitLabProject, ...]
    environments: tuple[GitLabEnvironmentPlan, ...]
    developers: tuple[tuple[str, str], ...] = ()
    """``(developer, GitLab user id)`` of every developer the declaration gives a GitLab identity."""

    def project(self, repository: str) -> GitLabProject:
        return next(p for p in self.projects if p.repository == repository)

    def environment(self, name: str) -> GitLabEnvironmentPlan:
        return next(e for e in self.environments if e.environment == name)


def gitlab_plan(plan: Plan) -> GitLabCIPlan:
    """GitLab CI's part of ``plan`` (present whenever a repository builds on GitLab CI)."""
    extra = plan.extra(NAME)
    if extra is None:
        raise KeyError("no repository of this plan builds on GitLab CI")
    return cast(GitLabCIPlan, extra)


DEPLOYMENT_TIERS = {Tier.DEVELOPMENT: "development", Tier.TEST: "testing", Tier.STAGING: "staging",
                    Tier.PRODUCTION: "production"}
"""GitLab's ``deployment_tier`` of each tier (GitLab names its test tier ``testing``)."""


def deployment_tier(tier: Tier) -> str:
    """The ``environment:deployment_tier`` deploy jobs declare, and the ``deployment_tier`` claim roles bind."""
    return DEPLOYMENT_TIERS[tier]


def requires_protected_environment(declaration: Declaration, env: Environment) -> bool:
    """Test, staging and production roles require a protected environment where the plan can protect one;
    on Free, validation has made the override name the reason."""
    return env.tier in REVIEWED_TIERS and sections.organization(declaration).plan.protects_environments


def build(declaration: Declaration) -> GitLabCIPlan:
    organization = sections.organization(declaration)
    return GitLabCIPlan(
        instance_url=organization.url,
        audience=sections.audience(declaration),
        projects=tuple(
            GitLabProject(
                repository=repo.name,
                project_id=str(section.project_id),
                project_path=section.project_path,
                ci_config_path=section.ci_config_path,
                namespace_id=str(section.namespace_id),
            )
            for repo in declaration.repositories if sections.builds_on_gitlab(repo)
            for section in (sections.repository(repo),)
        ),
        environments=tuple(
            GitLabEnvironmentPlan(
                environment=env.name,
                tier=env.tier,
                runner_tags=sections.environment(env).runner_tags,
                deploy_sources=sections.environment(env).deploy_sources,
                environment_protected=requires_protected_environment(declaration, env),
            )
            for env in declaration.environments
        ),
        developers=tuple((d.name, str(user.user_id)) for d in declaration.developers
                         if (user := sections.developer(d)) is not None),
    )
