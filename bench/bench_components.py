"""Scale benchmark of the stack program under Pulumi's mocks runtime (never a timed test).

Run from the project root:

    .venv/bin/python bench/bench_components.py [--sizes 10 100 1000] [--repeats 3]

For each organisation size (repositories across the dev, staging and production environments) it
runs each variant in fresh processes (``--repeats`` of each, interleaved; medians) and measures the
three stacks one after another: wall time, CPU time (which the load of a shared machine moves
less), the whole process (interpreter start and imports included) and its peak resident set:

* ``components``: the real stack program (``__main__.py`` via ``capture_stack``): load the
  declaration file, build the plan, register the ``Environment`` / ``Organization`` components.
* ``plain``: the same load, check and plan (the stack's view read through the same front door), then
  the same Vault and GitHub resources registered flat, without any component (no parent, no alias; the
  same other options).

It prints the components' cost relative to the flat program at the largest size (goal: at most
1.2) and how each variant grows from the smallest size to the largest (goal: 10x the repositories
in at most 10.5x the time).

Both variants must register the same provider resources, each waiting for the same resources (checked:
the dependencies the engine is sent, at the smallest size). It then counts the GitHub
resources, and so the write requests a first ``pulumi up`` makes, with per-repository branch
protection against one organisation ruleset, and what GitHub's secondary rate limit (about 80
content-creating requests a minute) makes of them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi_github as github
import pulumi_vault as vault

from secure_pipelines.components.admin_role import _admin_bound_claims
from secure_pipelines.components.branch_protection import _pull_request_reviews, _ruleset_rules
from secure_pipelines.components.ci_roles import _provider_bound_claims, _role_api_path, _vault_cidr, _vault_role_body
from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.plan.github_app import app_needs
from secure_pipelines.plan.model import Plan
from secure_pipelines.stack import (
    CapturedResource,
    capture_program,
    capture_stack,
    register_stack,
    select_environment,
)
from secure_pipelines.stack.program import GitHubApp, github_app_provider
from secure_pipelines.views import Request, open_views

STACKS = ("dev", "staging", "production")
GITHUB_WRITES_PER_MINUTE = 80
COMPONENT_RATIO_GOAL = 1.2
LINEAR_SLACK = 1.05
"""10x the repositories may take at most 10.5x the time."""


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
    """The same resources as the component program, registered flat: no component, so no parent and no
    alias; the same ``protect``/``retain_on_delete``, the same dependencies (in the resources stack, the auth
    mounts wait for the deployer policies, the environment's policies and roles for both) and the same GitHub
    App provider (on each GitHub resource instead of inherited from a component)."""
    environment = select_environment(plan, stack)
    write_first: list[pulumi.Resource] = []
    on_github: pulumi.ResourceOptions | None = None
    if app_needs(plan, (stack,)).needed:
        app = GitHubApp(app_id="1", installation_id="2", private_key=pulumi.Output.secret("bench"))
        on_github = pulumi.ResourceOptions(provider=github_app_provider(plan, app))
    if stack == plan.resources_stack:
        for deployer in plan.deployers:
            write_first.append(vault.Policy(deployer.policy.resource_name, name=deployer.policy.name,
                                            policy=deployer.policy.hcl))
        after_policies = pulumi.ResourceOptions(depends_on=list(write_first))
        for mount in plan.jwt_mounts:
            write_first.append(vault.jwt.AuthBackend(
                mount.resource_name, type="jwt", path=mount.path, description=mount.description,
                oidc_discovery_url=mount.oidc_discovery_url, bound_issuer=mount.issuer, opts=after_policies))
        write_first.append(vault.jwt.AuthBackend(
            plan.admin_auth.resource_name, type="oidc", path=plan.admin_auth.path,
            description=plan.admin_auth.description, oidc_discovery_url=plan.admin_auth.oidc_discovery_url,
            oidc_client_id="bench", oidc_client_secret=pulumi.Output.secret("bench"), opts=after_policies))
        for protection in plan.branch_protections:
            github.BranchProtection(
                protection.resource_name, repository_id=protection.repository, pattern=protection.branch,
                enforce_admins=True, allows_force_pushes=False, allows_deletions=False,
                require_conversation_resolution=True,
                required_pull_request_reviews=[_pull_request_reviews(protection)],
                required_status_checks=[github.BranchProtectionRequiredStatusCheckArgs(
                    contexts=list(protection.required_status_checks), strict=True)],
                opts=on_github,
            )
        if plan.organization_ruleset:
            ruleset = plan.organization_ruleset
            github.OrganizationRuleset(
                ruleset.resource_name, name=ruleset.name, target="branch", enforcement="active",
                conditions=github.OrganizationRulesetConditionsArgs(
                    ref_name=github.OrganizationRulesetConditionsRefNameArgs(includes=list(ruleset.branches),
                                                                             excludes=[]),
                    repository_ids=list(ruleset.repository_ids)),
                rules=_ruleset_rules(ruleset),
                opts=on_github,
            )
    if environment is None:
        return
    keep = pulumi.ResourceOptions(protect=True, retain_on_delete=True)
    store = environment.secret_store
    vault.Mount(store.resource_name, path=store.mount, type="kv", options={"version": "2"},
                description=store.description, opts=keep)
    # Written under the deployer policies and (roles) into the mounts: a flat program waits too, as the components do.
    after_write_first = pulumi.ResourceOptions(depends_on=write_first) if write_first else None
    for policy in environment.policies:
        vault.Policy(policy.resource_name, name=policy.name, policy=policy.hcl, opts=after_write_first)
    for role in environment.roles:
        if role.has_typed_claims:
            vault.generic.Endpoint(role.resource_name, path=_role_api_path(role),
                                   data_json=json.dumps(_vault_role_body(role), sort_keys=True),
                                   disable_read=False, ignore_absent_fields=True, opts=after_write_first)
        else:
            vault.jwt.AuthBackendRole(
                role.resource_name, backend=role.mount_path, role_name=role.role_name, role_type="jwt",
                bound_audiences=list(role.bound_audiences), bound_claims=_provider_bound_claims(role),
                bound_claims_type=role.claims_match, user_claim=role.user_claim,
                token_policies=list(role.token_policies), token_no_default_policy=True,
                token_bound_cidrs=[_vault_cidr(c) for c in role.token_bound_cidrs], token_ttl=role.token_ttl,
                token_max_ttl=role.token_max_ttl, token_type=role.token_type, opts=after_write_first)
    admin = environment.admin_role
    vault.jwt.AuthBackendRole(
        admin.resource_name, backend=admin.mount_path, role_name=admin.role_name, role_type="oidc",
        bound_audiences=list(admin.bound_audiences), user_claim=admin.user_claim, groups_claim=admin.groups_claim,
        bound_claims=_admin_bound_claims(admin), bound_claims_type="string",
        allowed_redirect_uris=list(admin.allowed_redirect_uris), token_policies=list(admin.token_policies),
        token_no_default_policy=True, token_ttl=admin.token_ttl, token_max_ttl=admin.token_max_ttl,
        opts=after_write_first)
    for env in environment.github_environments:
        created = github.RepositoryEnvironment(
            env.resource_name, repository=env.repository, environment=env.environment,
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=list(env.reviewer_users) or None,
                                                                teams=list(env.reviewer_teams) or None)]
            if (env.reviewer_users or env.reviewer_teams) else None,
            prevent_self_review=env.prevent_self_review, can_admins_bypass=env.can_admins_bypass,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True)
            if env.deployment_branches is not None else None,
            opts=on_github)
        for branch in env.deployment_branches or ():
            github.RepositoryEnvironmentDeploymentPolicy(f"{env.resource_name}-{branch}", repository=env.repository,
                                                         environment=created.environment, branch_pattern=branch,
                                                         opts=on_github)


def _components(path: Path) -> Callable[[str], tuple[CapturedResource, ...]]:
    return lambda stack: tuple(capture_stack(stack, path, project_dir=path.parent))


def _plain(path: Path) -> Callable[[str], tuple[CapturedResource, ...]]:
    def run(stack: str) -> tuple[CapturedResource, ...]:
        view = open_views(Request(declaration=path, stacks=(stack,)), cwd=path.parent).first
        return capture_program(lambda: plain_program(view.plan, stack), stack).resources
    return run


VARIANTS = {"components": _components, "plain": _plain}


def measure_one(variant: str, path: Path) -> dict[str, Any]:
    """The three stacks of one variant, one after another, in this (fresh) process."""
    run = VARIANTS[variant](path)
    started, cpu = time.perf_counter(), time.process_time()
    resources = [r for stack in STACKS for r in run(stack)]
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "all_resources": len(resources),
        "provider_resources": dict(provider_resources(resources)),
    }


def measure(variant: str, path: Path) -> dict[str, Any]:
    """One fresh process runs ``variant``; its figures, with the whole process's wall time."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--measure-one", variant, str(path)],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"the {variant} program failed:\n{child.stderr[-3000:]}")
    run = json.loads(child.stdout.strip().splitlines()[-1])
    run["process_seconds"] = time.perf_counter() - started
    return run


def provider_resources(resources: Sequence[CapturedResource]) -> Counter[str]:
    return Counter(r.type_token for r in resources if not r.type_token.startswith("secure-pipelines:"))


Waits = dict[tuple[str, str, str], frozenset[tuple[str, str]]]


def provider_waits(path: Path) -> dict[str, Waits]:
    """Per variant: (stack, type, name) of every provider resource -> the (type, name) of each resource the
    engine is told it waits for (the registration's dependencies, components already expanded by the SDK).

    Read where the mocks runtime receives each registration request (``MockMonitor.RegisterResource``), so
    what is compared is what a real engine would be sent."""
    recorded: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    register = pulumi.runtime.mocks.MockMonitor.RegisterResource

    def recording(monitor: Any, request: Any) -> Any:
        if not request.type.startswith("secure-pipelines:") and request.type != "pulumi:pulumi:Stack":
            recorded[(request.type, request.name)] = frozenset(_type_and_name(urn) for urn in request.dependencies)
        return register(monitor, request)

    waits: dict[str, Waits] = {}
    pulumi.runtime.mocks.MockMonitor.RegisterResource = recording  # type: ignore[method-assign]
    try:
        for variant, make in VARIANTS.items():
            run = make(path)
            waits[variant] = {}
            for stack in STACKS:
                recorded.clear()
                run(stack)
                waits[variant].update({(stack, *key): waited_for for key, waited_for in recorded.items()})
    finally:
        pulumi.runtime.mocks.MockMonitor.RegisterResource = register  # type: ignore[method-assign]
    return waits


def _type_and_name(urn: str) -> tuple[str, str]:
    """``urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`` -> (type, name)."""
    _, _, type_chain, name = urn.split("::", 3)
    return type_chain.rsplit("$", 1)[-1], name


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


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(runs[0])
    for key in ("seconds", "cpu_seconds", "process_seconds", "peak_rss_mib"):
        merged[key] = statistics.median(r[key] for r in runs)
    return merged


def _shown(run: dict[str, Any]) -> str:
    return (f"{run['seconds']:.1f} s, {run['cpu_seconds']:.1f} s CPU, {run['process_seconds']:.1f} s, "
            f"{run['peak_rss_mib']:.0f} MiB")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per size and variant (medians)")
    parser.add_argument("--measure-one", nargs=2, metavar=("VARIANT", "DECLARATION"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_one:
        print(json.dumps(measure_one(args.measure_one[0], Path(args.measure_one[1]))))
        return

    print(f"## Program under Pulumi mocks: 3 stacks (dev, staging, production); {_load()}\n")
    print(f"Each figure is the median of {args.repeats} fresh processes per variant, the variants interleaved.")
    print("time: the three stacks one after another (wall; CPU of the process beside it, which load moves less);")
    print("process: the whole process, interpreter start and imports included; peak: its peak resident set.\n")
    print("| repos | resources (provider / all) | components: time, CPU, process, peak "
          "| plain: time, CPU, process, peak | ratio (time / CPU) | CPU ratio of each pair (min to max) "
          "| ms CPU per resource (components) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    measured: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            values = declaration(size)
            parse_declaration(values)  # refuse a broken generator before timing anything
            path = Path(tmp) / f"declaration-{size}.json"
            path.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML
            runs: dict[str, list[dict[str, Any]]] = {"components": [], "plain": []}
            for _ in range(args.repeats):  # interleaved, so a change of load hits both variants
                for variant in runs:
                    runs[variant].append(measure(variant, path))
            both = {v: _medians(r) for v, r in runs.items()}
            measured[size] = both
            components, plain = both["components"], both["plain"]
            if components["provider_resources"] != plain["provider_resources"]:
                sys.exit(f"the plain program registers other resources than the components at {size} repositories")
            if size == min(args.sizes):
                waits = provider_waits(path)
                if waits["components"] != waits["plain"]:
                    sys.exit(f"the plain program makes resources wait for other resources than the components do "
                             f"at {size} repositories")
            provider = sum(plain["provider_resources"].values())
            # The spread says how far one run on this machine may be trusted; the verdicts use the medians.
            pairs = sorted(with_components["cpu_seconds"] / flat["cpu_seconds"]
                           for with_components, flat in zip(runs["components"], runs["plain"], strict=True))
            print(f"| {size} | {provider} / {components['all_resources']} | {_shown(components)} | {_shown(plain)} "
                  f"| {components['seconds'] / plain['seconds']:.2f} / "
                  f"{components['cpu_seconds'] / plain['cpu_seconds']:.2f} "
                  f"| {pairs[0]:.2f} to {pairs[-1]:.2f} "
                  f"| {1000 * components['cpu_seconds'] / components['all_resources']:.2f} |", flush=True)

    largest = max(measured)
    components, plain = measured[largest]["components"], measured[largest]["plain"]
    ratio = components["cpu_seconds"] / plain["cpu_seconds"]
    print(f"\n- components / plain at {largest} repositories: {ratio:.2f} of CPU time, "
          f"{components['seconds'] / plain['seconds']:.2f} of wall time "
          f"({'met' if ratio <= COMPONENT_RATIO_GOAL else 'not met'}: goal {COMPONENT_RATIO_GOAL})")
    smallest = min(measured)
    if largest >= 10 * smallest:
        for variant in ("components", "plain"):
            grow = measured[largest][variant]["cpu_seconds"] / measured[smallest][variant]["cpu_seconds"]
            allowed = LINEAR_SLACK * largest / smallest
            verdict = "linear: met" if grow <= allowed else "faster than linear: not met"
            print(f"- {variant}: x{grow:.1f} CPU time for x{largest / smallest:.0f} repositories "
                  f"({verdict}; goal at most x{allowed:.1f})")
    print(f"\n({_load()} at the end)\n")

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
