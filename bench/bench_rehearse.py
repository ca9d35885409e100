"""Scale benchmark of ``securepipe rehearse --all`` against the server's own limit (never a timed test).

Run from the project root:

    .venv/bin/python bench/bench_rehearse.py [--sizes 10 50 200 1000] [--repeats 1] [--threads 1 2 4 8 16]

In one run it measures:

* the limit: the embedded OpenBao's raw JWT login throughput on this machine (``login_limit.py``:
  pre-signed tokens, one role, several client threads; the best thread count is kept);
* for each organisation size (repositories across dev (per developer, two developers), staging and
  production; half on CircleCI, half on GitHub Actions), one whole rehearsal in a fresh process:
  capture of the three stacks under Pulumi's mocks, server start, apply, seeding, every legitimate
  flow and attack, the differential check and the server's stop. The phase times come from the
  rehearsal's own record (``Rehearsal.phases``); peak memory is the peak resident set of the
  rehearsing process and, separately, of its OpenBao server.

It prints rows per second (over the whole rehearsal, and over its flows-and-attacks phase), their
ratio to the raw login limit, the CPU seconds of each phase (the rehearsal's process and its server:
what other people's load on a shared machine does not blur), and the issue's goals: rows per second
at least 0.6 of the limit, 200 repositories in 30 s, 1000 in 180 s, and peak memory per row that does
not grow with size. Beside each goal: the CPU the run used (the rehearsal's and its server's) against the
CPU the goal would leave on this machine's cores, the bound no scheduling can beat.
With ``--repeats`` above 1 every figure is the median of the runs. The machine's load average is
printed beside the figures: on a shared machine they move with it.
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
from pathlib import Path
from typing import Any

from login_limit import login_limit

from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.rehearse import rehearse_views
from secure_pipelines.rehearse.runner import later_layers_cpu_seconds
from secure_pipelines.rehearse.timing import PHASES
from secure_pipelines.views import Request, open_views

RATIO_GOAL = 0.6
SECONDS_GOAL = {200: 30.0, 1000: 180.0}


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


def rehearse_once(path: Path) -> dict[str, Any]:
    """One whole rehearsal of the declaration at ``path`` in this process (run in a fresh one)."""
    started = time.perf_counter()
    rehearsal = rehearse_views(open_views(Request(declaration=path, organization=True), cwd=path.parent))
    seconds = time.perf_counter() - started
    own, server = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rows": len(rehearsal.outcomes),
        "passed": rehearsal.passed,
        "seconds": seconds,
        "phases": dict(rehearsal.phases.in_order()),
        # CPU seconds per phase, of this process and of the server: what a shared machine does not blur.
        "phase_cpu": {name: list(cpu) for name, cpu in rehearsal.phases.cpu.items()},
        # CPU time of the whole process (imports included) with its config-policy evaluations in worker
        # processes (alive still, so not in RUSAGE_CHILDREN), and of the server, its only child that ended.
        "cpu_seconds": own.ru_utime + own.ru_stime + later_layers_cpu_seconds(),
        "server_cpu_seconds": server.ru_utime + server.ru_stime,
        "peak_rss_mib": own.ru_maxrss / 1024,
        "server_peak_rss_mib": server.ru_maxrss / 1024,
    }


def run_size(size: int, workdir: Path) -> dict[str, Any]:
    """A fresh process rehearses ``size`` repositories; its figures, plus the plan's size."""
    values = declaration(size)
    plan = build_plan(parse_declaration(values))  # a broken generator fails before anything is timed
    path = workdir / f"declaration-{size}.json"
    path.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML
    child = subprocess.run([sys.executable, __file__, "--rehearse-one", str(path)],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.exit(f"the rehearsal of {size} repositories failed:\n{child.stderr[-3000:]}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures.update(repositories=size, roles=len(plan.roles),
                   secret_paths=sum(len(e.secret_store.paths) for e in plan.environments))
    return figures


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    merged = dict(first)
    for key in ("seconds", "cpu_seconds", "server_cpu_seconds", "peak_rss_mib", "server_peak_rss_mib"):
        merged[key] = statistics.median(r[key] for r in runs)
    merged["phases"] = {p: statistics.median(r["phases"].get(p, 0.0) for r in runs) for p in first["phases"]}
    merged["phase_cpu"] = {p: [_median_or_none([r["phase_cpu"][p][i] for r in runs]) for i in (0, 1)]
                           for p in first["phase_cpu"]}
    merged["passed"] = all(r["passed"] for r in runs)
    merged["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return merged


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _cpu_cell(cpu: list[float | None] | None) -> str:
    """``rehearsal / server`` CPU seconds; ``-`` where not measured (the server before it starts)."""
    if not cpu:
        return "-"
    return " / ".join("-" if v is None else f"{v:.1f}" for v in cpu)


def _cpu_floor(result: dict[str, Any], limit: float) -> str:
    """What the machine's cores allow: the CPU the rehearsal and its server used, spread over every core with
    none idle, and the CPU the goals would leave them (a goal is out of reach while its budget is smaller)."""
    cores = os.cpu_count() or 1
    used = result["cpu_seconds"] + result["server_cpu_seconds"]
    budgets = [("rows/s", result["rows"] / (RATIO_GOAL * limit))]
    if result["repositories"] in SECONDS_GOAL:
        budgets.append(("time", SECONDS_GOAL[result["repositories"]]))
    shown = "; ".join(f"the {name} goal leaves {cores * seconds:.1f} s of CPU ({seconds:.1f} s on {cores} cores)"
                      for name, seconds in budgets)
    return (f"CPU used: {used:.1f} s (rehearsal {result['cpu_seconds']:.1f}, "
            f"server {result['server_cpu_seconds']:.1f}), so no faster than {used / cores:.1f} s on {cores} cores; "
            f"{shown}")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--repeats", type=int, default=1, help="runs per size; figures are medians")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                        help="client threads tried for the raw login limit")
    parser.add_argument("--limit-seconds", type=float, default=3.0, help="measuring time per thread count")
    parser.add_argument("--rehearse-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rehearse_one is not None:
        print(json.dumps(rehearse_once(args.rehearse_one)))
        return 0

    print(f"## Raw login limit of the embedded OpenBao ({_load()})\n")
    rates = login_limit(args.threads, args.limit_seconds)
    for rate in rates:
        print(f"- {rate.threads:>2} client threads: {rate.per_second:6.0f} logins/s")
    best = max(rates, key=lambda r: r.per_second)
    limit = best.per_second
    print(f"\nlimit: **{limit:.0f} logins/s** ({best.threads} threads)\n")

    print("## Rehearsal (`securepipe rehearse --all`), one fresh process per run\n")
    shown = [p for p in PHASES if p not in ("keys", "address-check")]
    print("| repos | roles | rows | seconds | rows/s | ratio to limit | flows rows/s (ratio) | "
          + " | ".join(shown) + " | CPU s (python / server) | peak MiB (python / server) | MiB per 1000 rows | load |")
    print("|" + "---:|" * (12 + len(shown)))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-rehearse-") as workdir:
        for size in args.sizes:
            result = _median([run_size(size, Path(workdir)) for _ in range(args.repeats)])
            results.append(result)
            rate = result["rows"] / result["seconds"]
            flows = result["phases"].get("flows", 0.0) + result["phases"].get("admin", 0.0)
            flows_rate = result["rows"] / flows if flows else 0.0
            peak = result["peak_rss_mib"] + result["server_peak_rss_mib"]
            print(f"| {size} | {result['roles']} | {result['rows']} | {result['seconds']:.1f} | {rate:.0f} "
                  f"| {rate / limit:.2f} | {flows_rate:.0f} ({flows_rate / limit:.2f}) | "
                  + " | ".join(f"{result['phases'].get(p, 0.0):.1f}" for p in shown)
                  + f" | {result['cpu_seconds']:.0f} / {result['server_cpu_seconds']:.0f}"
                  + f" | {result['peak_rss_mib']:.0f} / {result['server_peak_rss_mib']:.0f} "
                  f"| {1000 * peak / result['rows']:.1f} | {os.getloadavg()[0]:.1f} |", flush=True)

    cpu_phases = [p for p in shown if any(p in r["phase_cpu"] for r in results)]
    print("\nCPU seconds per phase (rehearsal / server):\n")
    print("| repos | " + " | ".join(cpu_phases) + " |")
    print("|" + "---:|" * (1 + len(cpu_phases)))
    for r in results:
        cells = [r["phase_cpu"].get(p) for p in cpu_phases]
        print(f"| {r['repositories']} | " + " | ".join(_cpu_cell(c) for c in cells) + " |")

    print("\n## Goals\n")
    failed = [r for r in results if not r["passed"]]
    for r in failed:
        print(f"- FAILED: the rehearsal of {r['repositories']} repositories did not pass")
    for r in results:
        ratio = r["rows"] / r["seconds"] / limit
        print(f"- {r['repositories']} repositories: rows/s {ratio:.2f} of the limit "
              f"({'met' if ratio >= RATIO_GOAL else 'not met'}: goal {RATIO_GOAL})")
        goal = SECONDS_GOAL.get(r["repositories"])
        if goal is not None:
            print(f"- {r['repositories']} repositories in {r['seconds']:.0f} s "
                  f"({'met' if r['seconds'] <= goal else 'not met'}: goal {goal:.0f} s)")
        print(f"  - {_cpu_floor(r, limit)}")
    if len(results) >= 2:
        small, large = results[-2], results[-1]
        per_row = [(r["peak_rss_mib"] + r["server_peak_rss_mib"]) / r["rows"] for r in (small, large)]
        growth = per_row[1] / per_row[0]
        print(f"- peak memory per row from {small['repositories']} to {large['repositories']} repositories: "
              f"x{growth:.2f} ({'linear or better' if growth <= 1.1 else 'grows faster than the rows'})")
    print(f"\n({_load()} at the end)")
    print("\n```json\n" + json.dumps({"limit_logins_per_second": round(limit),
                                        "limit_threads": best.threads, "sizes": results}, indent=2) + "\n```")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
