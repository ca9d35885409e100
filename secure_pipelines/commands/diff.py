"""``securepipe diff``: what a change to the declaration does to access, for its reviewers.

``diff OLD NEW`` compares two declaration files; ``diff --base REF`` compares the project as
committed at REF (declaration and stack config files, read through the front door) with the
working tree. ``SECUREPIPE_`` value overrides are not applied: a review compares committed files.
Exit status 1 when access widens (so a CI job can ask for a second reviewer), 0 otherwise.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..changes import NARROWING, NEUTRAL, WIDENING, AccessChange
from ..declaration.loader import planned_from, read_values
from ..declaration.sources.environment import DECLARATION_VARIABLE
from ..diff import NO_ACCESS, Access, access_changes, access_of, widens
from ..errors import DeclarationNotFound, InvalidDeclaration
from ..snapshot import check_ref, extract, repository_root
from ..views import Request, Views, open_views
from ._common import (
    AllOption,
    DeclarationOption,
    StackOption,
    console,
    fail,
    print_rows,
    refuse_both,
    say,
    user_errors,
)

EXIT_WIDENS = 1


class DiffFormat(StrEnum):
    TABLE = "table"
    MARKDOWN = "md"
    JSON = "json"


def diff(
    old: Annotated[Path | None, typer.Argument(help="The declaration before the change.", show_default=False)] = None,
    new: Annotated[Path | None, typer.Argument(help="The declaration after it.", show_default=False)] = None,
    base: Annotated[str | None, typer.Option(
        "--base", "-b", help="Compare the project as committed at this git ref (its declaration and stack "
        "config files) with the working tree.")] = None,
    declaration: DeclarationOption = None,
    stack: StackOption = None,
    all_stacks: AllOption = False,
    output: Annotated[DiffFormat, typer.Option("--format", "-f", help="table, md (a pull-request comment) or "
                                               "json.")] = DiffFormat.TABLE,
) -> None:
    """Show the access a change to the declaration adds and removes: grants, role bindings, admins,
    branch protection and policy rules, each widening, narrowing or neutral; exit 1 when access widens."""
    if (old is None) != (new is None):
        fail("give two declaration files (securepipe diff OLD NEW), or --base <git ref>")
    if (old is None) == (base is None):
        fail("compare either two files (securepipe diff OLD NEW) or the working tree with a commit (--base REF)")
    if old is not None and (declaration or stack or all_stacks):
        fail("--declaration, --stack and --all apply to --base; with OLD NEW each file is read alone")
    refuse_both(stack, all_stacks)
    with user_errors():
        if old is not None and new is not None:
            before, after, label = _files(old), _files(new), f"{old} -> {new}"
        else:
            assert base is not None
            before, after = _at_base(base, declaration, stack, all_stacks), _working_tree(declaration, stack,
                                                                                         all_stacks)
            label = f"{base} -> working tree"
        changes = access_changes(before, after)
    _show(changes, output, label)
    if widens(changes):
        raise typer.Exit(EXIT_WIDENS)


def _files(path: Path) -> Access:
    """One declaration file alone: no stack config, no ``SECUREPIPE_`` overrides."""
    read = read_values(path, None, environ={})
    say(f"read declaration {path} (alone: no stack config, no SECUREPIPE_ overrides)")
    try:
        return access_of(planned_from(read)[1])
    except InvalidDeclaration:
        say(f"{path} is not a declaration the toolkit accepts:")
        raise


def _committed_environment() -> dict[str, str]:
    """Which file to read may come from ``SECUREPIPE_DECLARATION``; no value override applies."""
    return {name: value for name, value in os.environ.items() if name == DECLARATION_VARIABLE}


def _access(views: Views) -> Access:
    organization = views.organization or views.first
    return access_of(organization.plan, {v.stack: v.plan for v in views.views if v.environment is not None})


def _request(declaration: Path | None, stack: str | None, all_stacks: bool) -> Request:
    return Request(declaration=declaration, stacks=None if stack is None else (stack,), organization=True)


def _working_tree(declaration: Path | None, stack: str | None, all_stacks: bool) -> Access:
    views = open_views(_request(declaration, stack, all_stacks), environ=_committed_environment(),
                       report=lambda line: say(f"working tree: {line}"))
    return _access(views)


def _at_base(ref: str, declaration: Path | None, stack: str | None, all_stacks: bool) -> Access:
    cwd = Path.cwd().resolve()
    root = repository_root(cwd).resolve()
    commit = check_ref(root, ref)
    inside = cwd.relative_to(root).as_posix() if cwd.is_relative_to(root) else "."
    wanted = [inside]
    if declaration is not None and (cwd / declaration).resolve().is_relative_to(root):
        wanted.append((cwd / declaration).resolve().relative_to(root).as_posix())
    with tempfile.TemporaryDirectory(prefix="securepipe-base-") as scratch:
        snapshot = Path(scratch)
        extract(root, commit, wanted, snapshot)
        here = snapshot / inside
        here.mkdir(parents=True, exist_ok=True)
        moved = None
        if declaration is not None:
            target = (cwd / declaration).resolve()
            moved = snapshot / target.relative_to(root) if target.is_relative_to(root) else target
        try:
            views = open_views(_request(moved, stack, all_stacks), cwd=here, environ=_committed_environment(),
                               report=lambda line: say(f"{ref}: {line.replace(str(snapshot), '')}"))
        except DeclarationNotFound as missing:
            say(f"{ref}: no declaration there ({missing}); everything in the working tree is new access")
            return NO_ACCESS
        return _access(views)


_MARK = {WIDENING: "widening", NARROWING: "narrowing", NEUTRAL: "neutral"}
_STYLE = {WIDENING: "bold red", NARROWING: "green", NEUTRAL: "dim"}


def _counts(changes: list[AccessChange]) -> dict[str, int]:
    return {kind: sum(1 for c in changes if c.kind == kind) for kind in (WIDENING, NARROWING, NEUTRAL)}


def _verdict(changes: list[AccessChange]) -> str:
    counts = _counts(changes)
    if not changes:
        return "no change to access"
    head = f"{counts[WIDENING]} widening, {counts[NARROWING]} narrowing, {counts[NEUTRAL]} neutral"
    return head + ("; access widens: ask a second reviewer" if counts[WIDENING] else "; access does not widen")


def as_markdown(changes: list[AccessChange], label: str) -> str:
    """A pull-request comment: the verdict, then one table row per change."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"### Access changes ({cell(label)})", "", f"**{_verdict(changes)}**"]
    if changes:
        lines += ["", "| | change | setting | before | after |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {_MARK[c.kind]} | {cell(c.summary)} | `{cell(c.field)}` | {cell(c.old)} | {cell(c.new)} |"
                  for c in changes]
    return "\n".join(lines) + "\n"


def as_json(changes: list[AccessChange], label: str) -> str:
    return json.dumps({"compared": label, "widens": widens(changes), **_counts(changes),
                       "changes": [asdict(c) for c in changes]}, indent=2)


COLUMNS = ("change", "kind", "setting", "before", "after")
WIDE_FROM = 110
"""Narrower than this, each change is shown stacked (it reads in 80 columns)."""


def _rows(changes: list[AccessChange]) -> list[list[str]]:
    return [[escape(c.summary), f"[{_STYLE[c.kind]}]{_MARK[c.kind]}[/]", *map(escape, (c.field, c.old, c.new))]
            for c in changes]


def _show(changes: list[AccessChange], output: DiffFormat, label: str) -> None:
    if output is DiffFormat.JSON:
        console.print(as_json(changes, label), markup=False, highlight=False)
    elif output is DiffFormat.MARKDOWN:
        console.print(as_markdown(changes, label), markup=False, highlight=False, end="")
    elif changes:
        print_rows(console, f"Access changes ({label}): {_verdict(changes)}", COLUMNS, _rows(changes), WIDE_FROM)
    else:
        console.print(f"{label}: {_verdict(changes)}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(diff)
