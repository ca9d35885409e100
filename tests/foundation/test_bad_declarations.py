"""A corpus of bad declarations: each is the example with one mistake, refused with its own message.

Every case names the field the message must point at and words the message must contain, so a
vague or misplaced error fails the test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from secure_pipelines import InvalidDeclaration, parse_declaration

Mutation = Callable[[dict[str, Any]], None]


def repo(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in d["repositories"] if r["name"] == name)


def env(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in d["environments"] if e["name"] == name)


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation
    field: str
    message: str


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        path(d)[key] = value

    return mutate


def _del(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        del path(d)[key]

    return mutate


def _append(key: str, item_from: Callable[[dict[str, Any]], dict[str, Any]]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d[key].append(dict(item_from(d)))

    return mutate


ALL_BUT_ONE = sorted(str(n) for n in ipaddress.ip_network("0.0.0.0/0").address_exclude(
    ipaddress.ip_network("203.0.113.5/32")))
"""Every IPv4 address but one, in 32 ranges: as open as 0.0.0.0/0."""

PROD = lambda d: env(d, "production")  # noqa: E731


def _environment_named_infrastructure(d: dict[str, Any]) -> None:
    renamed = {**env(d, "qa"), "name": "infrastructure"}
    d["environments"] = [renamed if e["name"] == "qa" else e for e in d["environments"]]
    d["admins"]["groups"]["infrastructure"] = d["admins"]["groups"].pop("qa")


def _same_context(field: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        env(d, "production")["ci"]["circleci"]["context"][field] = env(d, "dev")["ci"]["circleci"]["context"][field]

    return mutate


def _ten_year_token(d: dict[str, Any]) -> None:
    env(d, "production").update(token_ttl=315360000, token_max_ttl=315360000,
                                overrides={"long_token_ttl": "batch jobs run for a long time"})
STAGING = lambda d: env(d, "staging")  # noqa: E731
DEV = lambda d: env(d, "dev")  # noqa: E731
QA = lambda d: env(d, "qa")  # noqa: E731
WEBAPP = lambda d: repo(d, "webapp")  # noqa: E731
API = lambda d: repo(d, "api")  # noqa: E731


def _two_mistakes(d: dict[str, Any]) -> None:
    env(d, "production")["ip_allowlist"] = ["0.0.0.0/0"]
    repo(d, "webapp")["name"] = "Web App"


def _rename_dev(d: dict[str, Any]) -> None:
    d["developers"][1]["name"] = d["developers"][0]["name"]


def _no_circleci(d: dict[str, Any]) -> None:
    del d["ci"]["circleci"]


def _no_github_actions(d: dict[str, Any]) -> None:
    del d["ci"]["github_actions"]


def _no_prod_context(d: dict[str, Any]) -> None:
    del env(d, "production")["ci"]["circleci"]["context"]


def _no_staging_security_group(d: dict[str, Any]) -> None:
    del env(d, "staging")["ci"]["circleci"]["context"]["security_group"]


def _no_security_group_with_a_reason(d: dict[str, Any]) -> None:
    del env(d, "production")["ci"]["circleci"]["context"]["security_group"]
    env(d, "production")["ci"]["circleci"]["overrides"] = {
        "no_security_group": "our organisation is on the GitHub App integration, which has no security groups"}


def _bad_context_id(d: dict[str, Any]) -> None:
    env(d, "production")["ci"]["circleci"]["context"]["id"] = "not-a-uuid"


def _unknown_ci_system(d: dict[str, Any]) -> None:
    env(d, "production")["ci"]["circle-ci"] = {"context": {"name": "acme-qa"}}


def _repository_without_ci_system(d: dict[str, Any]) -> None:
    repo(d, "api")["ci"] = {}


def _per_environment_setting_github_actions_lacks(d: dict[str, Any]) -> None:
    env(d, "staging")["ci"]["github_actions"] = {"runner": "x"}


def _shared_mount(d: dict[str, Any]) -> None:
    env(d, "staging")["secrets"] = {"mount": "kv-shared"}
    env(d, "production")["secrets"] = {"mount": "kv-shared"}


def _developer_missing_ci_id(d: dict[str, Any]) -> None:
    del d["developers"][0]["ci"]["circleci"]


def _developer_missing_github_id(d: dict[str, Any]) -> None:
    del d["developers"][1]["ci"]["github_actions"]


def _developer_ci_section_without_id(d: dict[str, Any]) -> None:
    del d["developers"][0]["ci"]["circleci"]["user_id"]


def _frozen_unknown(d: dict[str, Any]) -> None:
    d["pipeline_policy"]["code_freeze"] = ["billing"]


def _no_runner_class(d: dict[str, Any]) -> None:
    del env(d, "production")["ci"]["circleci"]["runner_resource_class"]


def _ruleset_on_pro(d: dict[str, Any]) -> None:
    d["organization"]["github"]["plan"] = "pro"
    d["organization"]["github"]["protection"] = "organization-ruleset"


def _reviewers_private_api(d: dict[str, Any]) -> None:
    repo(d, "api")["visibility"] = "private"


def _private_on_free(d: dict[str, Any]) -> None:
    d["organization"]["github"]["plan"] = "free"


def _private_actions_repo_on_free(d: dict[str, Any]) -> None:
    d["organization"]["github"]["plan"] = "free"
    repo(d, "api")["visibility"] = "private"
    repo(d, "webapp")["visibility"] = "public"


CASES = [
    Case("unknown top-level key", _set(lambda d: d, "enviroments", []), "enviroments", "not a known key"),
    Case("unknown repository key", _set(WEBAPP, "required_aprovals", 2),
         "repositories[webapp].required_aprovals", "required_approvals"),
    Case("unknown environment key", _set(PROD, "ttl", 300), "environments[production].ttl", "not a known key"),
    Case("duplicate repository", _append("repositories", WEBAPP), "repositories[webapp].name", "declared twice"),
    Case("duplicate environment", _append("environments", STAGING), "environments[staging].name", "declared twice"),
    Case("duplicate developer", _rename_dev, "developers[lin].name", "declared twice"),
    Case("malformed CIDR", _set(PROD, "ip_allowlist", ["203.0.113.300/28"]),
         "environments[production].ip_allowlist[0]", "not an IPv4 or IPv6 CIDR"),
    Case("host bits set", _set(PROD, "ip_allowlist", ["203.0.113.17/28"]),
         "environments[production].ip_allowlist[0]", "203.0.113.16/28"),
    Case("IPv6 host bits set", _set(STAGING, "ip_allowlist", ["2001:db8::1/48"]),
         "environments[staging].ip_allowlist[0]", "2001:db8::/48"),
    Case("open IPv4 production allowlist", _set(PROD, "ip_allowlist", ["0.0.0.0/0"]),
         "environments[production].ip_allowlist", "admits every address"),
    Case("open IPv6 staging allowlist", _set(STAGING, "ip_allowlist", ["198.51.100.0/24", "::/0"]),
         "environments[staging].ip_allowlist", "egress ranges"),
    Case("production allowlist of two halves of IPv4", _set(PROD, "ip_allowlist", ["0.0.0.0/1", "128.0.0.0/1"]),
         "environments[production].ip_allowlist", "together admit every IPv4 address"),
    Case("staging allowlist of every IPv4 address written as IPv6", _set(STAGING, "ip_allowlist", ["::ffff:0:0/96"]),
         "environments[staging].ip_allowlist", "admits every IPv4 address"),
    Case("production allowlist of every address but one", _set(PROD, "ip_allowlist", ALL_BUT_ONE),
         "environments[production].ip_allowlist", "public IPv4 addresses, more than a /8"),
    Case("production allowlist of a public /7", _set(PROD, "ip_allowlist", ["2.0.0.0/7"]),
         "environments[production].ip_allowlist", "33,554,432 public IPv4 addresses"),
    Case("staging allowlist of more than a provider's IPv6", _set(STAGING, "ip_allowlist", ["2a00::/31"]),
         "environments[staging].ip_allowlist", "public IPv6 addresses, more than a /32"),
    Case("admins' allowlist of two halves of IPv4",
         _set(lambda d: d["admins"], "ip_allowlist", ["0.0.0.0/1", "128.0.0.0/1"]),
         "admins.ip_allowlist", "together admit every IPv4 address, and admins here write"),
    Case("infrastructure allowlist of every IPv4 address written as IPv6",
         _set(lambda d: d["infrastructure"], "ip_allowlist", ["::ffff:0:0/96"]),
         "infrastructure.ip_allowlist", "admits every IPv4 address"),
    Case("empty allowlist", _set(PROD, "ip_allowlist", []), "environments[production].ip_allowlist", "at least 1"),
    Case("production using dev's CircleCI context id", _same_context("id"),
         "environments[production].ci.circleci.context.id", "is also dev's context id"),
    Case("production using dev's CircleCI context name", _same_context("name"),
         "environments[production].ci.circleci.context.name", "is also dev's context name"),
    Case("production promoting what dev recorded", _set(PROD, "promote_from", "dev"),
         "environments[production].promote_from", "any feature branch could record a digest"),
    Case("an environment named after the infrastructure runners", _environment_named_infrastructure,
         "environments[infrastructure].name", "labels the infrastructure pipeline's runners"),
    Case("a public infrastructure repository", _set(lambda d: repo(d, "infrastructure"), "visibility", "public"),
         "repositories[infrastructure].visibility", "Make it private or internal"),
    Case("qa deploys on production's GitLab runners",
         _set(lambda d: env(d, "qa")["ci"]["gitlab_ci"], "runner_tags", ["acme-production-deployers"]),
         "environments[qa].ci.gitlab_ci.runner_tags", "a runner tagged for production carries these tags too"),
    Case("GitLab deploys on the infrastructure runners",
         _set(lambda d: env(d, "staging")["ci"]["gitlab_ci"], "runner_tags", ["infrastructure"]),
         "environments[staging].ci.gitlab_ci.runner_tags", "'infrastructure' is the tag of the infrastructure"),
    Case("production allowlist with loopback", _set(PROD, "ip_allowlist", ["203.0.113.16/28", "127.0.0.0/8"]),
         "environments[production].ip_allowlist", "admits loopback addresses"),
    Case("staging allowlist with IPv6 loopback", _set(STAGING, "ip_allowlist", ["198.51.100.0/24", "::1/128"]),
         "environments[staging].ip_allowlist", "admits loopback addresses"),
    Case("admins' allowlist with loopback", _set(lambda d: d["admins"], "ip_allowlist", ["127.0.0.1/32"]),
         "admins.ip_allowlist", "admits loopback addresses"),
    Case("production allowlist of every IPv4 host behind NAT64", _set(PROD, "ip_allowlist", ["64:ff9b::/96"]),
         "environments[production].ip_allowlist", "admits every IPv4 address"),
    Case("production allowlist of Teredo", _set(PROD, "ip_allowlist", ["2001::/32"]),
         "environments[production].ip_allowlist", "admits every IPv4 address"),
    Case("production allowlist of 6to4", _set(PROD, "ip_allowlist", ["2002::/16"]),
         "environments[production].ip_allowlist", "admits every IPv4 address"),
    Case("staging allowlist of reserved IPv6", _set(STAGING, "ip_allowlist", ["4000::/2"]),
         "environments[staging].ip_allowlist", "public IPv6 addresses, more than a /32"),
    Case("organisation-wide resources in the dev stack", _set(lambda d: d["organization"], "resources_stack", "dev"),
         "organization.resources_stack", "is a development environment, but the resources stack's deployer"),
    Case("organisation-wide resources in the staging stack",
         _set(lambda d: d["organization"], "resources_stack", "staging"),
         "organization.resources_stack", "name a production environment (production)"),
    Case("job name ending in a newline", _set(lambda d: d["pipeline_policy"], "required_security_jobs",
                                              ["security-scan\n"]),
         "pipeline_policy.required_security_jobs[0]", "job name"),
    Case("allowlist as one string", _set(PROD, "ip_allowlist", "203.0.113.16/28"),
         "environments[production].ip_allowlist", "must be a list, e.g. [203.0.113.16/28]"),
    Case("TTL with a unit", _set(PROD, "token_ttl", "10m"),
         "environments[production].token_ttl", "must be a whole number, of seconds"),
    Case("yes-or-no setting as a word", _set(WEBAPP, "code_owner_review", "maybe"),
         "repositories[webapp].code_owner_review", "must be true or false"),
    Case("production from a feature branch", _set(PROD, "branches", ["release"]),
         "environments[production].branches", "only from the default branch"),
    Case("production from a glob", _set(PROD, "branches", ["release/*"]),
         "environments[production].branches[0]", "is a glob"),
    Case("production from any branch", _set(PROD, "branches", ["*"]),
         "environments[production].branches", "remove '*'"),
    Case("staging from two branches", _set(STAGING, "branches", ["main", "develop"]),
         "environments[staging].branches", "default branch"),
    Case("production TTL over 15 minutes", _set(PROD, "token_max_ttl", 1800),
         "environments[production].token_max_ttl", "overrides.long_token_ttl"),
    Case("staging TTL over 20 minutes", _set(STAGING, "token_max_ttl", 1500),
         "environments[staging].token_max_ttl", "exceeds 1200 seconds, the limit for a staging environment"),
    Case("test TTL over 30 minutes", _set(QA, "token_max_ttl", 2400),
         "environments[qa].token_max_ttl", "exceeds 1800 seconds, the limit for a test environment (limits tighten "
         "towards production: development 3600, test 1800, staging 1200, production 900 seconds)"),
    Case("development TTL over an hour", _set(DEV, "token_max_ttl", 7200),
         "environments[dev].token_max_ttl", "exceeds 3600 seconds, the limit for a development environment"),
    Case("test from any branch", _set(QA, "branches", ["*"]),
         "environments[qa].branches", "a test environment deploys from the default branch, or declared exact branch "
         "names (never a glob or '*'): '*' would let anyone who can push a branch deploy there"),
    Case("test from a glob", _set(QA, "branches", ["release/*"]), "environments[qa].branches[0]", "is a glob"),
    Case("a test environment per developer", _set(QA, "per_developer", True),
         "environments[qa].per_developer", "only a development environment may be per developer"),
    Case("an unknown tier", _set(QA, "tier", "qa"), "environments[qa].tier",
         "'development', 'test', 'staging' or 'production'"),
    Case("a shared secret for a repository that does not deploy there",
         _set(STAGING, "shared_secrets", [{"name": "payments", "repositories": ["webapp", "billing"]}]),
         "environments[staging].shared_secrets[payments].repositories",
         "does not deploy to staging, so no role of it could read the secret"),
    Case("a shared secret nobody reads", _set(STAGING, "shared_secrets", [{"name": "payments", "repositories": []}]),
         "environments[staging].shared_secrets[payments].repositories", "at least 1"),
    Case("two shared secrets of one name", _set(STAGING, "shared_secrets", [
        {"name": "payments", "repositories": ["webapp"]}, {"name": "payments", "repositories": ["api"]}]),
         "environments[staging].shared_secrets[payments].name", "is declared twice"),
    Case("shared secrets under the repositories' own prefix",
         lambda d: DEV(d).update(secrets={"prefix": "shared"},
                                 shared_secrets=[{"name": "lin", "repositories": ["webapp"]}]),
         "environments[dev].secrets.prefix", "a shared secret could name a repository's own paths"),
    Case("promotion from an undeclared environment", _set(PROD, "promote_from", "preprod"),
         "environments[production].promote_from",
         "is not a declared environment (known: dev, qa, staging, production)"),
    Case("promotion from itself", _set(PROD, "promote_from", "production"),
         "environments[production].promote_from", "an environment cannot promote from itself"),
    Case("promotion downwards", _set(QA, "promote_from", "staging"),
         "environments[qa].promote_from", "is a staging environment, above this test one; promote upwards only"),
    Case("promotion from where a repository never deploys",
         lambda d: STAGING(d).update(repositories=["webapp", "api"]),
         "environments[production].promote_from", "shop deploy(s) to production but not to staging"),
    Case("promotions in a circle", lambda d: (QA(d).update(promote_from="dev"), DEV(d).update(promote_from="qa"))[0],
         "environments[dev].promote_from", "is a test environment, above this development one"),
    Case("promotions in a circle of equal tiers", lambda d: d["environments"].append(
        {**QA(d), "name": "demo", "promote_from": "qa"}) or QA(d).update(promote_from="demo"),
         "environments[qa].promote_from", "promotions go round in a circle (qa -> demo -> qa)"),
    Case("records under the repositories' own prefix", _set(STAGING, "secrets", {"prefix": "promotions"}),
         "environments[staging].secrets.prefix", "is where staging records the digests it deployed"),
    Case("ttl above max ttl", _set(STAGING, "token_ttl", 1200),
         "environments[staging].token_ttl", "longer than token_max_ttl"),
    Case("ten-year token with an override", _ten_year_token,
         "environments[production].token_max_ttl", "exceeds 43200 seconds (12 hours), the most"),
    Case("override without a reason", _set(PROD, "overrides", {"long_token_ttl": "ok"}),
         "environments[production].overrides.long_token_ttl", "at least 10"),
    Case("deploys to an unknown repository", _set(STAGING, "repositories", ["webapp", "billing"]),
         "environments[staging].repositories", "not a declared repository"),
    Case("CircleCI without org", _no_circleci, "ci.circleci", "org_id"),
    Case("CircleCI org section without org id", _del(lambda d: d["ci"]["circleci"], "org_id"), "ci.circleci.org_id",
         "organisation id"),
    Case("GitHub Actions not declared", _no_github_actions, "ci.github_actions", "GitHub Actions"),
    Case("CircleCI repository without project id", _del(lambda d: WEBAPP(d)["ci"]["circleci"], "project_id"),
         "repositories[webapp].ci.circleci.project_id", "immutable project id"),
    Case("CircleCI environment without context", _no_prod_context,
         "environments[production].ci.circleci.context", "context name and id"),
    Case("staging context without a security group", _no_staging_security_group,
         "environments[staging].ci.circleci.context.security_group", "no_security_group"),
    Case("security group that is not a team name", _set(lambda d: PROD(d)["ci"]["circleci"]["context"],
                                                        "security_group", "*"),
         "environments[production].ci.circleci.context.security_group", "it must match ^[A-Za-z0-9]"),
    Case("context id not a UUID", _bad_context_id, "environments[production].ci.circleci.context.id", "UUID"),
    Case("unknown CI system key", _unknown_ci_system, "environments[production].ci.circle-ci",
         "known: circleci, github_actions"),
    Case("unknown key in a CI section", _set(lambda d: WEBAPP(d)["ci"]["circleci"], "projectid", "x"),
         "repositories[webapp].ci.circleci.projectid", "project_id"),
    Case("repository on no CI system", _repository_without_ci_system, "repositories[api].ci", "names no CI system"),
    Case("a section a CI system does not have", _per_environment_setting_github_actions_lacks,
         "environments[staging].ci.github_actions", "no settings at this level"),
    Case("repository without GitHub id", _del(API, "github_id"), "repositories[api].github_id", "required"),
    Case("owner id missing", _del(lambda d: d["organization"]["github"], "owner_id"),
         "organization.github.owner_id", "required"),
    Case("developer without GitHub user id", _developer_missing_github_id,
         "developers[sam].ci.github_actions.user_id", "dev is per developer on GitHub Actions; add the developer's "
         "GitHub user id"),
    Case("developer without CircleCI user id", _developer_missing_ci_id,
         "developers[lin].ci.circleci.user_id", "CircleCI user id"),
    Case("developer's CircleCI section without its id", _developer_ci_section_without_id,
         "developers[lin].ci.circleci.user_id", "CircleCI user id"),
    Case("repository name with a slash", _set(WEBAPP, "name", "web/app"), "repositories[web/app].name", "safe name"),
    Case("repository name with a glob", _set(WEBAPP, "name", "web*"), "repositories[web*].name", "safe name"),
    Case("repository name with dot-dot", _set(WEBAPP, "name", "a..b"), "repositories[a..b].name", "safe name"),
    Case("environment name with upper case", _set(PROD, "name", "Production"),
         "environments[Production].name", "lowercase"),
    Case("unknown tier", _set(PROD, "tier", "prod"), "environments[production].tier", "production"),
    Case("per-developer production", _set(PROD, "per_developer", True),
         "environments[production].per_developer", "development"),
    Case("per-developer unknown developer", _set(DEV, "developers", ["lin", "kim"]),
         "environments[dev].developers", "not in developers"),
    Case("two environments share a mount", _shared_mount, "environments.secrets.mount", "its own"),
    Case("code freeze of an unknown repository", _frozen_unknown, "pipeline_policy.code_freeze", "not a declared"),
    Case("production on CircleCI without runner class", _no_runner_class,
         "environments[production].ci.circleci.runner_resource_class", "self-hosted runner"),
    Case("orb with a version in the allowlist", _set(lambda d: d["ci"]["circleci"]["config_policy"], "approved_orbs",
                                                     ["circleci/node@5.1"]),
         "ci.circleci.config_policy.approved_orbs", "without a version"),
    Case("banned orb version that floats", _set(lambda d: d["ci"]["circleci"]["config_policy"],
                                                "banned_orb_versions", ["circleci/node@volatile"]),
         "ci.circleci.config_policy.banned_orb_versions", "@1.2 (every 1.2.x)"),
    Case("staging and production share a runner class",
         _set(lambda d: STAGING(d)["ci"]["circleci"], "runner_resource_class", "acme/prod-deployers"),
         "environments[production].ci.circleci.runner_resource_class", "is also staging's"),
    Case("production on CircleCI's shared IP ranges", _set(lambda d: PROD(d)["ci"]["circleci"], "ip_ranges", True),
         "environments[production].ci.circleci.ip_ranges", "shared by every CircleCI customer"),
    Case("GitHub's default audience", _set(lambda d: d["ci"]["github_actions"], "audience", "https://github.com/acme"),
         "ci.github_actions.audience", "GitHub's default audience"),
    Case("another service's audience", _set(lambda d: d["ci"]["github_actions"], "audience", "sigstore"),
         "ci.github_actions.audience", "another service's audience"),
    Case("deploys on pull_request_target", _set(lambda d: d["ci"]["github_actions"], "deploy_events",
                                                ["push", "pull_request_target"]),
         "ci.github_actions.deploy_events", "a fork's included"),
    Case("deploys on workflow_run", _set(lambda d: d["ci"]["github_actions"], "deploy_events", ["workflow_run"]),
         "ci.github_actions.deploy_events", "whoever started that one"),
    Case("deploys on issue_comment", _set(lambda d: d["ci"]["github_actions"], "deploy_events", ["issue_comment"]),
         "ci.github_actions.deploy_events", "anyone who may comment"),
    Case("deploys on schedule", _set(lambda d: d["ci"]["github_actions"], "deploy_events", ["push", "schedule"]),
         "ci.github_actions.deploy_events", "no push behind it"),
    Case("deploys on workflow_dispatch without a reason", _set(lambda d: d["ci"]["github_actions"], "deploy_events",
                                                              ["push", "workflow_dispatch"]),
         "ci.github_actions.deploy_events", "overrides.workflow_dispatch_deploys"),
    Case("deploys on an event that is not a push", _set(lambda d: d["ci"]["github_actions"], "deploy_events",
                                                       ["release"]),
         "ci.github_actions.deploy_events", "whose ref is the pushed branch"),
    Case("public repository on self-hosted runners", _del(API, "overrides"),
         "repositories[api].overrides.self_hosted_runners_on_public_repository",
         "should almost never be used for public repositories"),
    Case("one admin group for every environment", _set(lambda d: d["admins"]["auth"], "admin_group", "vault-admins"),
         "admins.auth.admin_group", "a dev admin a production admin"),
    Case("an environment without an admin group", _set(lambda d: d["admins"], "groups",
                                                       {"dev": "a", "qa": "q", "production": "b"}),
         "admins.groups.staging", "administer staging's secrets"),
    Case("an admin group of an unknown environment", _set(lambda d: d["admins"], "groups",
                                                         {"dev": "a", "qa": "q", "staging": "b", "production": "c",
                                                          "perf": "d"}),
         "admins.groups.perf", "not a declared environment"),
    Case("dev and production admins in one group", _set(lambda d: d["admins"], "groups",
                                                        {"dev": "ops", "qa": "q", "staging": "b", "production": "ops"}),
         "admins.groups.production", "an admin of one tier would administer the other's secrets"),
    Case("admin group with a comma", _set(lambda d: d["admins"], "groups",
                                          {"dev": "a,b", "staging": "b", "production": "c"}),
         "admins.groups.dev", "no ','"),
    Case("no admin allowlist with production", _del(lambda d: d["admins"], "ip_allowlist"),
         "admins.ip_allowlist", "must log in from known networks"),
    Case("admins from anywhere with production", _set(lambda d: d["admins"], "ip_allowlist", ["::/0"]),
         "admins.ip_allowlist", "admits every address"),
    Case("organisation ruleset on Pro", _ruleset_on_pro, "organization.github.protection", "Team or Enterprise"),
    Case("reviewers on a private repo without Enterprise", _reviewers_private_api,
         "environments[production].reviewers", "Enterprise"),
    Case("branch protection on a private repo on Free", _private_on_free,
         "repositories[webapp].visibility", "cannot enforce branch protection"),
    Case("GitHub Actions deploys from a private repo on Free", _private_actions_repo_on_free,
         "repositories[api].visibility", "no deployment environments"),
    Case("vcs-origin format without repository", _set(lambda d: d["ci"]["circleci"], "vcs_origin_format",
                                                      "github.com/{owner}/*"),
         "ci.circleci.vcs_origin_format", "{repository}"),
    Case("required approvals zero", _set(WEBAPP, "required_approvals", 0),
         "repositories[webapp].required_approvals", "must be at least 1"),
    Case("staging and production on CircleCI without the pipeline definition pin",
         _del(lambda d: repo(d, "webapp")["ci"]["circleci"], "pipeline_definition_id"),
         "repositories[webapp].ci.circleci.pipeline_definition_id",
         "set repositories[webapp].ci.circleci.overrides.unpinned_pipeline_definition to the reason"),
    Case("an override without a real reason",
         _set(lambda d: repo(d, "webapp")["ci"]["circleci"], "overrides", {"unpinned_pipeline_definition": "ok"}),
         "repositories[webapp].ci.circleci.overrides.unpinned_pipeline_definition", "at least 10 characters"),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_the_example_itself_is_valid(example: dict[str, Any]) -> None:
    parse_declaration(example)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_declaration_is_refused_with_its_message(case: Case, example: dict[str, Any]) -> None:
    case.mutate(example)
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(example)
    shown = [str(p) for p in refused.value.problems]
    matching = [p for p in refused.value.problems if p.field == case.field and case.message in str(p)]
    assert matching, f"expected {case.field}: ...{case.message}... in {shown}"


def test_several_mistakes_are_reported_together(example: dict[str, Any]) -> None:
    _two_mistakes(example)
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(example)
    fields = {p.field for p in refused.value.problems}
    assert "repositories[Web App].name" in fields
    example_two = refused.value.problems
    assert len(example_two) >= 1


def test_structural_and_cross_field_mistakes_each_list_every_instance(example: dict[str, Any]) -> None:
    env(example, "production")["ip_allowlist"] = ["0.0.0.0/0"]
    env(example, "staging")["token_max_ttl"] = 7200
    env(example, "staging")["repositories"] = ["webapp", "billing"]
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(example)
    fields = {p.field for p in refused.value.problems}
    assert {
        "environments[production].ip_allowlist",
        "environments[staging].token_max_ttl",
        "environments[staging].repositories",
    } <= fields


def test_long_ttl_is_accepted_with_a_named_override(example: dict[str, Any]) -> None:
    env(example, "production")["token_max_ttl"] = 1800
    env(example, "production")["overrides"] = {"long_token_ttl": "deploys of the data warehouse take 25 minutes"}
    parse_declaration(example)


def test_unenforceable_protection_is_accepted_with_a_named_override(example: dict[str, Any]) -> None:
    repo(example, "api")["visibility"] = "private"
    repo(example, "api")["overrides"] = {"unenforced_github_protection": "Enterprise is budgeted for next year"}
    parse_declaration(example)


def test_an_unpinned_pipeline_definition_is_accepted_only_with_its_named_override(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    circleci = repo(example, "webapp")["ci"]["circleci"]
    del circleci["pipeline_definition_id"]
    circleci["overrides"] = {"unpinned_pipeline_definition": "one pipeline definition per project, set up by admins"}
    plan = build_plan(parse_declaration(example))
    field = "repositories[webapp].ci.circleci.overrides.unpinned_pipeline_definition"
    (warning,) = [w for w in plan.warnings if w.field == field]
    assert warning.value == "one pipeline definition per project, set up by admins"
    assert "any pipeline definition of the project reaches staging and production secrets" in warning.message


def test_circleci_deploys_without_a_runner_inside_the_allowlist_are_a_warning(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    del env(example, "staging")["ci"]["circleci"]["runner_resource_class"]
    plan = build_plan(parse_declaration(example))
    field = "environments[staging].ci.circleci.runner_resource_class"
    assert any(w.field == field and "Vault would refuse" in w.message for w in plan.warnings)


def test_private_ranges_and_a_public_range_of_a_provider_are_a_closed_allowlist(example: dict[str, Any]) -> None:
    env(example, "production")["ip_allowlist"] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                  "1.0.0.0/8", "2a00::/32", "fc00::/7", "64:ff9b::cb00:7100/120",
                                                  "2002:c633:6400::/40"]
    parse_declaration(example)


def test_a_development_allowlist_of_ranges_adding_up_to_everything_is_a_warning(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    env(example, "dev")["ip_allowlist"] = ["0.0.0.0/1", "128.0.0.0/1"]
    plan = build_plan(parse_declaration(example))
    assert any(w.field == "environments[dev].ip_allowlist" and "any address" in w.message for w in plan.warnings)


def test_an_open_development_allowlist_is_a_warning_not_an_error(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    plan = build_plan(parse_declaration(example))
    assert any(w.field == "environments[dev].ip_allowlist" and "any address" in w.message for w in plan.warnings)


def test_a_context_without_a_security_group_is_accepted_with_a_named_reason_and_warned_about(
    example: dict[str, Any],
) -> None:
    from secure_pipelines import build_plan

    _no_security_group_with_a_reason(example)
    plan = build_plan(parse_declaration(example))
    field = "environments[production].ci.circleci.overrides.no_security_group"
    assert any(w.field == field and "any member of the organisation" in w.message for w in plan.warnings)


def test_staging_on_circleci_ip_ranges_is_a_warning_saying_who_shares_them(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    env(example, "staging")["ci"]["circleci"]["ip_ranges"] = True
    plan = build_plan(parse_declaration(example))
    (warning,) = [w for w in plan.warnings if w.field == "environments[staging].ci.circleci.ip_ranges"]
    assert "shared by every CircleCI customer" in warning.message and warning.environment == "staging"


def test_without_production_admins_may_come_from_anywhere_with_a_warning(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    example["environments"] = [e for e in example["environments"] if e["tier"] != "production"]
    example["organization"]["resources_stack"] = "staging"
    example["admins"]["groups"] = {"dev": "vault-dev-admins", "qa": "vault-qa-admins",
                                   "staging": "vault-staging-admins"}
    del example["admins"]["ip_allowlist"]
    plan = build_plan(parse_declaration(example))
    assert any(w.field == "admins.ip_allowlist" and "any address" in w.message for w in plan.warnings)
    assert all(env.admin_role.token_bound_cidrs == () for env in plan.environments)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_declaration_file_says_so(tmp_path, text: str) -> None:
    from secure_pipelines.declaration.sources.yaml_file import read_yaml_mapping

    path = tmp_path / "declaration.yaml"
    path.write_text(text)
    with pytest.raises(InvalidDeclaration) as refused:
        read_yaml_mapping(path)
    (problem,) = refused.value.problems
    assert problem.field == str(path) and "is empty" in problem.message and "securepipe init" in problem.message


def test_a_circleci_approval_hold_does_not_count_for_repositories_on_other_ci_systems(example: dict[str, Any]) -> None:
    from secure_pipelines import build_plan

    production = env(example, "production")
    production.pop("reviewers", None)
    assert production["ci"]["circleci"]["approval_hold"] is True
    plan = build_plan(parse_declaration(example))
    (warning,) = [w for w in plan.warnings if "no approval hold and no reviewers" in w.message]
    on_circleci = {r["name"] for r in example["repositories"] if "circleci" in r.get("ci", {})}
    named = warning.message.split(" for ", 1)[1].split(":", 1)[0].split(", ")
    assert named and not set(named) & on_circleci and set(named) <= set(production["repositories"])


def test_a_code_freeze_leaves_the_frozen_production_roles_out_of_vault_on_every_ci_system(
    example: dict[str, Any],
) -> None:
    from secure_pipelines import build_plan

    example["pipeline_policy"]["code_freeze"] = ["webapp", "api", "shop"]
    plan = build_plan(parse_declaration(example))
    production = plan.environment("production")
    assert not {r.repository for r in production.roles} & {"webapp", "api", "shop"}
    assert {d.repository for d in production.deployments if d.frozen} == {"webapp", "api", "shop"}
    assert all(d.roles for d in production.deployments)  # what the frozen deploy would log in with, for the proofs
    staging = plan.environment("staging")
    assert {r.repository for r in staging.roles} >= {"webapp", "api", "shop"} & {d.repository for d in
                                                                                 staging.deployments}
    assert not [w for w in plan.warnings if w.field == "pipeline_policy.code_freeze"]


def test_a_per_developer_environment_warns_that_circleci_names_who_caused_a_job_not_who_pushed_it(
    example: dict[str, Any],
) -> None:
    from secure_pipelines import build_plan

    found = [w for w in build_plan(parse_declaration(example)).warnings
             if w.field == "environments[dev].per_developer" and "CircleCI" in w.message]
    (warning,) = found
    assert (warning.value, warning.environment) == (True, "dev") and "(webapp)" in warning.message
    assert "sub names the user that caused the job to run" in warning.message
    dev = next(e for e in example["environments"] if e["name"] == "dev")
    dev["per_developer"] = False
    del dev["developers"]
    assert not [w for w in build_plan(parse_declaration(example)).warnings
                if w.field == "environments[dev].per_developer" and "CircleCI" in w.message]
