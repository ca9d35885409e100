"""The declaration file: YAML, read strictly (a duplicated key is an error, not a silent overwrite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ...errors import DeclarationNotFound, InvalidDeclaration, Problem, UnreadableFile
from ...yaml_files import parse_yaml, read_yaml

WHAT = "declaration file"


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a declaration file, with clear errors for a missing or malformed file."""
    if not path.exists() and not path.is_symlink():
        raise DeclarationNotFound(f"{path}: no such {WHAT}; pass --declaration FILE")
    return _mapping(read_yaml(path, WHAT), str(path))


def parse_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The top-level mapping of YAML ``text`` that is no file (a component's input); ``source`` names it
    in errors, which are declaration problems like every other mistake in it."""
    try:
        loaded = parse_yaml(text, source)
    except UnreadableFile as error:
        where, _, what = str(error).partition(": ")
        located = what if where == source else f"{what} (at {where.removeprefix(source + ':')}, line:column)"
        raise InvalidDeclaration([Problem(source, None, located)]) from None
    return _mapping(loaded, source)


def _mapping(loaded: Any, source: str) -> dict[str, Any]:
    if loaded is None:
        raise InvalidDeclaration([Problem(source, None, "is empty (or only comments); start from the commented "
                                                        "declaration `securepipe init` writes")])
    if not isinstance(loaded, dict):
        raise InvalidDeclaration([Problem(source, type(loaded).__name__, "must be a mapping of settings")])
    return loaded


class YamlFileSource(PydanticBaseSettingsSource):
    """Lowest-precedence source: the declaration file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        super().__init__(settings_cls)
        self._values = read_yaml_mapping(path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
