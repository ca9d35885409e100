"""Load a declaration from its sources, in order of precedence:

1. ``SECUREPIPE_``-prefixed environment variables (nested keys joined by ``__``; lists as JSON),
2. the Pulumi stack config object ``secure-pipelines:declaration``,
3. the declaration file.

Then validate it whole, reporting every mistake at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from . import checks
from .declaration import Declaration
from .errors import InvalidDeclaration, Problem
from .example_project import DEFAULT_DECLARATION
from .plan import build_plan
from .sources import PulumiConfigSource, YamlFileSource
from .sources.yaml_file import read_yaml_mapping

ENV_PREFIX = "SECUREPIPE_"


def load_declaration(
    path: Path | str = DEFAULT_DECLARATION,
    pulumi_config: Mapping[str, Any] | None = None,
) -> Declaration:
    """The validated declaration, or :class:`InvalidDeclaration` naming every mistake."""
    file_path = Path(path)

    class _Sources(Declaration, BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                env_settings,
                PulumiConfigSource(settings_cls, pulumi_config),
                YamlFileSource(settings_cls, file_path),
            )

    try:
        merged = _Sources()  # pyright: ignore[reportCallIssue]  (values come from the sources)
    except ValidationError as error:
        raw = read_yaml_mapping(file_path)
        raise InvalidDeclaration(problems_from_validation(error, raw)) from None
    declaration = Declaration.model_validate(merged.model_dump())
    return validate(declaration)


def parse_declaration(values: Mapping[str, Any]) -> Declaration:
    """Validate an in-memory declaration (no environment, no files)."""
    try:
        declaration = Declaration.model_validate(values)
    except ValidationError as error:
        raise InvalidDeclaration(problems_from_validation(error, values)) from None
    return validate(declaration)


def validate(declaration: Declaration) -> Declaration:
    """Cross-field checks, then the plan's own (name collisions): a valid declaration always plans."""
    found = checks.problems(declaration)
    if found:
        raise InvalidDeclaration(found)
    build_plan(declaration)
    return declaration


def problems_from_validation(error: ValidationError, raw: Mapping[str, Any]) -> list[Problem]:
    """pydantic's errors, rewritten for people: list items by name, unknown keys with the allowed ones."""
    found: list[Problem] = []
    errors = error.errors()
    for item in errors:
        loc = item["loc"]
        if item["type"] == "too_short" and any(len(o["loc"]) > len(loc) and o["loc"][: len(loc)] == loc
                                               for o in errors):
            continue  # pydantic's echo of an item that failed: the item's own error says more
        field = _field_path(loc, raw)
        value = item.get("input")
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "is not a known key; check its spelling" + (
                f" (known here: {', '.join(allowed)})" if allowed else ""
            )
            value = None
        elif item["type"] == "missing":
            message = "is required"
            value = None
        found.append(Problem(field, value, message))
    return found


def _field_path(loc: tuple[int | str, ...], raw: Any) -> str:
    parts: list[str] = []
    node: Any = raw
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else key
            parts.append(f"[{label}]")
            node = item
        else:
            parts.append(f".{key}" if parts else str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "declaration"


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = Declaration
    for key in loc:
        if isinstance(key, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(key))
        if field is None:
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The model inside ``X | None``, ``tuple[X, ...]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (Union, tuple, dict) or str(origin) in ("types.UnionType", "typing.Annotated"):
        for arg in get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    args = get_args(annotation)
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
