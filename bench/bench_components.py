"""Scale benchmark of the stack program under Pulumi's mocks runtime (never a timed test).

Run from the project root:

    .venv/bin/python bench/bench_components.py [--sizes 10 100 1000] [--repeats 3]

For each organisation size (repositories across the dev, staging and production environments) it
measures, per variant, the wall time and the tracemalloc peak of running all three stacks:

* ``components``: the real stack program (``__main__.py`` via ``capture_stack``): load the
  declaration file, build the plan, register the ``Environment`` / ``Organization`` components.
* ``plain``: the same load and plan, then the same Vault and GitHub resources registered flat,
  without any component.

Both variants must register the same provider resources (checked). It then counts the GitHub
resources, and so the write requests a first ``pulumi up`` makes, with per-repository branch
protection against one organisation ruleset, and what GitHub's secondary rate limit (about 80
content-creating requests a minute) makes of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_github as github
import pulumi_vault as vault

from secure_pipelines.components.admin_role import _admin_bound_claims
from secure_pipelines.components.branch_protection import _pull_request_reviews, _ruleset_rules
from secure_pipelines.components.ci_roles import _provider_bound_claims, _role_api_path, _vault_cidr, _vault_role_body
from secure_pipelines.declaration.loader import load_declaration, parse_declaration
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.plan.model import Plan
from secure_pipelines.stack import (
    CapturedResource,
    capture_program,
    capture_stack,
    register_stack,
    select_environment,
)

STACKS = ("dev", "staging", "production")
GITHUB_WRITES_PER_MINUTE = 80


def declaration(repositories: int, protection: str = "per-repository") -> dict[str, Any]:
    """An organisation of ``repositories`` repositories (half CircleCI, half GitHub Actions)."""

    def uid(kind: int, n: int) -> str:
        return str(uuid.UUID(int=(kind << 64) | n))

    repos = [
        {
            "name": f"app-{n:04d}",
            "github_id": 700_000_000 + n,
            "ci": {"circleci": {"project_id": uid(1, n), "pipeline_definition_id": uid(5, n)}} if n % 2 == 0
            else {"github_actions": {}},
            "required_status_checks": ["test", "security-scan"],
            "visibility": "private",
        }
        for n in range(repositories)
    ]
    names = [r["name"] for r in repos]

    def context(env: str) -> dict[str, str]:
        return {"name": f"bench-{env}", "id": uid(3, STACKS.index(env)), "security_group": f"{env}-deployers"}

    return {
        "version": 2,
        "organization": {
            "name": "bench",
            "github": {"owner": "bench", "owner_id": 91_000_001, "plan": "enterprise", "protection": protection},
        },
        "ci": {
            "circleci": {"org_id": uid(2, 1)},
            "github_actions": {},
        },
        "admins": {
            "auth": {"oidc_discovery_url": "https://login.bench.example/", "bound_audiences": ["vault"]},
            "groups": {env: f"vault-{env}-admins" for env in STACKS},
            "ip_allowlist": ["203.0.113.64/28"],
            "members": [{"name": "ada"}],
        },
        "developers": [
            {"name": "lin", "ci": {"circleci": {"user_id": uid(4, 1)}, "github_actions": {"user_id": 5_550_001}}},
            {"name": "sam", "ci": {"circleci": {"user_id": uid(4, 2)}, "github_actions": {"user_id": 5_550_002}}},
        ],
        "repositories": repos,
        "environments": [
            {"name": "dev", "tier": "development", "repositories": names, "branches": ["*"],
             "per_developer": True, "developers": ["lin", "sam"], "ip_allowlist": ["10.0.0.0/8"],
             "ci": {"circleci": {"context": context("dev")}}},
            {"name": "staging", "tier": "staging", "repositories": names, "ip_allowlist": ["198.51.100.0/24"],
             "ci": {"circleci": {"context": context("staging")}}},
            {"name": "production", "tier": "production", "repositories": names,
             "ip_allowlist": ["203.0.113.16/28"], "token_ttl": 300, "token_max_ttl": 600,
             "reviewers": {"teams": [4_200_001]},
             "ci": {"circleci": {"context": context("production"), "runner_resource_class": "bench/prod-deployers",
                                 "approval_hold": True}}},
        ],
    }


def plain_program(plan: Plan, stack: str) -> None:
    """The same resources as the component program, registered flat (no component, no parent)."""
    environment = select_environment(plan, stack)
    if stack == plan.resources_stack:
        for mount in plan.jwt_mounts:
            vault.jwt.AuthBackend(mount.resource_name, type="jwt", path=mount.path, description=mount.description,
                                  oidc_discovery_url=mount.oidc_discovery_url, bound_issuer=mount.issuer)
        vault.jwt.AuthBackend(plan.admin_auth.resource_name, type="oidc", path=plan.admin_auth.path,
                              description=plan.admin_auth.description,
                              oidc_discovery_url=plan.admin_auth.oidc_discovery_url, oidc_client_id="bench",
                              oidc_client_secret=pulumi.Output.secret("bench"))
        for protection in plan.branch_protections:
            github.BranchProtection(
                protection.resource_name, repository_id=protection.repository, pattern=protection.branch,
                enforce_admins=True, allows_force_pushes=False, allows_deletions=False,
                require_conversation_resolution=True,
                required_pull_request_reviews=[_pull_request_reviews(protection)],
                required_status_checks=[github.BranchProtectionRequiredStatusCheckArgs(
                    contexts=list(protection.required_status_checks), strict=True)],
            )
        if plan.organization_ruleset:
            ruleset = plan.organization_ruleset
            github.OrganizationRuleset(
                ruleset.resource_name, name=ruleset.name, target="branch", enforcement="active",
                conditions=github.OrganizationRulesetConditionsArgs(
                    ref_name=github.OrganizationRulesetConditionsRefNameArgs(includes=["~DEFAULT_BRANCH"],
                                                                             excludes=[]),
                    repository_ids=list(ruleset.repository_ids)),
                rules=_ruleset_rules(ruleset),
            )
    if environment is None:
        return
    keep = pulumi.ResourceOptions(protect=True, retain_on_delete=True)
    store = environment.secret_store
    vault.Mount(store.resource_name, path=store.mount, type="kv", options={"version": "2"},
                description=store.description, opts=keep)
    for policy in environment.policies:
        vault.Policy(policy.resource_name, name=policy.name, policy=policy.hcl)
    for role in environment.roles:
        if role.has_typed_claims:
            vault.generic.Endpoint(role.resource_name, path=_role_api_path(role),
                                   data_json=json.dumps(_vault_role_body(role), sort_keys=True),
                                   disable_read=False, ignore_absent_fields=True)
        else:
            vault.jwt.AuthBackendRole(
                role.resource_name, backend=role.mount_path, role_name=role.role_name, role_type="jwt",
                bound_audiences=list(role.bound_audiences), bound_claims=_provider_bound_claims(role),
                bound_claims_type=role.claims_match, user_claim=role.user_claim,
                token_policies=list(role.token_policies), token_no_default_policy=True,
                token_bound_cidrs=[_vault_cidr(c) for c in role.token_bound_cidrs], token_ttl=role.token_ttl,
                token_max_ttl=role.token_max_ttl, token_type=role.token_type)
    admin = environment.admin_role
    vault.jwt.AuthBackendRole(
        admin.resource_name, backend=admin.mount_path, role_name=admin.role_name, role_type="oidc",
        bound_audiences=list(admin.bound_audiences), user_claim=admin.user_claim, groups_claim=admin.groups_claim,
        bound_claims=_admin_bound_claims(admin), bound_claims_type="string",
        allowed_redirect_uris=list(admin.allowed_redirect_uris), token_policies=list(admin.token_policies),
        token_no_default_policy=True, token_ttl=admin.token_ttl, token_max_ttl=admin.token_max_ttl)
    for env in environment.github_environments:
        created = github.RepositoryEnvironment(
            env.resource_name, repository=env.repository, environment=env.environment,
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=list(env.reviewer_users) or None,
                                                                teams=list(env.reviewer_teams) or None)]
            if (env.reviewer_users or env.reviewer_teams) else None,
            prevent_self_review=env.prevent_self_review, can_admins_bypass=env.can_admins_bypass,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True)
            if env.deployment_branches is not None else None)
        for branch in env.deployment_branches or ():
            github.RepositoryEnvironmentDeploymentPolicy(f"{env.resource_name}-{branch}", repository=env.repository,
                                                         environment=created.environment, branch_pattern=branch)


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_bytes: int
    resources: tuple[CapturedResource, ...]


def _components(path: Path) -> Callable[[str], tuple[CapturedResource, ...]]:
    return lambda stack: tuple(capture_stack(stack, path, project_dir=path.parent))


def _plain(path: Path) -> Callable[[str], tuple[CapturedResource, ...]]:
    def run(stack: str) -> tuple[CapturedResource, ...]:
        return capture_program(lambda: plain_program(build_plan(load_declaration(path)), stack), stack).resources
    return run


def measure(variant: Callable[[str], tuple[CapturedResource, ...]], repeats: int) -> Measurement:
    """Best wall time of ``repeats`` runs of all three stacks; peak traced memory of one more run."""
    best = float("inf")
    resources: tuple[CapturedResource, ...] = ()
    for _ in range(repeats):
        start = time.perf_counter()
        resources = tuple(r for stack in STACKS for r in variant(stack))
        best = min(best, time.perf_counter() - start)
    peak = 0
    for stack in STACKS:  # one stack at a time, as `pulumi up -s <stack>` runs them
        tracemalloc.start()
        variant(stack)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return Measurement(best, peak, resources)


def provider_resources(resources: Sequence[CapturedResource]) -> Counter[str]:
    return Counter(r.type_token for r in resources if not r.type_token.startswith("secure-pipelines:"))


def github_writes(repositories: int, protection: str) -> tuple[int, int]:
    """(branch protection resources, all GitHub resources) over the three stacks."""
    plan = build_plan(parse_declaration(declaration(repositories, protection)))
    resources = [r for stack in STACKS for r in capture_program(
        lambda stack=stack: _register_components(plan, stack), stack).resources]
    github_resources = [r for r in resources if r.type_token.startswith("github:")]
    protections = [r for r in github_resources if "branchProtection" in r.type_token or "Ruleset" in r.type_token]
    return len(protections), len(github_resources)


def _register_components(plan: Plan, stack: str) -> None:
    register_stack(plan, stack, admin_oidc_client_id=lambda: "bench",
                   admin_oidc_client_secret=lambda: pulumi.Output.secret("bench"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="timing runs per size (best is kept); 1 above 100")
    args = parser.parse_args(argv)

    print("## Program under Pulumi mocks: 3 stacks (dev, staging, production)\n")
    print("time: the three stacks one after another (best of --repeats up to 100 repositories, else one run);")
    print("peak: tracemalloc peak of the largest single stack (each stack is its own `pulumi up`).\n")
    print("| repos | resources (provider / all) | components: time, peak | plain: time, peak "
          "| time ratio | ms per resource (components) |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            values = declaration(size)
            parse_declaration(values)  # refuse a broken generator before timing anything
            path = Path(tmp) / f"declaration-{size}.json"
            path.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML
            repeats = args.repeats if size <= 100 else 1
            with_components = measure(_components(path), repeats)
            plain = measure(_plain(path), repeats)
            same = provider_resources(with_components.resources) == provider_resources(plain.resources)
            if not same:
                sys.exit(f"the plain program registers other resources than the components at {size} repositories")
            provider = sum(provider_resources(plain.resources).values())
            print(f"| {size} | {provider} / {len(with_components.resources)} "
                  f"| {with_components.seconds:.2f} s, {with_components.peak_bytes / 2**20:.1f} MiB "
                  f"| {plain.seconds:.2f} s, {plain.peak_bytes / 2**20:.1f} MiB "
                  f"| {with_components.seconds / plain.seconds:.2f} "
                  f"| {1000 * with_components.seconds / len(with_components.resources):.2f} |", flush=True)

    print("\n## GitHub write requests on a first `pulumi up` of all 3 stacks\n")
    print(f"(at ~{GITHUB_WRITES_PER_MINUTE} content-creating requests a minute, GitHub's secondary rate limit)\n")
    print("| repos | per-repository: protections / all GitHub writes | minutes | "
          "org ruleset: rulesets / all GitHub writes | minutes |")
    print("|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        per_repo = github_writes(size, "per-repository")
        ruleset = github_writes(size, "organization-ruleset")
        print(f"| {size} | {per_repo[0]} / {per_repo[1]} | {per_repo[1] / GITHUB_WRITES_PER_MINUTE:.1f} "
              f"| {ruleset[0]} / {ruleset[1]} | {ruleset[1] / GITHUB_WRITES_PER_MINUTE:.1f} |", flush=True)


if __name__ == "__main__":
    main()
