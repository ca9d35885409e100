"""Scale benchmark of ``securepipe rehearse --all`` (never a timed test).

Run from the project root:

    .venv/bin/python bench/bench_rehearse.py [--sizes 10 50 200] [--repeats 1]

For each organisation size (repositories across dev (per developer, two developers), staging and
production; half on CircleCI, half on GitHub Actions) it generates a declaration (validated with
``parse_declaration``), writes it to a temporary file, and times one whole rehearsal: capture of the
three stacks under Pulumi's mocks, start of the embedded OpenBao dev server, apply, seeding, every
legitimate flow and attack, the differential check, and the server's stop. It prints the roles,
requests-worth of rows and the wall time per size, and checks that each rehearsal passed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.rehearse import rehearse_views
from secure_pipelines.views import Request, open_views


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bench-rehearse:" + "/".join(map(str, parts))))


def _context(env: str) -> dict[str, str]:
    return {"name": f"bench-{env}", "id": _uuid("context", env), "security_group": f"{env}-deployers"}


def declaration(repositories: int) -> dict[str, Any]:
    """An organisation with ``repositories`` repositories deploying to dev, staging and production."""
    repos: list[dict[str, Any]] = []
    for index in range(repositories):
        name = f"svc-{index:04d}"
        repo: dict[str, Any] = {
            "name": name, "github_id": 800_000_000 + index, "default_branch": "main",
            "required_approvals": 2, "required_status_checks": ["test", "security-scan"], "visibility": "public",
        }
        if index % 2 == 0:
            repo["ci"] = {"circleci": {"project_id": _uuid("project", index),
                                       "pipeline_definition_id": _uuid("pipeline", index)}}
        else:
            repo["ci"] = {"github_actions": {}}
            repo["overrides"] = {"self_hosted_runners_on_public_repository": "just-in-time runners, one job each"}
        repos.append(repo)
    names = [r["name"] for r in repos]
    return {
        "version": 2,
        "organization": {"name": "bench", "github": {"owner": "bench", "owner_id": 91234567, "plan": "enterprise"},
                         "resources_stack": "production"},
        "ci": {
            "circleci": {"org_id": _uuid("org"), "config_policy": {"approved_orbs": ["circleci/node"]}},
            "github_actions": {},
        },
        "admins": {"auth": {"oidc_discovery_url": "https://login.bench.example/", "bound_audiences": ["vault"]},
                   "groups": {env: f"vault-{env}-admins" for env in ("dev", "staging", "production")},
                   "ip_allowlist": ["203.0.113.64/28"],
                   "members": [{"name": "ada"}]},
        "developers": [
            {"name": name, "ci": {"circleci": {"user_id": _uuid("user", name)}, "github_actions": {"user_id": user}}}
            for name, user in (("lin", 5550001), ("sam", 5550002))
        ],
        "repositories": repos,
        "environments": [
            {"name": "dev", "tier": "development", "repositories": names, "branches": ["*"], "per_developer": True,
             "developers": ["lin", "sam"], "ip_allowlist": ["10.20.0.0/16"], "token_ttl": 900, "token_max_ttl": 1800,
             "ci": {"circleci": {"context": _context("dev")}}},
            {"name": "staging", "tier": "staging", "repositories": names,
             "ip_allowlist": ["198.51.100.0/24"], "token_ttl": 600, "token_max_ttl": 900,
             "ci": {"circleci": {"context": _context("staging")}}},
            {"name": "production", "tier": "production", "repositories": names,
             "ip_allowlist": ["203.0.113.16/28"], "token_ttl": 300, "token_max_ttl": 600,
             "reviewers": {"teams": [4200001]},
             "ci": {"circleci": {"context": _context("production"), "runner_resource_class": "bench/prod-deployers"}}},
        ],
        "pipeline_policy": {"approved_registries": ["cimg/"]},
    }


def run(size: int, workdir: Path) -> dict[str, Any]:
    values = declaration(size)
    plan = build_plan(parse_declaration(values))  # validated before it is timed
    path = workdir / f"declaration-{size}.yaml"
    with path.open("w") as handle:
        YAML().dump(values, handle)
    started = time.perf_counter()
    rehearsal = rehearse_views(open_views(Request(declaration=path, organization=True), cwd=workdir))
    seconds = time.perf_counter() - started
    return {
        "repositories": size,
        "roles": len(plan.roles),
        "secret_paths": sum(len(e.secret_store.paths) for e in plan.environments),
        "rows": len(rehearsal.outcomes),
        "passed": rehearsal.passed,
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rehearse-") as workdir:
        for size in args.sizes:
            runs = [run(size, Path(workdir)) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["seconds"])
            best["all_seconds"] = [r["seconds"] for r in runs]
            results.append(best)
            print(f"{size:>5} repositories: {best['roles']:>5} roles, {best['secret_paths']:>5} paths, "
                  f"{best['rows']:>6} rows, passed={best['passed']}, {best['seconds']:.2f}s", flush=True)
    print(json.dumps(results, indent=2))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
