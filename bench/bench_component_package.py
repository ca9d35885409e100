"""Benchmark of the component package other languages use (never a timed test).

Run from the project root:

    .venv/bin/python bench/bench_component_package.py [--sizes 10 100 1000] [--repeats 3]

It measures:

* the plugin's cold start as ``pulumi package add`` and ``pulumi up`` pay it: ``python components
  <engine>`` launched from another directory until it answers ``GetSchema`` over gRPC;
* per organisation size (the declarations of ``bench_components.py``), the three stacks built with the
  declared components (``DeclaredOrganization`` + ``DeclaredEnvironment``, loading the declaration's
  text once per stack) against the stack program (``capture_stack``), under Pulumi's mocks runtime.
  Both must register the same provider resources (checked).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
import pulumi
from bench_components import STACKS, declaration
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from secure_pipelines.components import DeclaredEnvironment, DeclaredOrganization
from secure_pipelines.components._inputs import _plan_of
from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.stack import CapturedResource, capture_program, capture_stack

ROOT = Path(__file__).resolve().parents[1]


def plugin_cold_start() -> float:
    """Seconds from launching the plugin folder to its first GetSchema answer."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as elsewhere:
        process = subprocess.Popen([sys.executable, str(ROOT / "components"), "127.0.0.1:1"], cwd=elsewhere,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert process.stdout is not None
            port = process.stdout.readline().strip()
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                schema = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                    provider_pb2.GetSchemaRequest(version=0), timeout=60).schema
            elapsed = time.perf_counter() - start
            assert json.loads(schema)["name"] == "secure-pipelines"
            return elapsed
        finally:
            process.terminate()
            process.wait(timeout=30)


def declared_stack(text: str, resources_stack: str, stack: str) -> tuple[CapturedResource, ...]:
    # Each stack is its own `pulumi up`, its own plugin process: nothing planned by another stack is kept.
    _plan_of.cache_clear()

    def program() -> None:
        depends_on: list[pulumi.Resource] = []
        if stack == resources_stack:
            depends_on.append(DeclaredOrganization("bench", {
                "declaration": text, "admin_oidc_client_id": "bench",
                "admin_oidc_client_secret": pulumi.Output.secret("bench")}))
        DeclaredEnvironment(stack, {"declaration": text, "environment": stack},
                            pulumi.ResourceOptions(depends_on=depends_on))

    return capture_program(program, stack).resources


def provider_resources(resources: Sequence[CapturedResource]) -> Counter[tuple[str, str]]:
    return Counter((r.type_token, r.name) for r in resources if not r.type_token.startswith("secure-pipelines:"))


Run = Callable[[], tuple[CapturedResource, ...]]


def best_of(repeats: int, run: Run) -> tuple[float, tuple[CapturedResource, ...]]:
    best, resources = float("inf"), ()
    for _ in range(repeats):
        start = time.perf_counter()
        resources = run()
        best = min(best, time.perf_counter() - start)
    return best, resources


def all_stacks(one: Callable[[str], tuple[CapturedResource, ...]]) -> Run:
    """The three stacks one after another, as ``pulumi up -s <stack>`` runs them."""
    return lambda: tuple(r for stack in STACKS for r in one(stack))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="timing runs per size (best is kept); 1 above 100")
    args = parser.parse_args(argv)

    starts = sorted(plugin_cold_start() for _ in range(args.repeats))
    print(f"plugin cold start to first GetSchema: median {starts[len(starts) // 2]:.2f} s "
          f"(min {starts[0]:.2f} s, {len(starts)} runs)\n")
    print("## Three stacks (dev, staging, production) under Pulumi mocks\n")
    print("| repos | provider resources | declared components | stack program | ratio |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            values = declaration(size)
            resources_stack = parse_declaration(values).resources_stack
            path = Path(tmp) / f"declaration-{size}.json"
            text = json.dumps(values)  # JSON is YAML: the same text a program would read from its file
            path.write_text(text, encoding="utf-8")
            repeats = args.repeats if size <= 100 else 1
            declared_time, declared = best_of(repeats, all_stacks(
                lambda stack, text=text, owner=resources_stack: declared_stack(text, owner, stack)))
            program_time, program = best_of(repeats, all_stacks(
                lambda stack, path=path: tuple(capture_stack(stack, path))))
            if provider_resources(declared) != provider_resources(program):
                raise SystemExit(f"{size} repositories: the declared components and the stack program differ")
            print(f"| {size} | {sum(provider_resources(program).values())} | {declared_time:.2f} s "
                  f"| {program_time:.2f} s | {declared_time / program_time:.2f} |", flush=True)


if __name__ == "__main__":
    main()
