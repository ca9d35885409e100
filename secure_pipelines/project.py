"""The Pulumi project a command runs in, and the stack config ``pulumi up -s <stack>`` would read.

A project is the nearest directory, from the current one upwards, holding ``Pulumi.yaml``. Its
``stackConfigDir`` (default: the project directory) holds one ``Pulumi.<stack>.yaml`` per stack.
The config a stack's program sees is the project file's ``config:`` values (``value``, else
``default``) under the stack file's ``config:`` mapping, as the Pulumi CLI merges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidDeclaration, Problem
from .yaml_files import read_yaml

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json")
"""The names Pulumi accepts for a project file, in the order it looks for them."""
STACK_FILE_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_NAMESPACE = "secure-pipelines"
"""The config namespace of every setting the stack program reads (``pulumi.Config(CONFIG_NAMESPACE)``)."""
DECLARATION_FILE_SETTING = "declarationFile"
DECLARATION_SETTING = "declaration"
DECLARATION_FILE_KEY = f"{CONFIG_NAMESPACE}:{DECLARATION_FILE_SETTING}"
"""Stack config: the declaration file, relative to the project directory."""
DECLARATION_KEY = f"{CONFIG_NAMESPACE}:{DECLARATION_SETTING}"
"""Stack config: an object merged over the declaration file's values."""
DEFAULT_DECLARATION_FILE = Path("stacks") / "declaration.yaml"
"""The declaration a stack reads when its config names none, relative to the project directory."""
_PROJECT_CONFIG_KEYS = {"type", "description", "default", "value", "secret", "items"}


@dataclass(frozen=True)
class PulumiProject:
    """A Pulumi project: its directory, name, stack config directory and project-level config."""

    directory: Path
    file: Path
    name: str
    stack_config_dir: Path
    config: Mapping[str, Any] = field(default_factory=dict)
    """Config every stack inherits (``config:`` of the project file; a stack's own value wins)."""

    def stack_file(self, stack: str) -> Path | None:
        """The stack's config file, if it exists."""
        for suffix in STACK_FILE_SUFFIXES:
            path = self.stack_config_dir / f"Pulumi.{stack}{suffix}"
            if path.is_file():
                return path
        return None

    def stack_files(self) -> dict[str, Path]:
        """Every stack that has a config file, by stack name."""
        if not self.stack_config_dir.is_dir():
            return {}
        found: dict[str, Path] = {}
        for path in sorted(self.stack_config_dir.iterdir()):
            name, suffix = path.stem, path.suffix
            if suffix in STACK_FILE_SUFFIXES and name.startswith("Pulumi.") and path.is_file():
                found.setdefault(name.removeprefix("Pulumi."), path)
        return found


def find_project(start: Path) -> PulumiProject | None:
    """The project whose directory is ``start`` or its nearest ancestor with a project file."""
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in PROJECT_FILES):
            return read_project(directory)
    return None


def read_project(directory: Path) -> PulumiProject:
    """The project in ``directory`` (which holds its project file)."""
    path = next(directory / name for name in PROJECT_FILES if (directory / name).is_file())
    document = read_yaml(path, "Pulumi project file")
    if not isinstance(document, Mapping):
        raise InvalidDeclaration([Problem(str(path), None, "must be a mapping (name, runtime, ...)")])
    config_dir = document.get("stackConfigDir")
    if config_dir is not None and not isinstance(config_dir, str):
        raise InvalidDeclaration([Problem(f"{path}: stackConfigDir", config_dir, "must be a directory path")])
    return PulumiProject(
        directory=directory,
        file=path,
        name=str(document.get("name", directory.name)),
        stack_config_dir=directory / config_dir if config_dir else directory,
        config=_project_config(path, str(document.get("name", directory.name)), document.get("config")),
    )


def _project_config(path: Path, project_name: str, config: Any) -> dict[str, Any]:
    """Project-level config by full key (a key without a namespace is in the project's own)."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InvalidDeclaration([Problem(f"{path}: config", None, "must be a mapping of config keys")])
    values: dict[str, Any] = {}
    for name, entry in config.items():
        key = str(name) if ":" in str(name) else f"{project_name}:{name}"
        if isinstance(entry, Mapping) and entry and set(entry) <= _PROJECT_CONFIG_KEYS:
            if "value" in entry:
                values[key] = entry["value"]
            elif "default" in entry:
                values[key] = entry["default"]
        else:
            values[key] = entry
    return values


@dataclass(frozen=True)
class StackConfig:
    """The config ``pulumi up -s <stack>`` passes to the program: project config under the stack file's."""

    stack: str
    file: Path | None
    """The stack config file read (``None``: the stack has none, so only project config applies)."""
    values: Mapping[str, Any]
    """Every config key as written (objects as objects); encrypted values are not readable here."""
    secret_keys: frozenset[str] = frozenset()
    """Keys whose value is encrypted (``secure:``) in the stack file."""

    @property
    def declaration_file(self) -> str | None:
        """``secure-pipelines:declarationFile``, if set."""
        value = self.values.get(DECLARATION_FILE_KEY)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise InvalidDeclaration([Problem(f"{self._where()}: {DECLARATION_FILE_KEY}", value,
                                              "must be a path to the declaration file")])
        return value

    @property
    def declaration_object(self) -> Mapping[str, Any] | None:
        """``secure-pipelines:declaration``, the object merged over the declaration file, if set."""
        value = self.values.get(DECLARATION_KEY)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise InvalidDeclaration([Problem(f"{self._where()}: {DECLARATION_KEY}", value,
                                              "must be a mapping of declaration fields, e.g. "
                                              "{organization: {github: {plan: enterprise}}}")])
        return value

    def _where(self) -> str:
        return str(self.file) if self.file is not None else f"stack {self.stack}"


def stack_short_name(stack: str) -> str:
    """``org/project/stack`` or ``stack`` -> ``stack`` (the name in ``Pulumi.<stack>.yaml``)."""
    return stack.rsplit("/", 1)[-1]


def read_stack_config(project: PulumiProject | None, stack: str) -> StackConfig:
    """The config of ``stack`` in ``project`` (no project: no config at all)."""
    if project is None:
        return StackConfig(stack, None, {})
    path = project.stack_file(stack)
    if path is None:
        return StackConfig(stack, None, dict(project.config))
    document = read_yaml(path, "stack config file") or {}
    if not isinstance(document, Mapping):
        raise InvalidDeclaration([Problem(str(path), None, "must be a mapping with a config: section")])
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise InvalidDeclaration([Problem(f"{path}: config", None, "must be a mapping of config keys")])
    values = {**project.config, **{str(k): v for k, v in config.items()}}
    secret = frozenset(k for k, v in values.items() if isinstance(v, Mapping) and set(v) == {"secure"})
    return StackConfig(stack, path, values, secret)
