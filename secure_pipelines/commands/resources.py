"""``securepipe resources``: every resource a stack would register, read without the Pulumi CLI.

The stack program runs under Pulumi's mocks runtime (``secure_pipelines.stack.capture``): no
credentials, no provider plugins, no network. Reviewers read the security posture of a change
from this listing in a pull request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer

from ..progress import progress, shown_on
from ..stack.capture import CapturedResource, capture_view
from ._common import (
    AllOption,
    DeclarationOption,
    StackOption,
    console,
    error_console,
    open_stacks,
    user_errors,
)

MASK = "[secret]"

_ROLE_ENDPOINT = "vault:generic/endpoint:Endpoint"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _is_role_body(resource: CapturedResource, key: str) -> bool:
    """A JWT role body written through ``generic.Endpoint``: built from the plan, holding no credential.

    The provider marks every ``data_json`` secret; hiding this one would hide the very claims a
    reviewer must read (``ssh-rerun``, refs, CIDRs), so it is shown, decoded.
    """
    path = str(resource.inputs.get("path", ""))
    return (
        resource.type_token == _ROLE_ENDPOINT
        and key == "dataJson"
        and path.startswith("auth/")
        and "/role/" in path
    )


def shown_inputs(resource: CapturedResource) -> dict[str, Any]:
    """The inputs with every secret value masked (a role body is decoded, not masked)."""
    shown: dict[str, Any] = {}
    for key, value in sorted(resource.inputs.items()):
        if _is_role_body(resource, key) and isinstance(value, str):
            shown[key] = json.loads(value)
        elif key in resource.secret_keys:
            shown[key] = MASK
        else:
            shown[key] = value
    return shown


def as_records(resources: Sequence[CapturedResource]) -> list[dict[str, Any]]:
    return [
        {
            "type": r.type_token,
            "name": r.name,
            "parent": r.parent,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "inputs": shown_inputs(r),
        }
        for r in resources
    ]


def as_text(stack: str, records: Sequence[Mapping[str, Any]]) -> str:
    """A tree by parent: each resource with its type, options and inputs, one input per line."""
    depth: dict[str, int] = {}
    lines = [f"stack {stack}: {len(records)} resources"]
    for record in records:
        level = depth[record["parent"]] + 1 if record["parent"] in depth else 0
        depth[record["name"]] = level
        indent = "  " * level
        flags = [flag for flag, on in (("protect", record["protect"]), ("retain", record["retainOnDelete"])) if on]
        suffix = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"{indent}{record['name']}  ({record['type']}){suffix}")
        for key, value in record["inputs"].items():
            if isinstance(value, str) and "\n" in value:  # a document (policy HCL): shown as written
                lines.append(f"{indent}    {key}: |")
                lines.extend(f"{indent}      {line}" for line in value.rstrip("\n").split("\n"))
            else:
                lines.append(f"{indent}    {key}: {json.dumps(value, sort_keys=True)}")
    return "\n".join(lines)


def resources(
    stack: StackOption = None,
    all_stacks: AllOption = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table for people, json for tools.")
    ] = OutputFormat.TABLE,
    declaration: DeclarationOption = None,
) -> None:
    """List every resource a stack would create (what `pulumi up` would register), with secret values
    masked; no Pulumi CLI, credentials or network needed."""
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks)
        with shown_on(error_console):
            report = progress()
            report.phase("running each stack's program under Pulumi's mocks", total=len(views.views))
            captured = []
            for view in views.views:
                captured.append(capture_view(view))
                report.advance()
    for capture in captured:
        for warning in capture.warnings:
            error_console.print(f"warning: {warning}", markup=False, style="yellow")
    documents = [{"stack": c.stack, "resources": as_records(c.resources)} for c in captured]
    if output_format is OutputFormat.JSON:
        shown: Any = documents[0] if stack is not None else documents
        console.print(json.dumps(shown, indent=2), markup=False)
    else:
        console.print("\n\n".join(as_text(d["stack"], d["resources"]) for d in documents), markup=False,
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(resources)
