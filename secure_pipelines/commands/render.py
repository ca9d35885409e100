"""``securepipe render``: write pipeline configs, CI config policies (and their tests), Vault policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..progress import progress, shown_on
from ..render.files import file_environment, shared_files, vault_policy_files
from ..render.output import compare, unified_diff, write_output
from ..render.templating import RenderSource
from ..views import DECLARATION_OPTION, Views
from ._common import AllOption, DeclarationOption, console, error_console, open_stacks, say, user_errors

EXIT_DIFFERS = 1


def render(
    stack: Annotated[str | None, typer.Option(
        "--stack", "-s", help="Render for one stack (its Vault policies, plus the files every environment "
        "shares), read as `pulumi up -s <stack>` reads it.")] = None,
    all_environments: AllOption = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write the files under.", show_default=True)
    ] = Path("rendered"),
    declaration: DeclarationOption = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; print a unified diff and exit 1 if the files under --out differ from "
        "what the declaration renders (missing, changed or stale files), exit 0 if they are the same.")] = False,
) -> None:
    """Render the files a team commits and pushes: each repository's pipeline config, the CI
    config policies with their tests, and the Vault policies. Same declaration, same bytes.
    Files an earlier render wrote that the declaration no longer produces are removed (unless edited)."""
    with user_errors(), shown_on(error_console):
        progress().phase("reading the declaration as each stack reads it")
        views = open_stacks(declaration, stack, all_environments, organization=stack is None)
        progress().phase("rendering the files")
        files = rendered_files(views, stack)
        environments = set(views.stacks)

        def in_scope(path: str) -> bool:
            return file_environment(path) in (None, *environments)

        state = compare(files, out, in_scope) if check else write_output(files, out, in_scope, _shown(views))
    if check:
        if not state.in_step:
            console.print(unified_diff(files, out, state), markup=False, highlight=False, end="")
            say(f"{out} differs from what the declaration renders: {len(state.missing)} missing, "
                f"{len(state.changed)} changed, {len(state.stale) + len(state.kept)} stale; run securepipe "
                f"render {'--all' if stack is None else f'--stack {stack}'}")
            raise typer.Exit(EXIT_DIFFERS)
        say(f"{out} is in step with the declaration ({len(files)} files)")
        return
    for path in (*state.missing, *state.changed):
        console.print(f"  wrote {out / path}", markup=False)
    for path in state.stale:
        console.print(f"  removed {out / path} (no longer rendered)", markup=False)
    for path in state.kept:
        say(f"warning: {out / path} is no longer rendered but is not as it was rendered (edited, or not a plain "
            "file), so it was kept; delete it yourself if it is not needed")
    console.print(f"rendered {len(files)} files under {out}: {len(state.missing)} new, {len(state.changed)} "
                  f"updated, {len(files) - len(state.missing) - len(state.changed)} unchanged, "
                  f"{len(state.stale)} removed", markup=False)


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
