"""``securepipe validate``: accept or refuse a declaration, with every problem named."""

from __future__ import annotations

import typer

from ..errors import InvalidDeclaration, Problem
from ..progress import progress, shown_on
from ..scaffold.checks import missing_stack_files, placeholders_left
from ..views import Views, failing_tests
from ._common import (
    AllOption,
    DeclarationOption,
    StackOption,
    console,
    error_console,
    open_stacks,
    user_errors,
)


def validate(declaration: DeclarationOption = None, stack: StackOption = None, all_stacks: AllOption = False) -> None:
    """Check the declaration as each stack reads it, and the files it renders against its own policies;
    print ok and a summary (with warnings), or every problem found (exit 2). Without --stack: every stack."""
    with user_errors(), shown_on(error_console):
        progress().phase("checking the declaration as each stack reads it")
        views = open_stacks(declaration, stack, all_stacks, every_by_default=True)
        failing = failing_tests(views)
        if failing:
            raise InvalidDeclaration(failing)
    warnings = (*views.warnings, *project_warnings(views))
    for warning in warnings:
        error_console.print(f"warning: {warning}", markup=False, style="yellow")
    console.print(f"ok: {summary(views, len(warnings))}", markup=False)


def project_warnings(views: Views) -> list[Problem]:
    """Environments read without a stack config file, and ids still holding ``init``'s placeholders."""
    found: list[Problem] = []
    if views.project is not None:
        found += missing_stack_files(views.project, [v.stack for v in views.views if v.environment is not None])
    left = [p for view in views.views if (p := placeholders_left(view.sources.values.values)) is not None]
    return [*found, *dict.fromkeys(left)]


def summary(views: Views, warnings: int) -> str:
    """Repositories, the environments read (with their tiers), CI roles, JWT mounts and warnings."""
    environments = [v.environment for v in views.views if v.environment is not None]
    shown = ", ".join(f"{e.name} ({e.tier})" for e in environments)
    first = views.first.plan
    return (f"{_count(len(first.repositories), 'repository', 'repositories')}, "
            f"{_count(len(environments), 'environment')} [{shown}], "
            f"{_count(sum(len(e.roles) for e in environments), 'CI role')}, "
            f"{_count(len(first.jwt_mounts), 'JWT mount')}, {_count(warnings, 'warning')}")


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"


def register(app: typer.Typer) -> None:
    app.command()(validate)
