"""What ``securepipe validate`` says about a project ``init`` started: environments without a stack
config file, and ids still holding the placeholders ``init`` wrote."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import Problem
from ..project import PulumiProject
from .model import is_placeholder

SHOWN_PLACEHOLDERS = 5


def missing_stack_files(project: PulumiProject, environments: Sequence[str]) -> list[Problem]:
    """A warning for each environment whose stack has no config file in the project."""
    folder = project.stack_config_dir.relative_to(project.directory)
    return [
        Problem(f"environments[{name}]", None,
                f"has no stack config file ({(folder / f'Pulumi.{name}.yaml').as_posix()}): `pulumi up -s {name}` "
                "would run without the Vault address and provider settings; `securepipe init --stacks` writes it",
                environment=name)
        for name in environments if project.stack_file(name) is None
    ]


def placeholder_fields(values: Any, path: str = "") -> Iterator[str]:
    """The field paths (``repositories[webapp].github_id``) whose value is a placeholder id."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            yield from placeholder_fields(value, f"{path}.{key}" if path else str(key))
    elif isinstance(values, list | tuple):
        for index, item in enumerate(values):
            label = item.get("name") if isinstance(item, Mapping) else None
            yield from placeholder_fields(item, f"{path}[{label if isinstance(label, str) else index}]")
    elif is_placeholder(values):
        yield path


def placeholders_left(values: Mapping[str, Any]) -> Problem | None:
    """One warning naming the fields that still hold a placeholder id, if any do."""
    fields = list(dict.fromkeys(placeholder_fields(values)))
    if not fields:
        return None
    shown = ", ".join(fields[:SHOWN_PLACEHOLDERS]) + (f" and {len(fields) - SHOWN_PLACEHOLDERS} more"
                                                      if len(fields) > SHOWN_PLACEHOLDERS else "")
    return Problem("ids", None, f"{len(fields)} still hold the placeholders `securepipe init` wrote ({shown}); "
                   "replace each with the real id: its comment in the declaration and `securepipe checklist` say "
                   "where to find it (until then, no real job matches the roles bound to them)")
