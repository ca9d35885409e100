"""``securepipe render``: write pipeline configs, CI config policies (and their tests), Vault policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import SecurePipelinesError, UnknownStack
from ..example_project import DEFAULT_DECLARATION, EXAMPLE_PROJECT_DIR
from ..render.files import render_files, write_files
from ..render.templating import RenderSource
from ._common import DeclarationOption, console, load_plan, user_errors


def render(
    stack: Annotated[
        str | None,
        typer.Option("--stack", help="Render for one environment (its Vault policies, plus the shared files)."),
    ] = None,
    all_environments: Annotated[
        bool, typer.Option("--all", help="Render for every environment of the declaration.")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write the files under.", show_default=True)
    ] = Path("rendered"),
    declaration: DeclarationOption = DEFAULT_DECLARATION,
) -> None:
    """Render the files a team commits and pushes: each repository's pipeline config, the CI
    config policies with their tests, and the Vault policies. Same declaration, same bytes."""
    with user_errors():
        if (stack is None) == (not all_environments):
            raise SecurePipelinesError("choose what to render: --stack <environment> or --all (not both)")
        plan = load_plan(declaration)
        known = [env.name for env in plan.environments]
        if stack is not None and stack not in known:
            raise UnknownStack(f"no environment {stack!r} in the declaration; known: {', '.join(known)}")
        source = RenderSource(declaration=_shown(declaration), command=_command(stack, declaration))
        files = render_files(plan, source, None if stack is None else [stack])
        written = write_files(files, out)
    for path in sorted(files):
        console.print(f"  {out / path}", markup=False)
    console.print(f"rendered {len(written)} files under {out}", markup=False)


def _shown(declaration: Path) -> str:
    """The declaration's name for headers: relative to the project when inside it, so the
    rendered bytes do not depend on where the project is checked out."""
    resolved = declaration.resolve()
    if resolved.is_relative_to(EXAMPLE_PROJECT_DIR):
        return resolved.relative_to(EXAMPLE_PROJECT_DIR).as_posix()
    return declaration.as_posix()


def _command(stack: str | None, declaration: Path) -> str:
    words = ["securepipe", "render", f"--stack {stack}" if stack else "--all"]
    if declaration.resolve() != DEFAULT_DECLARATION.resolve():
        words.append(f"--declaration {_shown(declaration)}")
    return " ".join(words)


def register(app: typer.Typer) -> None:
    app.command()(render)
