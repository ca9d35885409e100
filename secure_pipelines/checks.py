"""Rules that relate one part of a declaration to another, as pure functions.

``problems(declaration)`` returns the mistakes (the declaration is refused); ``warnings(declaration)``
returns legal but risky choices, each with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import Counter
from collections.abc import Iterable, Iterator

from .declaration import (
    MAX_PRODUCTION_TOKEN_TTL_SECONDS,
    MAX_TOKEN_TTL_SECONDS,
    CISystemName,
    Declaration,
    Environment,
    GitHubPlan,
    ProtectionMode,
    Repository,
    RuleMode,
    Tier,
    Visibility,
)
from .errors import Problem

PROTECTED_TIERS = (Tier.STAGING, Tier.PRODUCTION)


def problems(declaration: Declaration) -> list[Problem]:
    """Every cross-field mistake in ``declaration``; empty when it is usable."""
    found: list[Problem] = []
    for check in (
        _duplicates,
        _environment_rules,
        _repository_references,
        _ci_ids,
        _github_enforceability,
        _policy_references,
        _resources_stack,
    ):
        found.extend(check(declaration))
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
    for field, ids in {
        "repositories": [r.github_id for r in d.repositories],
        "repositories (circleci_project_id)": [
            str(r.circleci_project_id) for r in d.repositories if r.circleci_project_id
        ],
    }.items():
        for value in _duplicated(map(str, ids)):
            yield Problem(field, value, "two repositories share this id; each id names exactly one repository")
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
    for cidr in env.ip_allowlist:
        network = ipaddress.ip_network(cidr)
        if network.prefixlen == 0 and env.tier in PROTECTED_TIERS:
            yield Problem(
                f"{where}.ip_allowlist",
                cidr,
                f"admits every address; a {env.tier} allowlist must list your runners' egress ranges",
            )


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
    limit = MAX_PRODUCTION_TOKEN_TTL_SECONDS if env.tier is Tier.PRODUCTION else MAX_TOKEN_TTL_SECONDS
    if env.token_ttl > env.token_max_ttl:
        yield Problem(f"{where}.token_ttl", env.token_ttl, f"is longer than token_max_ttl ({env.token_max_ttl})")
    if env.overrides.long_token_ttl:
        return
    for field in ("token_ttl", "token_max_ttl"):
        value = getattr(env, field)
        if value > limit:
            yield Problem(
                f"{where}.{field}",
                value,
                f"exceeds {limit} seconds for a {env.tier} environment; shorten it, or set "
                "overrides.long_token_ttl to the reason you accept a longer-lived token",
            )


def _find(items: Iterable[Repository], name: str) -> Repository | None:
    return next((item for item in items if item.name == name), None)


def _repository_references(d: Declaration) -> Iterator[Problem]:
    repo_names = {r.name for r in d.repositories}
    for env in d.environments:
        for name in env.repositories:
            if name not in repo_names:
                yield Problem(f"environments[{env.name}].repositories", name,
                              "is not a declared repository; add it under repositories or remove it here")
    deployed = {name for env in d.environments for name in env.repositories}
    for repo in d.repositories:
        if repo.name not in deployed:
            continue
        for name in _duplicated(repo.ci):
            yield Problem(f"repositories[{repo.name}].ci", name, "is listed twice")


def _ci_ids(d: Declaration) -> Iterator[Problem]:
    envs_by_repo = {r.name: [e for e in d.environments if r.name in e.repositories] for r in d.repositories}
    uses = {ci for r in d.repositories for ci in r.ci}
    circleci = d.ci.circleci
    if CISystemName.CIRCLECI in uses:
        if circleci is None:
            yield Problem("ci.circleci", None,
                          "a repository builds on CircleCI; add ci.circleci with org_id and the contexts")
        for repo in d.repositories:
            if CISystemName.CIRCLECI not in repo.ci:
                continue
            if repo.circleci_project_id is None:
                yield Problem(f"repositories[{repo.name}].circleci_project_id", None,
                              "is required for CircleCI: roles bind the immutable project id "
                              "(Project Settings > Overview)")
            for env in envs_by_repo[repo.name]:
                if circleci is not None and env.name not in circleci.contexts:
                    yield Problem(f"ci.circleci.contexts.{env.name}", None,
                                  f"{repo.name} deploys to {env.name} from CircleCI; declare that environment's "
                                  "context name and id (Organization Settings > Contexts)")
        if circleci is not None:
            for env_name in circleci.contexts:
                if env_name not in {e.name for e in d.environments}:
                    yield Problem(f"ci.circleci.contexts.{env_name}", env_name, "names no declared environment")
    if CISystemName.GITHUB_ACTIONS in uses and d.ci.github_actions is None:
        yield Problem("ci.github_actions", None,
                      "a repository builds on GitHub Actions; add ci.github_actions (it may be empty: {})")
    for env in d.environments:
        if not env.per_developer:
            continue
        for dev_name in env.developers:
            dev = next((x for x in d.developers if x.name == dev_name), None)
            if dev is None:
                continue
            ci_in_env = {ci for r in d.repositories if r.name in env.repositories for ci in r.ci}
            if CISystemName.CIRCLECI in ci_in_env and dev.circleci_user_id is None:
                yield Problem(f"developers[{dev.name}].circleci_user_id", None,
                              f"{env.name} is per developer on CircleCI; add the developer's CircleCI user id")
            if CISystemName.GITHUB_ACTIONS in ci_in_env and dev.github_user_id is None:
                yield Problem(f"developers[{dev.name}].github_user_id", None,
                              f"{env.name} is per developer on GitHub Actions; add the developer's GitHub user id")


def github_plan(d: Declaration, repo: Repository) -> GitHubPlan:
    return repo.github_plan or d.organization.github.plan


def protection_enforceable(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Branch protection and rulesets: public repositories on any plan, private ones on paid plans."""
    return visibility is Visibility.PUBLIC or plan is not GitHubPlan.FREE


def environments_available(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Deployment environments: public repositories on any plan, private ones on paid plans."""
    return visibility is Visibility.PUBLIC or plan is not GitHubPlan.FREE


def reviewers_enforceable(plan: GitHubPlan, visibility: Visibility) -> bool:
    """Environment required reviewers: public repositories, or any repository on Enterprise."""
    return visibility is Visibility.PUBLIC or plan is GitHubPlan.ENTERPRISE


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
        deploys_with_actions = CISystemName.GITHUB_ACTIONS in repo.ci and any(
            repo.name in env.repositories for env in d.environments)
        if deploys_with_actions and not environments_available(plan, repo.visibility):
            yield Problem(f"{where}.visibility", str(repo.visibility),
                          f"GitHub offers no deployment environments to a {repo.visibility} repository on the "
                          f"{plan} plan, so GitHub Actions deploys cannot be bound to one; upgrade, make it public, "
                          "or set overrides.unenforced_github_protection to the reason you accept that")
        for env in d.environments:
            if (repo.name in env.repositories and env.reviewers.any and CISystemName.GITHUB_ACTIONS in repo.ci
                    and not reviewers_enforceable(plan, repo.visibility)):
                yield Problem(f"environments[{env.name}].reviewers", f"{repo.name} ({repo.visibility}, {plan})",
                              "GitHub enforces environment reviewers on private or internal repositories only "
                              "on Enterprise; upgrade, or set repositories."
                              f"{repo.name}.overrides.unenforced_github_protection to the reason you accept that "
                              "(CircleCI approval_hold still applies)")


def _policy_references(d: Declaration) -> Iterator[Problem]:
    names = {r.name for r in d.repositories}
    for name in d.pipeline_policy.code_freeze:
        if name not in names:
            yield Problem("pipeline_policy.code_freeze", name, "is not a declared repository")
    deploys_prod_on_circleci = any(
        CISystemName.CIRCLECI in r.ci and r.name in e.repositories
        for r in d.repositories for e in d.environments if e.tier is Tier.PRODUCTION
    )
    for env in d.environments:
        declared = env.runner_resource_class
        required = d.pipeline_policy.production_resource_class
        if env.tier is Tier.PRODUCTION and declared and required and declared != required:
            yield Problem(f"environments[{env.name}].runner_resource_class", declared,
                          f"production deploys must run on pipeline_policy.production_resource_class ({required}); "
                          "remove this setting or make the two equal")
    if deploys_prod_on_circleci and not d.pipeline_policy.production_resource_class:
        yield Problem("pipeline_policy.production_resource_class", None,
                      "production deploys on CircleCI must run on a self-hosted runner class with known egress "
                      "addresses; name it, e.g. acme/prod-deployers")


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
        if repo.vcs_origin:
            found.append(Problem(f"{where}.vcs_origin", repo.vcs_origin,
                                 "overrides the vcs-origin claim; a wrong value refuses every CircleCI login"))
    for rule, mode in d.pipeline_policy.rules:
        if mode is RuleMode.SOFT:
            found.append(Problem(f"pipeline_policy.rules.{rule}", "soft",
                                 "soft-failing rules warn but do not block a pipeline"))
    if d.organization.github.ruleset_bypass_team_ids:
        found.append(Problem("organization.github.ruleset_bypass_team_ids",
                             list(d.organization.github.ruleset_bypass_team_ids),
                             "bypass actors are exempt from every rule of the organisation ruleset"))
    return found


def _environment_warnings(d: Declaration, env: Environment) -> Iterator[Problem]:
    where = f"environments[{env.name}]"
    open_allowlist = any(ipaddress.ip_network(c).prefixlen == 0 for c in env.ip_allowlist)
    if env.overrides.long_token_ttl:
        yield Problem(f"{where}.overrides.long_token_ttl", env.overrides.long_token_ttl,
                      "longer-lived tokens widen the window a leaked token can be used")
    if env.tier is Tier.DEVELOPMENT and open_allowlist:
        yield Problem(f"{where}.ip_allowlist", list(env.ip_allowlist),
                      "a token for this environment can be used from any address")
    if env.tier is Tier.PRODUCTION and not env.approval_hold and not env.reviewers.any:
        yield Problem(where, env.name, "no approval hold and no reviewers: every merge to the default branch deploys")
    if not env.repositories:
        yield Problem(f"{where}.repositories", [], "no repository deploys here")
    on_circleci = any(CISystemName.CIRCLECI in r.ci for r in d.repositories if r.name in env.repositories)
    runner = env.runner_resource_class or (
        d.pipeline_policy.production_resource_class if env.tier is Tier.PRODUCTION else None)
    if on_circleci and not (runner or env.circleci_ip_ranges or open_allowlist):
        yield Problem(f"{where}.runner_resource_class", None,
                      "CircleCI deploy jobs would run on cloud machines outside ip_allowlist and Vault "
                      "would refuse them; set runner_resource_class or circleci_ip_ranges")
