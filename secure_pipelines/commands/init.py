"""``securepipe init``: start a new infrastructure project, or add the stack config files it lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import DeclarationNotFound
from ..project import find_project, read_stack_config
from ..scaffold.project import organization_name, project_files, stack_file_path
from ..scaffold.stack_files import VAULT_ADDRESS_KEY, provider_settings, stack_file_text
from ..scaffold.write import write_new_files
from ..version import installed_version
from ..views import Request, Views, open_views
from ._common import DeclarationOption, console, fail, say, user_errors

FALLBACK_ORGANIZATION = "example"


def init(
    directory: Annotated[Path, typer.Argument(help="The project's directory (created if missing).",
                                              show_default="the current directory")] = Path("."),
    organization: Annotated[str | None, typer.Option(
        "--organization", help="Your GitHub organisation's login: the declaration's organisation name and the "
        "prefix of context and runner names (default: the directory's name).")] = None,
    stacks: Annotated[bool, typer.Option(
        "--stacks", help="In an existing project: write the stack config file of each declared environment that "
        "has none (and nothing else).")] = False,
    declaration: DeclarationOption = None,
) -> None:
    """Start a new infrastructure project: Pulumi.yaml, the stack program, requirements.txt, .gitignore, a
    commented declaration that validates, and one stack config file per environment. Never overwrites a file."""
    with user_errors():
        if stacks:
            _add_stack_files(directory, declaration)
            return
        if declaration is not None:
            fail("--declaration goes with --stacks (a new project writes its own declaration)")
        name = _checked(organization) if organization is not None else _name_from(directory)
        written = write_new_files(directory, project_files(name, installed_version()),
                                  hint="to add the stack config files of new environments, use --stacks")
    for path in written:
        console.print(f"  wrote {_relative(path)}", markup=False)
    shown = "" if directory == Path(".") else f"cd {directory} && "
    where = "this directory" if directory == Path(".") else directory
    console.print(
        f"started the secure-pipelines project of {name} in {where}. Next:\n"
        f"  1. {shown}edit stacks/declaration.yaml: replace each placeholder id (its comment says where to find "
        "it), keep what you use\n"
        "  2. securepipe validate            checks it, and lists the placeholders left\n"
        "  3. securepipe checklist --all     every step to take by hand, in order, with the values to enter\n"
        "  4. securepipe rehearse --all      proves the roles against an embedded OpenBao", markup=False)


def _relative(path: Path) -> str:
    here = Path.cwd().resolve()
    return path.resolve().relative_to(here).as_posix() if path.resolve().is_relative_to(here) else str(path)


def _checked(organization: str) -> str:
    """The ``--organization`` given, if the declaration accepts it as the organisation's name."""
    if organization_name(organization) != organization:
        suggestion = organization_name(organization)
        fail(f"--organization {organization!r} is not a name the declaration accepts: use your GitHub organisation's "
             "login, 1-32 lowercase letters, digits or '-', starting with a letter"
             + (f" (e.g. --organization {suggestion})" if suggestion else ""))
    return organization


def _name_from(directory: Path) -> str:
    derived = organization_name(directory.resolve().name)
    name = derived or FALLBACK_ORGANIZATION
    say(f"organisation name: {name} (from the directory's name{'' if derived else ', which is not one'}; "
        "--organization sets it)")
    return name


def _add_stack_files(directory: Path, declaration: Path | None) -> None:
    project = find_project(directory.resolve())
    if project is None or project.directory != directory.resolve():
        fail(f"{directory} holds no Pulumi project (Pulumi.yaml); run `securepipe init {directory}` to start one")
    try:
        views = open_views(Request(declaration=declaration), cwd=project.directory, report=say)
    except DeclarationNotFound as missing:
        fail(str(missing))
    files = _missing_stack_files(views)
    if not files:
        say("every environment of the declaration has its stack config file; nothing written")
        return
    for path in write_new_files(project.directory, files, hint="remove it, or keep it as it is"):
        console.print(f"  wrote {_relative(path)}", markup=False)


def _missing_stack_files(views: Views) -> dict[str, str]:
    """The stack config file of each environment without one, with the settings the others already use."""
    project = views.project
    assert project is not None, "opened inside a project"
    existing = project.stack_files()
    addresses = [value for stack in existing if isinstance(
        value := read_stack_config(project, stack).values.get(VAULT_ADDRESS_KEY), str)]
    declared = views.first.declaration
    plan = views.first.plan
    base = project.stack_config_dir.relative_to(project.directory)
    files: dict[str, str] = {}
    for environment in plan.environments:
        if environment.name in existing:
            continue
        settings = provider_settings(
            environment.name, owner=declared.organization.github.owner,
            resources=environment.name == plan.resources_stack, vault_address=addresses[0] if addresses else None,
            admin_client_id=declared.admins.auth.bound_audiences[0], organization=declared.organization.name)
        files[(base / Path(stack_file_path(environment.name)).name).as_posix()] = stack_file_text(settings)
    return files


def register(app: typer.Typer) -> None:
    app.command()(init)
