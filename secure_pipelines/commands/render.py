"""``securepipe render``: write pipeline configs, CI config policies (and their tests), Vault policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render.files import shared_files, vault_policy_files, write_files
from ..render.templating import RenderSource
from ..views import DECLARATION_OPTION, Views
from ._common import AllOption, DeclarationOption, console, open_stacks, user_errors


def render(
    stack: Annotated[str | None, typer.Option(
        "--stack", "-s", help="Render for one stack (its Vault policies, plus the files every environment "
        "shares), read as `pulumi up -s <stack>` reads it.")] = None,
    all_environments: AllOption = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write the files under.", show_default=True)
    ] = Path("rendered"),
    declaration: DeclarationOption = None,
) -> None:
    """Render the files a team commits and pushes: each repository's pipeline config, the CI
    config policies with their tests, and the Vault policies. Same declaration, same bytes."""
    with user_errors():
        views = open_stacks(declaration, stack, all_environments, organization=stack is None)
        files = rendered_files(views, stack)
        written = write_files(files, out)
    for path in sorted(files):
        console.print(f"  {out / path}", markup=False)
    console.print(f"rendered {len(written)} files under {out}", markup=False)


def rendered_files(views: Views, stack: str | None) -> dict[str, str]:
    """Shared files from the resources stack's view (``--all``) or the stack's own; each environment's
    Vault policies from its own stack's view."""
    source = RenderSource(declaration=_shown(views), command=_command(views, stack))
    shared_from = views.first if stack is not None else (views.organization or views.first)
    files = shared_files(shared_from.plan, source)
    for view in views.views:
        files.update(vault_policy_files(view.plan, source, [view.stack]))
    return dict(sorted(files.items()))


def _shown(views: Views) -> str:
    """The declaration's name for headers: relative to the project when inside it, so the rendered bytes
    do not depend on where the project is checked out."""
    names = []
    for view in views.views:
        path = view.sources.choice.path.resolve()
        inside = views.project is not None and path.is_relative_to(views.project.directory.resolve())
        names.append(path.relative_to(views.project.directory.resolve()).as_posix() if inside and views.project
                     else str(view.sources.choice.path))
    return ", ".join(dict.fromkeys(names))


def _command(views: Views, stack: str | None) -> str:
    words = ["securepipe", "render", f"--stack {stack}" if stack else "--all"]
    if views.first.sources.choice.origin == DECLARATION_OPTION:
        words.append(f"--declaration {_shown(views)}")
    return " ".join(words)


def register(app: typer.Typer) -> None:
    app.command()(render)
