"""``securepipe validate``: accept or refuse a declaration, with every problem named."""

from __future__ import annotations

import typer

from ..example_project import DEFAULT_DECLARATION
from ..plan.assembly import build_plan
from ._common import DeclarationOption, console, error_console, load, user_errors


def validate(declaration: DeclarationOption = DEFAULT_DECLARATION) -> None:
    """Check the declaration; print ok and a summary, or every problem found (exit 2)."""
    with user_errors():
        loaded = load(declaration)
        plan = build_plan(loaded)
    for warning in plan.warnings:
        error_console.print(f"warning: {warning}", markup=False, style="yellow")
    envs = ", ".join(f"{e.name} ({e.tier})" for e in plan.environments)
    console.print(
        f"ok: {len(plan.repositories)} repositories, {len(plan.environments)} environments [{envs}], "
        f"{len(plan.roles)} CI roles, {len(plan.jwt_mounts)} JWT mounts, {len(plan.warnings)} warnings",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(validate)
