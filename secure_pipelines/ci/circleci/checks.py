"""CircleCI's cross-field rules: the ids its bindings need, a context for each environment it deploys
to, a runner class for production, a pinned pipeline definition for staging and production (the core
checks developers' user ids); and its warnings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ...declaration.model import PROTECTED_TIERS, REVIEWED_TIERS, Declaration, Environment, Repository, Tier
from ...declaration.role_safety import is_open_allowlist
from ...errors import Problem
from . import sections
from .policy.model import RuleMode


def problems(d: Declaration) -> list[Problem]:
    if not any(sections.builds_on_circleci(r) for r in d.repositories) or sections.KEY not in d.ci:
        return []  # the core names a missing ci.circleci section; nothing else can be checked
    return [*_duplicate_projects(d), *_contexts(d), *_security_groups(d), *_production_runners(d),
            *_shared_runner_classes(d), *_shared_ip_ranges(d), *_pipeline_definitions(d)]


def _users(d: Declaration, env: Environment) -> list[str]:
    return [r.name for r in d.repositories if r.name in env.repositories and sections.builds_on_circleci(r)]


def _duplicate_projects(d: Declaration) -> Iterator[Problem]:
    ids = Counter(sections.project_id(r) for r in d.repositories if sections.builds_on_circleci(r))
    for project_id in sorted(i for i, count in ids.items() if count > 1):
        yield Problem("repositories.ci.circleci.project_id", project_id,
                      "two repositories share this id; each id names exactly one repository")


def _contexts(d: Declaration) -> Iterator[Problem]:
    owners: dict[tuple[str, str], str] = {}
    for env in d.environments:
        users = _users(d, env)
        context = sections.environment(env).context
        if users and context is None:
            yield Problem(f"environments[{env.name}].ci.circleci.context", None,
                          f"{', '.join(users)} deploy(s) to {env.name} from CircleCI; declare that environment's "
                          "context name and id (Organization Settings > Contexts)")
        if context is None:
            continue
        for field, value in (("id", str(context.id).lower()), ("name", context.name)):
            owner = owners.setdefault((field, value), env.name)
            if owner != env.name:
                yield Problem(f"environments[{env.name}].ci.circleci.context.{field}", value,
                              f"is also {owner}'s context {field}: the roles bind each environment to its own context, "
                              "so a job of one would log in to the other; give each environment its own context")


def _security_groups(d: Declaration) -> Iterator[Problem]:
    for env in d.environments:
        section = sections.environment(env)
        if (env.tier in PROTECTED_TIERS and _users(d, env) and section.context is not None
                and section.context.security_group is None and not section.overrides.no_security_group):
            yield Problem(f"environments[{env.name}].ci.circleci.context.security_group", None,
                          f"anyone in the organisation who starts or approves a job could run it with the {env.tier} "
                          "context; name the security group (the GitHub team, as CircleCI shows it) whose members "
                          "may, e.g. deployers, or set ci.circleci.overrides.no_security_group to the reason your "
                          "organisation cannot (CircleCI offers security groups to GitHub OAuth organisations only)")


def _production_runners(d: Declaration) -> Iterator[Problem]:
    for env in d.environments:
        if env.tier is Tier.PRODUCTION and _users(d, env) and not sections.environment(env).runner_resource_class:
            yield Problem(f"environments[{env.name}].ci.circleci.runner_resource_class", None,
                          "production deploys on CircleCI must run on a self-hosted runner class with known "
                          "egress addresses; name it, e.g. acme/prod-deployers")


def _shared_runner_classes(d: Declaration) -> Iterator[Problem]:
    owners: dict[str, list[str]] = {}
    for env in d.environments:
        if (runner := sections.environment(env).runner_resource_class) and _users(d, env):
            owners.setdefault(runner, []).append(env.name)
    for runner, envs in owners.items():
        if len(envs) > 1:
            yield Problem(f"environments[{envs[1]}].ci.circleci.runner_resource_class", runner,
                          f"is also {envs[0]}'s; a runner class is reserved to one environment's deploy jobs (what "
                          "one deploy leaves on a runner the next job there can read), so give each its own")


SHARED_IP_RANGES = (
    "CircleCI's IP ranges are shared by every CircleCI customer who enables the feature, so an allowlist of "
    "them admits other organisations' jobs as well as yours"
)


def _shared_ip_ranges(d: Declaration) -> Iterator[Problem]:
    for env in d.environments:
        if env.tier is Tier.PRODUCTION and sections.environment(env).ip_ranges and _users(d, env):
            yield Problem(f"environments[{env.name}].ci.circleci.ip_ranges", True,
                          f"{SHARED_IP_RANGES}; production deploys run on runner_resource_class, self-hosted runners "
                          "whose egress addresses are yours alone: remove ip_ranges")


UNPINNED = "overrides.unpinned_pipeline_definition"


def protected_deploys(d: Declaration, repo: Repository) -> list[str]:
    """The test, staging and production environments ``repo`` deploys to from CircleCI."""
    if not sections.builds_on_circleci(repo):
        return []
    return [e.name for e in d.environments if e.tier in REVIEWED_TIERS and repo.name in e.repositories]


def _pipeline_definitions(d: Declaration) -> Iterator[Problem]:
    for repo in d.repositories:
        section = sections.repository(repo)
        deploys = protected_deploys(d, repo)
        if section is None or not deploys or section.pipeline_definition_id:
            continue
        if section.overrides.unpinned_pipeline_definition:
            continue
        where = f"repositories[{repo.name}].ci.circleci"
        yield Problem(f"{where}.pipeline_definition_id", None,
                      f"{repo.name} deploys to {', '.join(deploys)} from CircleCI, and without this pin anyone who "
                      "may add a pipeline definition (config source) to the project can reach those secrets from "
                      "the default branch; set the id of the reviewed definition (`circleci pipeline list` lists "
                      f"a project's definitions), or set {where}.{UNPINNED} to the reason you accept that")


def warnings(d: Declaration) -> list[Problem]:
    if not any(sections.builds_on_circleci(r) for r in d.repositories):
        return []
    found: list[Problem] = []
    for env in d.environments:
        section = sections.environment(env)
        open_allowlist = is_open_allowlist(env.ip_allowlist)
        if _users(d, env) and not (section.runner_resource_class or section.ip_ranges or open_allowlist):
            found.append(Problem(
                f"environments[{env.name}].ci.circleci.runner_resource_class", None,
                "CircleCI deploy jobs would run on cloud machines outside ip_allowlist and Vault would refuse "
                "them; set ci.circleci.runner_resource_class or ci.circleci.ip_ranges", environment=env.name))
        if env.tier is Tier.STAGING and section.ip_ranges and _users(d, env):
            found.append(Problem(f"environments[{env.name}].ci.circleci.ip_ranges", True,
                                 f"{SHARED_IP_RANGES}; prefer a runner_resource_class with egress addresses of your "
                                 "own",
                                 environment=env.name))
        if env.per_developer and _users(d, env):
            found.append(_caused_by_another_warning(d, env))
        reason = section.overrides.no_security_group
        if reason and _users(d, env):
            found.append(Problem(f"environments[{env.name}].ci.circleci.overrides.no_security_group", reason,
                                 "any member of the organisation who starts or approves a deploy job releases this "
                                 "environment's context", environment=env.name))
    for repo in d.repositories:
        section = sections.repository(repo)
        if section is not None and section.overrides.unpinned_pipeline_definition:
            reason = section.overrides.unpinned_pipeline_definition
            found.append(Problem(
                f"repositories[{repo.name}].ci.circleci.{UNPINNED}", reason,
                "accepted: any pipeline definition of the project reaches staging and production secrets"
                if not section.pipeline_definition_id else
                "the pipeline definition is pinned, so nothing is accepted here; remove this override"))
        if section is not None and section.vcs_origin:
            found.append(Problem(f"repositories[{repo.name}].ci.circleci.vcs_origin", section.vcs_origin,
                                 "overrides the vcs-origin claim; a wrong value refuses every CircleCI login"))
    for rule, mode in sections.organization(d).config_policy.rules:
        if mode is RuleMode.SOFT:
            found.append(Problem(f"ci.circleci.config_policy.rules.{rule}", "soft",
                                 "soft-failing rules warn but do not block a pipeline"))
    return found


def _caused_by_another_warning(d: Declaration, env: Environment) -> Problem:
    """What per-developer roles cannot refuse on CircleCI: ``sub`` names the user who caused a job to run (a
    push, a rerun, a pipeline triggered from the app or the API), and no claim says which of these it was."""
    return Problem(
        f"environments[{env.name}].per_developer", True,
        f"on CircleCI ({', '.join(_users(d, env))}) the token's sub names the user that caused the job to run, not "
        "who pushed its branch: when a developer reruns another developer's workflow, or triggers a pipeline on "
        "their branch, the other's code runs with the first developer's dev role and reads their dev secrets, and "
        "no claim lets Vault tell. Rerun or trigger dev deploys on your own branches only, and keep in these "
        "projects' dev secrets only what every developer of the project may read (or set per_developer: false and "
        "share one dev environment)",
        environment=env.name)
