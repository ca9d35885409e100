"""The declaration file: YAML, read strictly (a duplicated key is an error, not a silent overwrite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ...errors import DeclarationNotFound, InvalidDeclaration, Problem


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file, with clear errors for a missing or malformed file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeclarationNotFound(f"{path}: no such declaration file; pass --declaration FILE") from None
    except OSError as error:
        raise DeclarationNotFound(f"{path}: cannot be read ({error.strerror})") from None
    return parse_yaml_mapping(text, str(path))


def parse_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The top-level mapping of YAML ``text``; ``source`` names it in errors (a file, an input)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        loaded = yaml.load(text)
    except YAMLError as error:
        raise InvalidDeclaration([Problem(source, None, f"is not valid YAML: {error}".replace("\n", " "))]) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InvalidDeclaration([Problem(source, type(loaded).__name__, "must be a mapping of settings")])
    return loaded


class YamlFileSource(PydanticBaseSettingsSource):
    """Lowest-precedence source: the shared declaration file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        super().__init__(settings_cls)
        self._values = read_yaml_mapping(path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
