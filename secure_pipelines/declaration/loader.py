"""The one way in: find a declaration's values, validate them whole, report every mistake at once.

Values come from, in order of precedence:

1. ``SECUREPIPE_``-prefixed environment variables (nested keys joined by ``__``; lists as JSON),
2. the Pulumi stack config object ``secure-pipelines:declaration``,
3. the declaration file.

The core model checks its own sections; each ``ci:`` section is checked by the model of the CI
system it names, and every mistake of either is reported together, by its full field path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from ..ci import registry
from ..ci.base import CISystem
from ..errors import InvalidDeclaration, Problem
from ..example_project import DEFAULT_DECLARATION
from ..plan.assembly import build_plan
from . import checks
from .model import Declaration, Sections
from .sources import PulumiConfigSource, YamlFileSource
from .sources.yaml_file import parse_yaml_mapping

ENV_PREFIX = "SECUREPIPE_"
VERSION = 2


class _DeclarationSettings(Declaration, BaseSettings):
    """The declaration as pydantic-settings reads it from ``SECUREPIPE_*`` variables.

    ``ci`` is a plain mapping here so that nested variables (``SECUREPIPE_CI__<KEY>__<FIELD>``) reach
    every CI section, with JSON lists and objects decoded, as for the core's own fields.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)
    ci: dict[str, Any] = {}  # pyright: ignore[reportIncompatibleVariableOverride]


def load_declaration(
    path: Path | str = DEFAULT_DECLARATION,
    pulumi_config: Mapping[str, Any] | None = None,
) -> Declaration:
    """The validated declaration, or :class:`InvalidDeclaration` naming every mistake."""
    file_values = YamlFileSource(_DeclarationSettings, Path(path))()
    config_values = PulumiConfigSource(_DeclarationSettings, pulumi_config)()
    env_values = EnvSettingsSource(_DeclarationSettings)()
    return parse_declaration(_merged(file_values, config_values, env_values))


def load_declaration_text(text: str, source: str = "declaration") -> Declaration:
    """The validated declaration written in YAML ``text`` alone (no file, no config, no environment);
    ``source`` names the text in errors."""
    return parse_declaration(parse_yaml_mapping(text, source))


def _merged(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers over earlier ones; mappings merge key by key, anything else is replaced."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            below = merged.get(key)
            merged[key] = _merged(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return merged


def parse_declaration(values: Mapping[str, Any]) -> Declaration:
    """Validate an in-memory declaration (no environment, no files)."""
    if _is_version_1(values):
        raise InvalidDeclaration([version_1_problem()])
    found: list[Problem] = []
    try:
        core: Declaration | None = Declaration.model_validate(values)
    except ValidationError as error:
        core = None
        found.extend(problems_from_validation(error, values, Declaration))
    sections = dict(_validated_sections(values, found))
    if found or core is None:
        raise InvalidDeclaration(found)
    return validate(_with_sections(core, sections))


def validate(declaration: Declaration) -> Declaration:
    """Cross-field checks, then the plan's own (name collisions): a valid declaration always plans."""
    found = checks.problems(declaration)
    if found:
        raise InvalidDeclaration(found)
    build_plan(declaration)
    return declaration


# --- version 1 --------------------------------------------------------------------------------------

_CORE_MOVES = (
    ("version: 1", "version: 2"),
    ("repositories[].ci: [<system>, ...]", "repositories[].ci: {<system key>: {<its settings>}}"),
)


def _is_version_1(values: Mapping[str, Any]) -> bool:
    """Declared version 1, or no version and a repository listing its CI systems (the version 1 form)."""
    if "version" in values:
        return values["version"] == 1
    repositories = values.get("repositories")
    return isinstance(repositories, list) and any(
        isinstance(r, dict) and isinstance(r.get("ci"), list) for r in repositories)


def version_1_problem() -> Problem:
    """One problem listing every move from version 1 to version 2, so a user can migrate by hand."""
    moves = [*_CORE_MOVES, *(move for system in registry.systems() for move in system.version_1_moves)]
    width = max(len(old) for old, _ in moves)
    lines = "".join(f"\n      {old.ljust(width)} -> {new}" for old, new in moves)
    return Problem(
        "version", 1,
        f"version 1 declarations are no longer read; set version: {VERSION} and move each CI system's "
        f"settings under a ci: mapping (field -> new place):{lines}",
    )


# --- the CI sections ----------------------------------------------------------------------------------

Place = tuple[str, str | None, int | None]
"""Where a ``ci:`` mapping sits: its level, the list it is in, the index in that list."""


def _ci_mappings(values: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], Place]]:
    """Every ``ci:`` mapping of the raw values: (level, field path, mapping, place)."""
    if isinstance(values.get("ci"), Mapping):
        yield "organization", "ci", values["ci"], ("organization", None, None)
    for level, listed in (("repository", "repositories"), ("environment", "environments"),
                          ("developer", "developers")):
        items = values.get(listed)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and isinstance(item.get("ci"), Mapping):
                label = item.get("name") if isinstance(item.get("name"), str) else index
                yield level, f"{listed}[{label}].ci", item["ci"], (level, listed, index)


def _section_model(system: CISystem, level: str) -> type[BaseModel] | None:
    models = system.sections
    return {"organization": models.organization, "repository": models.repository,
            "environment": models.environment, "developer": models.developer}[level]


def _validated_sections(values: Mapping[str, Any], found: list[Problem]) -> Iterator[tuple[Place, Sections]]:
    """Each ``ci:`` mapping with its sections validated by their systems; mistakes go to ``found``."""
    known = registry.keys()
    for level, where, mapping, place in _ci_mappings(values):
        validated: dict[str, object] = {}
        for key, raw in mapping.items():
            system = registry.by_key(str(key))
            if system is None:
                found.append(Problem(f"{where}.{key}", None,
                                     f"is not a known CI system; known: {', '.join(known)}"))
                continue
            model = _section_model(system, level)
            if model is None:
                found.append(Problem(f"{where}.{key}", None, f"{system.title} has no settings at this level; "
                                     "remove this section"))
                continue
            section = raw if raw is not None else {}
            try:
                validated[key] = model.model_validate(section)
            except ValidationError as error:
                found.extend(problems_from_validation(error, section, model, prefix=f"{where}.{key}"))
        yield place, Sections(validated)


def _with_sections(core: Declaration, sections: Mapping[Place, Sections]) -> Declaration:
    """The declaration with each ``ci:`` mapping holding its validated section objects."""
    def listed(name: str, items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            item.model_copy(update={"ci": sections[(level, name, index)]})
            if (level := _LEVEL_OF[name], name, index) in sections else item
            for index, item in enumerate(items)
        )

    return core.model_copy(update={
        "ci": sections.get(("organization", None, None), Sections()),
        "repositories": listed("repositories", core.repositories),
        "environments": listed("environments", core.environments),
        "developers": listed("developers", core.developers),
    })


_LEVEL_OF = {"repositories": "repository", "environments": "environment", "developers": "developer"}


# --- pydantic's errors, for people ---------------------------------------------------------------------


def problems_from_validation(
    error: ValidationError, raw: Any, model: type[BaseModel], prefix: str = ""
) -> list[Problem]:
    """pydantic's errors, rewritten for people: list items by name, unknown keys with the allowed ones,
    missing fields with what they are."""
    found: list[Problem] = []
    errors = error.errors()
    for item in errors:
        loc = item["loc"]
        if item["type"] == "too_short" and any(len(o["loc"]) > len(loc) and o["loc"][: len(loc)] == loc
                                               for o in errors):
            continue  # pydantic's echo of an item that failed: the item's own error says more
        field = _field_path(loc, raw, prefix)
        value = item.get("input")
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = "is not a known key; check its spelling" + (
                f" (known here: {', '.join(allowed)})" if allowed else ""
            )
            value = None
        elif item["type"] == "missing":
            description = _description(model, loc)
            message = "is required" + (f": {description}" if description else "")
            value = None
        found.append(Problem(field, value, message))
    return found


def _field_path(loc: tuple[int | str, ...], raw: Any, prefix: str = "") -> str:
    parts: list[str] = [prefix] if prefix else []
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


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The model (or type) at ``loc`` below ``model``; ``None`` where the path leaves the models."""
    current: Any = model
    for key in loc:
        if isinstance(key, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(key))
        if field is None:
            return None
        current = _inner_model(field.annotation) or field.annotation
    return current


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    found = _model_at(model, loc)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return sorted(found.model_fields)
    return []


def _description(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    parent = _model_at(model, loc[:-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return None
    field = parent.model_fields.get(str(loc[-1]))
    return field.description if field is not None else None


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
    return None
