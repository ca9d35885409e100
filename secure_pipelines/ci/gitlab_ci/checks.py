"""GitLab CI's cross-field rules: unique project ids, an audience of Vault's own, protected
environments on a plan that has them (or a named override), self-hosted runners where the allowlist
is closed, images the pipeline policy approves (the core checks developers' user ids); and its
warnings, first of them what GitLab must be set to by hand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ...declaration.model import REVIEWED_TIERS, Declaration, Environment, Repository
from ...declaration.role_safety import is_open_allowlist
from ...errors import Problem
from . import sections
from .claims import PUSH
from .infrastructure import RUNNER_TAG as INFRASTRUCTURE_TAG
from .render import PIPELINE_IMAGES

MANUAL_SOURCE_USERS = {"web": "whoever presses Run pipeline", "schedule": "the schedule's owner"}
"""Who GitLab names in ``user_id`` for a pipeline source a person does not push."""


def problems(d: Declaration) -> list[Problem]:
    if not any(sections.builds_on_gitlab(r) for r in d.repositories) or sections.KEY not in d.ci:
        return []  # the core names a missing ci.gitlab_ci section; nothing else can be checked
    return [*_duplicate_projects(d), *_audience(d), *_protected_environments(d), *_runners(d), *_images(d),
            *_per_developer_sources(d)]


def builders(d: Declaration, env: Environment) -> list[Repository]:
    """The repositories that deploy to ``env`` from GitLab CI."""
    return [r for r in d.repositories if r.name in env.repositories and sections.builds_on_gitlab(r)]


def protected_branches(d: Declaration, repo: Repository) -> tuple[str, ...]:
    """The branches of ``repo`` GitLab must protect: the default branch, and every branch it deploys to a test,
    staging or production environment from (their roles require ``ref_protected``)."""
    reviewed = [e for e in d.environments if repo.name in e.repositories and e.tier in REVIEWED_TIERS]
    return tuple(sorted({repo.default_branch, *(b for e in reviewed for b in d.deploy_branches(e, repo))}))


def closed_allowlist(env: Environment) -> bool:
    """The allowlist admits known egress ranges only (no ``0.0.0.0/0``, ``::/0``, or ranges adding up to it)."""
    return not is_open_allowlist(env.ip_allowlist)


def _duplicate_projects(d: Declaration) -> Iterator[Problem]:
    projects = [sections.repository(r) for r in d.repositories if sections.builds_on_gitlab(r)]
    for field, values in (("project_id", Counter(p.project_id for p in projects)),
                          ("project_path", Counter(p.project_path for p in projects))):
        for value in sorted(v for v, count in values.items() if count > 1):
            yield Problem(f"repositories.ci.gitlab_ci.{field}", value,
                          f"two repositories share this {field.replace('_', ' ')}; each names exactly one project")


def _audience(d: Declaration) -> Iterator[Problem]:
    declared = sections.organization(d).audience
    bare = (declared or "").rstrip("/").removeprefix("https://").removeprefix("http://")
    if declared is not None and bare == sections.host(d):
        yield Problem("ci.gitlab_ci.audience", declared,
                      "is the GitLab instance itself, the audience other jobs request tokens for other services "
                      "with; use one only this Vault accepts, or leave it out for "
                      f"secure-pipelines/{d.organization.name}/vault")


def _protected_environments(d: Declaration) -> Iterator[Problem]:
    plan = sections.organization(d).plan
    for env in d.environments:
        where = f"environments[{env.name}].ci.gitlab_ci.overrides.unprotected_environment"
        override = sections.environment(env).overrides.unprotected_environment
        if override and plan.protects_environments:
            yield Problem(where, override, f"GitLab {plan.title()} protects environments, and its roles require it; "
                                           "remove this override")
        elif env.tier in REVIEWED_TIERS and builders(d, env) and not override and not plan.protects_environments:
            yield Problem(where, None,
                          f"GitLab {plan.title()} cannot protect the {env.name} environment, so its roles cannot "
                          "require environment_protected and whoever may push to its branches deploys there; set "
                          "ci.gitlab_ci.plan to premium or ultimate if you have it, or set this override to the "
                          "reason you accept that")


def _runners(d: Declaration) -> Iterator[Problem]:
    tagged = {env.name: set(sections.environment(env).runner_tags) for env in d.environments}
    for env in d.environments:
        where = f"environments[{env.name}].ci.gitlab_ci.runner_tags"
        tags = tagged[env.name]
        if INFRASTRUCTURE_TAG in tags:
            yield Problem(where, sorted(tags), f"'{INFRASTRUCTURE_TAG}' is the tag of the infrastructure pipeline's "
                          "runners, which hold every deployer role; give this environment's runners their own tags")
        wider = sorted(other for other, theirs in tagged.items() if other != env.name and tags and tags <= theirs)
        if wider:
            yield Problem(where, sorted(tags), f"a runner tagged for {', '.join(wider)} carries these tags too, so "
                          f"{env.name}'s deploy jobs may run there (what one deploy leaves on a runner the next job "
                          "there can read); give each environment a tag of its own")
    for env in d.environments:
        if builders(d, env) and closed_allowlist(env) and not sections.environment(env).runner_tags:
            yield Problem(f"environments[{env.name}].ci.gitlab_ci.runner_tags", None,
                          f"Vault admits {env.name} deploys only from {', '.join(env.ip_allowlist)}, so GitLab must "
                          "run them on self-hosted runners there (the roles require runner_environment "
                          f"self-hosted); list those runners' tags, e.g. [{d.organization.name}-{env.name}-deployers]")


def _per_developer_sources(d: Declaration) -> Iterator[Problem]:
    """A per-developer role admits the user GitLab names in ``user_id``: for a pipeline a person starts by hand or
    a schedule, that is who starts it (or owns the schedule), on a branch anyone may have pushed."""
    for env in d.environments:
        if not env.per_developer or not builders(d, env):
            continue
        for source in sections.environment(env).deploy_sources:
            if source != PUSH:
                starter = MANUAL_SOURCE_USERS.get(source, "who starts it")
                yield Problem(f"environments[{env.name}].ci.gitlab_ci.deploy_sources", source,
                              f"in a per-developer environment the role admits the developer GitLab names in "
                              f"user_id, which for a {source} pipeline is {starter}, on a branch another developer "
                              "may have pushed: their code would deploy with that developer's dev secrets; deploy "
                              "per developer on push only (remove it)")


def _images(d: Declaration) -> Iterator[Problem]:
    approved = d.pipeline_policy.approved_registries
    for purpose, image in PIPELINE_IMAGES:
        if not any(image.startswith(prefix) for prefix in approved):
            yield Problem("pipeline_policy.approved_registries", list(approved),
                          f"the GitLab CI pipeline runs {image} ({purpose}), which no prefix approves; add "
                          f"{image} (or a prefix of it) to approve it")


def warnings(d: Declaration) -> list[Problem]:
    if not any(sections.builds_on_gitlab(r) for r in d.repositories):
        return []
    found: list[Problem] = []
    protects = sections.organization(d).plan.protects_environments
    for repo in d.repositories:
        if not sections.builds_on_gitlab(repo):
            continue
        protected = [e.name for e in d.environments if repo.name in e.repositories and e.tier in REVIEWED_TIERS]
        branches = protected_branches(d, repo)
        settings = f"the protected branch{'es' if len(branches) > 1 else ''} {', '.join(branches)}"
        required = "ref_protected"
        if protected and protects:
            settings += f", the protected environments {', '.join(protected)} and their deployment approvals"
            required += " and environment_protected"
        found.append(Problem(
            f"repositories[{repo.name}].ci.gitlab_ci", sections.repository(repo).project_path,
            f"secure-pipelines does not configure GitLab: set {settings} in GitLab (see the README); the roles "
            f"require {required}, so a missing protection refuses deploys rather than admitting them"))
    for env in d.environments:
        if not builders(d, env):
            continue
        section = sections.environment(env)
        where = f"environments[{env.name}].ci.gitlab_ci"
        for source in section.deploy_sources:
            if source != "push":
                found.append(Problem(
                    f"{where}.deploy_sources", source,
                    "such a pipeline runs on the default branch with the variables the person (or schedule owner) "
                    "who starts it sets; limit who may set variables (ci_pipeline_variables_minimum_override_role)",
                    environment=env.name))
        if section.overrides.unprotected_environment:
            found.append(Problem(f"{where}.overrides.unprotected_environment",
                                 section.overrides.unprotected_environment,
                                 "its roles do not require a protected environment", environment=env.name))
        if env.per_developer:
            found.append(_run_by_another_warning(d, env))
    return found


def _run_by_another_warning(d: Declaration, env: Environment) -> Problem:
    """What per-developer roles cannot refuse on GitLab: the ID token names who runs a job, not who pushed it."""
    projects = ", ".join(r.name for r in builders(d, env))
    return Problem(
        f"environments[{env.name}].per_developer", True,
        f"on GitLab CI ({projects}) the ID token's user_id is the user executing the job, not who pushed its pipeline: "
        "when a developer retries a job of another developer's pipeline, or plays its manual job, the other's code "
        "runs with the first developer's dev role and reads their dev secrets, and no claim lets Vault tell. Retry or "
        "play dev deploy jobs of your own pipelines only, and keep in these projects' dev secrets only what every "
        "developer of the project may read (or set per_developer: false and share one dev environment)",
        environment=env.name)
