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
from .github import (
    environments_available,
    github_plan,
    github_repositories,
    hosted_on_github,
    protection_enforceable,
    reviewers_enforceable,
    vcs_hosts,
)
from .model import (
    PROMOTIONS_PREFIX,
    PROTECTED_TIERS,
    SHARED_PREFIX,
    TIER_LIMITS,
    Declaration,
    Environment,
    GitHubPlan,
    ProtectionMode,
    Repository,
    Tier,
)
from .role_safety import (
    closed_allowlist_problems,
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
        _shared_secrets,
        _promotions,
        _ci_sections,
        _developer_identities,
        _vcs_hosts,
        _github_enforceability,
        _policy_references,
        _resources_stack,
        _admins,
        _infrastructure,
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
    for value in _duplicated(str(r.github_id) for r in d.repositories if r.github_id is not None):
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
                          f"a {env.tier} environment deploys from {TIER_LIMITS[env.tier].branches}; remove '*'")
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
    elif "*" in env.branches and env.tier is not Tier.DEVELOPMENT:
        yield Problem(f"{where}.branches", list(env.branches),
                      f"a {env.tier} environment deploys from {TIER_LIMITS[env.tier].branches}: '*' would let anyone "
                      "who can push a branch deploy there and reach its secrets; list the branches, e.g. "
                      "[main, release/qa], or remove 'branches' to deploy from the default branch")
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


def _shared_secrets(d: Declaration) -> Iterator[Problem]:
    for env in d.environments:
        where = f"environments[{env.name}].shared_secrets"
        for name in _duplicated(s.name for s in env.shared_secrets):
            yield Problem(f"{where}[{name}].name", name, "is declared twice; each shared secret has one name")
        for shared in env.shared_secrets:
            for name in _duplicated(shared.repositories):
                yield Problem(f"{where}[{shared.name}].repositories", name, "is listed twice")
            for name in shared.repositories:
                if name not in env.repositories:
                    yield Problem(f"{where}[{shared.name}].repositories", name,
                                  f"does not deploy to {env.name}, so no role of it could read the secret; add it to "
                                  f"environments[{env.name}].repositories or remove it here")
        if env.shared_secrets and env.secrets.prefix == SHARED_PREFIX:
            # `shared/<developer>` would be both a shared secret and the parent of that developer's paths.
            yield Problem(f"environments[{env.name}].secrets.prefix", env.secrets.prefix,
                          f"is where shared secrets live ({SHARED_PREFIX}/<name>), so a shared secret could name "
                          "a repository's own paths; choose another prefix, e.g. apps")


def _promotions(d: Declaration) -> Iterator[Problem]:
    tiers = list(Tier)
    by_name = {e.name: e for e in d.environments}
    for env in d.environments:
        source = by_name.get(env.promote_from) if env.promote_from else None
        where = f"environments[{env.name}].promote_from"
        if env.promote_from is None:
            continue
        if source is None:
            yield Problem(where, env.promote_from, f"is not a declared environment (known: {', '.join(by_name)})")
            continue
        if source is env:
            yield Problem(where, env.promote_from, "an environment cannot promote from itself; name the environment "
                                                   "an image must pass first")
            continue
        if tiers.index(source.tier) > tiers.index(env.tier):
            yield Problem(where, env.promote_from,
                          f"is a {source.tier} environment, above this {env.tier} one; promote upwards only "
                          f"(development < test < staging < production)")
        elif source.tier is Tier.DEVELOPMENT and env.tier in PROTECTED_TIERS:
            yield Problem(where, env.promote_from,
                          f"is a development environment: any branch deploys there, so any feature branch could "
                          f"record a digest and {env.name}'s gate would prove nothing; promote from a test or "
                          "staging environment")
        missing = [r for r in env.repositories if r not in source.repositories]
        if missing:
            yield Problem(where, env.promote_from,
                          f"{', '.join(missing)} deploy(s) to {env.name} but not to {env.promote_from}, so nothing "
                          f"could ever be promoted; add them to environments[{source.name}].repositories")
        seen = [env.name]
        while source is not None and source.promote_from and source.name not in seen:
            seen.append(source.name)
            source = by_name.get(source.promote_from)
        if source is not None and source.name == env.name:
            circle = " -> ".join([*seen, env.name])
            yield Problem(where, env.promote_from, f"promotions go round in a circle ({circle}); an image could "
                                                   "never enter it")
    for name in d.promotion_sources():
        env = by_name.get(name)
        if env is not None and env.secrets.prefix == PROMOTIONS_PREFIX:
            yield Problem(f"environments[{name}].secrets.prefix", env.secrets.prefix,
                          f"is where {name} records the digests it deployed ({PROMOTIONS_PREFIX}/<repository>), "
                          "which only its CI roles may write; choose another prefix, e.g. apps")


def _ci_sections(d: Declaration) -> Iterator[Problem]:
    """A CI system a repository builds on needs its organisation-wide section."""
    for system in registry.in_use(d):
        if system.key not in d.ci:
            builders = ", ".join(r.name for r in d.repositories if system.key in r.ci)
            hint = system.sections.organization_hint
            yield Problem(f"ci.{system.key}", None,
                          f"{builders} build(s) on {system.title}; add ci.{system.key} {hint}".rstrip())


def _developer_identities(d: Declaration) -> Iterator[Problem]:
    """A per-developer environment binds each role to one developer, in every CI system deploying there:
    the system must tell developers apart, and each listed developer needs their identity in it."""
    reported: set[tuple[str, str]] = set()
    for env in d.environments:
        if not env.per_developer:
            continue
        deploying = [r for r in d.repositories if r.name in env.repositories]
        for system in registry.in_use(d):
            builders = [r.name for r in deploying if system.key in r.ci]
            model = system.sections.developer
            if not builders:
                continue
            if model is None:
                yield Problem(f"environments[{env.name}].per_developer", True,
                              f"{', '.join(builders)} deploy(s) here on {system.title}, which cannot tell developers "
                              "apart; deploy them to an environment that is not per developer")
                continue
            field, spec = next((n, f) for n, f in model.model_fields.items() if f.is_required())
            identity = spec.description or f"the developer's {system.title} identity"
            for name in env.developers:
                dev = next((x for x in d.developers if x.name == name), None)
                if dev is None or system.key in dev.ci or (name, system.key) in reported:
                    continue
                reported.add((name, system.key))
                yield Problem(f"developers[{dev.name}].ci.{system.key}.{field}", None,
                              f"{env.name} is per developer on {system.title}; add {identity}")


def _vcs_hosts(d: Declaration) -> Iterator[Problem]:
    """A repository lives on one host; GitHub's fields belong to repositories GitHub hosts."""
    for repo in d.repositories:
        where = f"repositories[{repo.name}]"
        systems = registry.of_repository(repo)
        hosts = vcs_hosts(repo)
        if len(hosts) > 1:
            shown = ", ".join(f"{s.title} (hosted on {s.vcs_host})" for s in systems)
            yield Problem(f"{where}.ci", sorted(repo.ci), f"builds on {shown}; a repository lives on one host, so "
                          "keep the CI systems of one host and declare the others' repository separately")
            continue
        titles = " and ".join(s.title for s in systems)
        if hosted_on_github(repo):
            if repo.github_id is None:
                yield Problem(f"{where}.github_id", None,
                              f"is required: {repo.name} builds on {titles}, hosted on GitHub, and its roles and "
                              "protection name the repository by its immutable id "
                              f"(https://api.github.com/repos/{d.organization.github.owner}/{repo.name} -> id)")
            continue
        host = hosts[0] if hosts else "another host"
        for field, value in (("github_id", repo.github_id), ("github_plan", repo.github_plan),
                             ("overrides.unenforced_github_protection", repo.overrides.unenforced_github_protection)):
            if value is not None:
                yield Problem(f"{where}.{field}", str(value),
                              f"{repo.name} builds on {titles}, hosted on {host}, not on GitHub: GitHub settings do "
                              "not apply to it; remove this field")


def _github_enforceability(d: Declaration) -> Iterator[Problem]:
    if (d.organization.github.protection is ProtectionMode.ORGANIZATION_RULESET
            and d.organization.github.plan not in (GitHubPlan.TEAM, GitHubPlan.ENTERPRISE)
            and github_repositories(d)):
        yield Problem("organization.github.protection", "organization-ruleset",
                      f"organisation rulesets need the Team or Enterprise plan (declared: "
                      f"{d.organization.github.plan}); use per-repository protection or upgrade")
    for repo in github_repositories(d):
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
    names = {e.name: e for e in d.environments}
    if stack and stack not in names:
        yield Problem("organization.resources_stack", stack, "is not a declared environment")
        return
    ladder = list(Tier)
    highest = max((e.tier for e in d.environments), key=ladder.index, default=None)
    chosen = names.get(d.resources_stack)
    if stack and chosen is not None and highest is not None and chosen.tier is not highest:
        top = [e.name for e in d.environments if e.tier is highest]
        yield Problem("organization.resources_stack", stack,
                      f"is a {chosen.tier} environment, but the resources stack's deployer writes every stack's "
                      f"deployer policy, so whoever may apply it may grant itself {', '.join(top)}'s secrets; name "
                      f"a {highest} environment ({', '.join(top)})")


def _infrastructure(d: Declaration) -> Iterator[Problem]:
    """The infrastructure repository is declared, deploys no application, builds on a CI system that can run
    the infrastructure pipeline, and applies from closed egress ranges (it holds every deployer)."""
    infrastructure = d.infrastructure
    if infrastructure is None:
        return
    repository = _find(d.repositories, infrastructure.repository)
    if repository is None:
        yield Problem("infrastructure.repository", infrastructure.repository,
                      "is not a declared repository; declare it under repositories (with its CI system)")
    else:
        deploying = [env.name for env in d.environments if repository.name in env.repositories]
        if deploying:
            yield Problem("infrastructure.repository", repository.name,
                          f"also deploys an application to {', '.join(deploying)}; the infrastructure repository's "
                          "pipeline file is its own (it holds the deployer roles): use a repository of its own, or "
                          "remove it from those environments' repositories")
        if infrastructure.ci not in repository.ci:
            yield Problem("infrastructure.ci", infrastructure.ci,
                          f"{repository.name} does not build on it; use one of {', '.join(repository.ci)} or add "
                          f"{infrastructure.ci} under its ci")
    system = registry.by_key(infrastructure.ci)
    able = [s.key for s in registry.systems() if s.infrastructure is not None]
    if system is None or system.infrastructure is None:
        yield Problem("infrastructure.ci", infrastructure.ci,
                      f"cannot run the infrastructure pipeline; use one of {', '.join(able)}")
    yield from open_allowlist_problems("infrastructure.ip_allowlist", infrastructure.ip_allowlist, Tier.PRODUCTION)
    if infrastructure.token_ttl > infrastructure.token_max_ttl:
        yield Problem("infrastructure.token_ttl", infrastructure.token_ttl,
                      f"is longer than infrastructure.token_max_ttl ({infrastructure.token_max_ttl}); lower it")


def _admins(d: Declaration) -> Iterator[Problem]:
    admins = d.admins
    if admins.auth.admin_group is not None:
        yield Problem("admins.auth.admin_group", admins.auth.admin_group,
                      "one group for every environment makes a dev admin a production admin; remove it and declare "
                      "admins.groups, one identity provider group per environment, e.g. {production: "
                      "vault-production-admins, dev: vault-dev-admins}")
    names = {e.name: e for e in d.environments}
    for name, group in admins.groups:
        if name not in names:
            yield Problem(f"admins.groups.{name}", group, "is not a declared environment")
        if not group.strip() or group != group.strip() or "," in group:
            yield Problem(f"admins.groups.{name}", group,
                          "is not a group name as the identity provider sends it: no ',' (Vault's provider would "
                          "split the name there), no surrounding blanks")
    for name in _duplicated(name for name, _ in admins.groups):
        yield Problem(f"admins.groups.{name}", None, "is listed twice")
    for env in d.environments:
        if admins.group_of(env.name) is None:
            yield Problem(f"admins.groups.{env.name}", None,
                          f"declare the identity provider group whose members administer {env.name}'s secrets")
    tiers: dict[str, list[Environment]] = {}
    for name, group in admins.groups:
        if name in names:
            tiers.setdefault(group, []).append(names[name])
    for group, envs in tiers.items():
        mixed = sorted({e.tier for e in envs})
        if len(mixed) > 1:
            yield Problem(f"admins.groups.{envs[-1].name}", group,
                          f"administers {', '.join(e.name for e in envs)}, environments of tiers {', '.join(mixed)}: "
                          "an admin of one tier would administer the other's secrets; give each tier its own group")
    production = [e.name for e in d.environments if e.tier is Tier.PRODUCTION]
    if production and not admins.ip_allowlist:
        yield Problem("admins.ip_allowlist", [],
                      f"admins of {', '.join(production)} must log in from known networks; list your office or VPN "
                      "egress ranges (admin tokens are bound to them)")
    if not production:
        return
    yield from closed_allowlist_problems(
        "admins.ip_allowlist", admins.ip_allowlist,
        f", and admins here write {', '.join(production)}'s secrets; list your office or VPN egress ranges")


def warnings(d: Declaration) -> list[Problem]:
    """Legal but risky choices, each with a one-line reason."""
    found: list[Problem] = [
        dataclasses.replace(warning, environment=env.name)
        for env in d.environments for warning in _environment_warnings(d, env)
    ]
    for repo in github_repositories(d):  # the protection below is GitHub's; other hosts warn for themselves
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
    if not d.admins.ip_allowlist:
        found.append(Problem("admins.ip_allowlist", [], "admin tokens can be used from any address"))
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
    if env.tier is Tier.PRODUCTION and not env.reviewers.any:
        # Per repository: a hold one CI system puts in front of its deploys does not stop another system's.
        unheld = [name for name in env.repositories
                  if (repo := _find(d.repositories, name)) is not None
                  and not any(system.holds_for_approval(d, env) for system in registry.of_repository(repo))]
        if unheld:
            yield Problem(where, env.name, f"no approval hold and no reviewers for {', '.join(unheld)}: every merge to "
                                           "their default branch deploys")
    if not env.repositories:
        yield Problem(f"{where}.repositories", [], "no repository deploys here")
