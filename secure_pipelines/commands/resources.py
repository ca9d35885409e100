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

from ..stack.capture import CapturedResource, capture_view
from ._common import DeclarationOption, console, error_console, open_stacks, user_errors

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
    stack: Annotated[str, typer.Option("--stack", "-s", help="The stack (environment) to list, read as "
                                       "`pulumi up -s <stack>` reads it.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table for people, json for tools.")
    ] = OutputFormat.TABLE,
    declaration: DeclarationOption = None,
) -> None:
    """List every resource the stack would register, with secret values masked."""
    with user_errors():
        captured = capture_view(open_stacks(declaration, stack, False).first)
    for warning in captured.warnings:
        error_console.print(f"warning: {warning}", markup=False, style="yellow")
    records = as_records(captured.resources)
    if output_format is OutputFormat.JSON:
        console.print(json.dumps({"stack": stack, "resources": records}, indent=2), markup=False)
    else:
        console.print(as_text(stack, records), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(resources)
