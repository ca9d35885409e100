"""Drive the component package the way a stack in another Pulumi language does, under Pulumi's mocks.

A TypeScript, Go or C# program never imports the Python classes: its SDK registers a remote
component, and the engine sends the plugin a ``Construct`` request. Here each request is built as
such an SDK serialises it (a protobuf ``Struct``: camelCase names, every number a double, secrets
wrapped, per-input dependencies and ``dependsOn`` as URNs), decoded exactly as Pulumi's provider
server decodes it, constructed by the package's provider, and answered as the server answers. What
is left out is the gRPC transport and the engine: the mocks runtime stands in for the resource
monitor. ``ProviderServicer.Construct`` itself is not called because it replaces the runtime's
settings (monitor, config) with the engine's, which would leave the mocks.

The programs are described in YAML fixtures (``fixtures/*.yaml``): each entry is one component a
program creates, with the inputs its SDK sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import proto, rpc
from ruamel.yaml import YAML

from secure_pipelines.components.package import SecurePipelinesProvider
from secure_pipelines.stack import StackCapture, capture_program

EXAMPLE_PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The repository root: a Pulumi project holding the worked example."""

FIXTURES = Path(__file__).with_name("fixtures")


@dataclass(frozen=True)
class Construct:
    """One component a program in another language creates: what its SDK puts in the Construct request."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    secrets: tuple[str, ...] = ()
    """Inputs the program passes as secrets (``pulumi.secret(...)``, ``config.requireSecret(...)``)."""
    input_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Inputs taken from earlier components' outputs: input -> the names of those components."""
    depends_on: tuple[str, ...] = ()
    """``dependsOn``: the names of earlier components of the program."""
    protect: bool = False


@dataclass(frozen=True)
class Constructed:
    """What the plugin answered: the component's URN and its outputs (camelCase, as the SDK reads them)."""

    urn: str
    state: Mapping[str, Any]


@dataclass(frozen=True)
class ProgramRun:
    capture: StackCapture
    constructed: Mapping[str, Constructed]
    """By component name."""
    depends_on: Mapping[tuple[str, str], tuple[str, ...]]
    """(type, name) -> the URNs each resource was told to wait for (``depends_on``)."""


def load_program(name: str) -> tuple[str, list[Construct]]:
    """A fixture's stack and its components; ``files`` inputs become the text of those files
    (paths relative to the example project), as a program that reads a file would send it."""
    raw = YAML(typ="safe", pure=True).load((FIXTURES / name).read_text(encoding="utf-8"))
    constructs = []
    for entry in raw["components"]:
        inputs = dict(entry.get("inputs") or {})
        for key, path in (entry.get("files") or {}).items():
            inputs[key] = (EXAMPLE_PROJECT_DIR / path).read_text(encoding="utf-8")
        constructs.append(Construct(
            type=entry["type"], name=entry["name"], inputs=inputs,
            secrets=tuple(entry.get("secrets") or ()),
            input_dependencies={k: tuple(v) for k, v in (entry.get("inputDependencies") or {}).items()},
            depends_on=tuple(entry.get("dependsOn") or ()),
            protect=bool(entry.get("protect", False)),
        ))
    return raw["stack"], constructs


async def _construct(provider: SecurePipelinesProvider, servicer: ProviderServicer, call: Construct,
                     urns: Mapping[str, str]) -> Constructed:
    sent = {k: pulumi.Output.secret(v) if k in call.secrets else v for k, v in call.inputs.items()}
    struct = await rpc.serialize_properties(sent, {})
    request = proto.ConstructRequest(
        type=call.type,
        name=call.name,
        inputs=struct,
        inputDependencies={
            key: proto.ConstructRequest.PropertyDependencies(urns=[urns[n] for n in names])
            for key, names in call.input_dependencies.items()
        },
        dependencies=[urns[n] for n in call.depends_on],
        protect=call.protect,
    )
    inputs = await ProviderServicer._construct_inputs(request.inputs, request.inputDependencies)
    options = ProviderServicer._construct_options(request)
    result = provider.construct(request.name, request.type, inputs, options)
    response = await servicer._construct_response(result)
    return Constructed(response.urn, rpc.deserialize_properties(response.state))


def run_program(stack: str, constructs: Sequence[Construct]) -> ProgramRun:
    """Construct each component in order, as the engine would for that program, under the mocks runtime."""
    provider = SecurePipelinesProvider()
    servicer = ProviderServicer(provider, [], engine_address="")
    constructed: dict[str, Constructed] = {}
    waits: dict[tuple[str, str], list[pulumi.Resource]] = {}
    depends_on: dict[tuple[str, str], tuple[str, ...]] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        listed = args.opts.depends_on
        waits[(args.type_, args.name)] = list(listed) if isinstance(listed, list) else []

    async def program() -> None:
        pulumi.runtime.register_stack_transformation(record)
        for call in constructs:
            urns = {name: done.urn for name, done in constructed.items()}
            constructed[call.name] = await _construct(provider, servicer, call, urns)
        for key, resources in waits.items():
            depends_on[key] = tuple([str(await r.urn.future()) for r in resources])

    capture = capture_program(lambda: pulumi.Output.from_input(asyncio.ensure_future(program())), stack)
    return ProgramRun(capture, constructed, depends_on)
