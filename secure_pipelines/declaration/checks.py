"""Rules that relate one part of a declaration to another, as pure functions.

``problems(declaration)`` returns the mistakes (the declaration is refused); ``warnings(declaration)``
returns legal but risky choices, each with a one-line reason. The core's rules are here; each CI
system adds its own (asked through ``ci.registry``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator

from ..ci import registry
from ..errors import Problem
from .github import environments_available, github_plan, protection_enforceable, reviewers_enforceable
from .model import (
    PROTECTED_TIERS,
    Declaration,
    Environment,
    GitHubPlan,
    ProtectionMode,
    Repository,
    Tier,
)
from .role_safety import (
    long_ttl_warning,
    open_allowlist_problems,
    open_allowlist_warning,
    ttl_problems,
)


def problems(declaration: Declaration) -> list[Problem]:
    """Every cross-field mistake in ``declaration``; empty when it is usable."""
    found: list[Problem] = []
    for check in (
        _duplicates,
        _environment_rules,
        _repository_references,
        _ci_sections,
        _github_enforceability,
        _policy_references,
        _resources_stack,
    ):
        found.extend(check(declaration))
    for system in registry.systems():
        found.extend(system.problems(declaration))
    return found


def _duplicated(names: Iterable[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _duplicates(d: Declaration) -> Iterator[Problem]:
    groups = {
        "repositories": [r.name for r in d.repositories],
        "environments": [e.name for e in d.environments],
        "developers": [dev.name for dev in d.developers],
        "admins.members": [a.name for a in d.admins.members],
    }
    for field, names in groups.items():
        for name in _duplicated(names):
            yield Problem(f"{field}[{name}].name", name, "is declared twice; names must be unique")
    for value in _duplicated(str(r.github_id) for r in d.repositories):
        yield Problem("repositories", value, "two repositories share this id; each id names exactly one repository")
    mounts = [e.secret_mount for e in d.environments]
    for mount in _duplicated(mounts):
        yield Problem("environments.secrets.mount", mount, "two environments share a secret mount; give each its own")


def _environment_rules(d: Declaration) -> Iterator[Problem]:
    developer_names = {dev.name for dev in d.developers}
    for env in d.environments:
        where = f"environments[{env.name}]"
        yield from _allowlist(env, where)
        yield from _branches(env, where, d)
        yield from _ttls(env, where)
        if env.per_developer:
            if env.tier is not Tier.DEVELOPMENT:
                yield Problem(f"{where}.per_developer", True, "only a development environment may be per developer")
            if not env.developers:
                yield Problem(f"{where}.developers", [], "a per-developer environment needs at least one developer")
            for name in env.developers:
                if name not in developer_names:
                    yield Problem(f"{where}.developers", name, "is not in developers; declare them there first")
            for name in _duplicated(env.developers):
                yield Problem(f"{where}.developers", name, "is listed twice")
        elif env.developers:
            yield Problem(f"{where}.developers", list(env.developers), "set per_developer: true or remove the list")


def _allowlist(env: Environment, where: str) -> Iterator[Problem]:
    yield from open_allowlist_problems(f"{where}.ip_allowlist", env.ip_allowlist, env.tier)


def _branches(env: Environment, where: str, d: Declaration) -> Iterator[Problem]:
    if env.branches is None:
        return
    if env.tier in PROTECTED_TIERS:
        if "*" in env.branches:
            yield Problem(f"{where}.branches", list(env.branches),
                          f"a {env.tier} environment deploys from the default branch only; remove '*'")
            return
        for repo_name in env.repositories:
            repo = _find(d.repositories, repo_name)
            if repo and set(env.branches) != {repo.default_branch}:
                yield Problem(
                    f"{where}.branches",
                    list(env.branches),
                    f"a {env.tier} environment deploys only from the default branch "
                    f"({repo.default_branch} for {repo.name}); remove 'branches' or set it to [{repo.default_branch}]",
                )
    elif "*" in env.branches and len(env.branches) > 1:
        yield Problem(f"{where}.branches", list(env.branches), "'*' already means any branch; list it alone")


def _ttls(env: Environment, where: str) -> Iterator[Problem]:
    yield from ttl_problems(where, env.tier, env.token_ttl, env.token_max_ttl, env.overrides.long_token_ttl)


def _find(items: Iterable[Repository], name: str) -> Repository | None:
    return next((item for item in items if item.name == name), None)


def _repository_references(d: Declaration) -> Iterator[Problem]:
    repo_names = {r.name for r in d.repositories}
    for env in d.environments:
        for name in env.repositories:
            if name not in repo_names:
                yield Problem(f"environments[{env.name}].repositories", name,
                              "is not a declared repository; add it under repositories or remove it here")


def _ci_sections(d: Declaration) -> Iterator[Problem]:
    """A CI system a repository builds on needs its organisation-wide section."""
    for system in registry.in_use(d):
        if system.key not in d.ci:
            builders = ", ".join(r.name for r in d.repositories if system.key in r.ci)
            hint = system.sections.organization_hint
            yield Problem(f"ci.{system.key}", None,
                          f"{builders} build(s) on {system.title}; add ci.{system.key} {hint}".rstrip())


def _github_enforceability(d: Declaration) -> Iterator[Problem]:
    if (d.organization.github.protection is ProtectionMode.ORGANIZATION_RULESET
            and d.organization.github.plan not in (GitHubPlan.TEAM, GitHubPlan.ENTERPRISE)):
        yield Problem("organization.github.protection", "organization-ruleset",
                      f"organisation rulesets need the Team or Enterprise plan (declared: "
                      f"{d.organization.github.plan}); use per-repository protection or upgrade")
    for repo in d.repositories:
        if repo.overrides.unenforced_github_protection:
            continue
        plan = github_plan(d, repo)
        where = f"repositories[{repo.name}]"
        if not protection_enforceable(plan, repo.visibility):
            yield Problem(f"{where}.visibility", str(repo.visibility),
                          f"GitHub cannot enforce branch protection on a {repo.visibility} repository on the "
                          f"{plan} plan; upgrade to Pro/Team, make it public, or set "
                          "overrides.unenforced_github_protection to the reason you accept that")
        through = [s for s in registry.of_repository(repo) if s.deploys_through_github_environments]
        deploys = any(repo.name in env.repositories for env in d.environments)
        if through and deploys and not environments_available(plan, repo.visibility):
            yield Problem(f"{where}.visibility", str(repo.visibility),
                          f"GitHub offers no deployment environments to a {repo.visibility} repository on the "
                          f"{plan} plan, so {through[0].title} deploys cannot be bound to one; upgrade, make it "
                          "public, or set overrides.unenforced_github_protection to the reason you accept that")
        for env in d.environments:
            if (repo.name in env.repositories and env.reviewers.any and through
                    and not reviewers_enforceable(plan, repo.visibility)):
                yield Problem(f"environments[{env.name}].reviewers", f"{repo.name} ({repo.visibility}, {plan})",
                              "GitHub enforces environment reviewers on private or internal repositories only "
                              "on Enterprise; upgrade, or set repositories."
                              f"{repo.name}.overrides.unenforced_github_protection to the reason you accept that "
                              "(approval holds of other CI systems still apply)")


def _policy_references(d: Declaration) -> Iterator[Problem]:
    names = {r.name for r in d.repositories}
    for name in d.pipeline_policy.code_freeze:
        if name not in names:
            yield Problem("pipeline_policy.code_freeze", name, "is not a declared repository")


def _resources_stack(d: Declaration) -> Iterator[Problem]:
    stack = d.organization.resources_stack
    if stack and stack not in {e.name for e in d.environments}:
        yield Problem("organization.resources_stack", stack, "is not a declared environment")


def warnings(d: Declaration) -> list[Problem]:
    """Legal but risky choices, each with a one-line reason."""
    found: list[Problem] = [
        dataclasses.replace(warning, environment=env.name)
        for env in d.environments for warning in _environment_warnings(d, env)
    ]
    for repo in d.repositories:
        where = f"repositories[{repo.name}]"
        if repo.overrides.unenforced_github_protection:
            found.append(Problem(f"{where}.overrides.unenforced_github_protection",
                                 repo.overrides.unenforced_github_protection,
                                 "GitHub will not enforce part of this repository's protection"))
        if repo.required_approvals < 2:
            found.append(Problem(f"{where}.required_approvals", repo.required_approvals,
                                 "one approval lets two people ship to production (Scorecard asks for 2)"))
        if not repo.required_status_checks:
            found.append(Problem(f"{where}.required_status_checks", [],
                                 "no required status check: tests and scans can be skipped before merge"))
        if not repo.code_owner_review:
            found.append(Problem(f"{where}.code_owner_review", False,
                                 "pipeline config changes can merge without a code owner's review"))
    if d.organization.github.ruleset_bypass_team_ids:
        found.append(Problem("organization.github.ruleset_bypass_team_ids",
                             list(d.organization.github.ruleset_bypass_team_ids),
                             "bypass actors are exempt from every rule of the organisation ruleset"))
    for system in registry.systems():
        found.extend(system.warnings(d))
    return found


def _environment_warnings(d: Declaration, env: Environment) -> Iterator[Problem]:
    where = f"environments[{env.name}]"
    for warning in (long_ttl_warning(where, env.overrides.long_token_ttl),
                    open_allowlist_warning(f"{where}.ip_allowlist", env.ip_allowlist, env.tier)):
        if warning is not None:
            yield warning
    held = any(system.holds_for_approval(d, env) for system in registry.in_use(d))
    if env.tier is Tier.PRODUCTION and not held and not env.reviewers.any:
        yield Problem(where, env.name, "no approval hold and no reviewers: every merge to the default branch deploys")
    if not env.repositories:
        yield Problem(f"{where}.repositories", [], "no repository deploys here")
