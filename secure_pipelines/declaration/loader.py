"""The one way in: read a declaration's values, validate them whole, report every mistake at once.

Values come from, in order of precedence:

1. ``SECUREPIPE_``-prefixed environment variables (nested keys joined by ``__``; lists as JSON),
2. the Pulumi stack config object ``secure-pipelines:declaration``,
3. the declaration file.

The core model checks its own sections; each ``ci:`` section is checked by the model of the CI
system it names. Structural mistakes, the sources' own (a malformed variable) and the cross-field
rules that can run on the parts that validated are reported together, each by its full field path.
Which file to read is the front door's choice (``secure_pipelines.views``); this module reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..ci import registry
from ..ci.base import CISystem
from ..errors import InvalidDeclaration, Problem
from ..plan.assembly import build_plan
from ..plan.model import Plan
from . import checks
from .model import Declaration, Sections
from .sources import EnvironmentSource, Override, PulumiConfigSource, YamlFileSource
from .sources.environment import ENV_PREFIX, near_misses
from .sources.yaml_file import parse_yaml_mapping

__all__ = ["ENV_PREFIX", "DeclarationValues", "declaration_from", "load_declaration", "load_declaration_text",
           "parse_declaration", "planned_from", "read_values"]

VERSION = 2
M = TypeVar("M", bound=BaseModel)


class _DeclarationSettings(Declaration, BaseSettings):
    """The declaration as its sources read it.

    ``ci`` is a plain mapping here so that nested variables (``SECUREPIPE_CI__<KEY>__<FIELD>``) reach
    every CI section, as for the core's own fields.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)
    ci: dict[str, Any] = {}  # pyright: ignore[reportIncompatibleVariableOverride]


@dataclass(frozen=True)
class DeclarationValues:
    """One declaration's merged values, before validation, and what they were read from."""

    file: Path
    values: Mapping[str, Any]
    overrides: tuple[Override, ...]
    """The ``SECUREPIPE_`` variables that set a field."""
    problems: tuple[Problem, ...] = ()
    """Mistakes of the sources themselves (a variable that sets nothing, malformed JSON)."""
    ignored: tuple[str, ...] = ()
    """Variables that look like overrides but miss the ``SECUREPIPE_`` prefix, so set nothing."""


def read_values(
    path: Path | str,
    pulumi_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeclarationValues:
    """The file's values, the stack config object over them, the ``SECUREPIPE_`` variables over both."""
    file_values = YamlFileSource(_DeclarationSettings, Path(path))()
    config_values = PulumiConfigSource(_DeclarationSettings, pulumi_config)()
    environment = EnvironmentSource(_DeclarationSettings, os.environ if environ is None else environ)
    below = _merged(file_values, config_values)
    problems = list(environment.problems)
    crossing = [(o, list_path) for o in environment.overrides if (list_path := _list_on_the_way(below, o.path))]
    for override, list_path in crossing:
        problems.append(Problem(override.variable, None, f"sets a key inside the list {list_path}; set "
                                f"{ENV_PREFIX}{list_path.upper()} to the whole list as JSON"))
    left_out = {override.path[0] for override, _ in crossing}
    applied = tuple(o for o in environment.overrides if o.path[0] not in left_out)
    env_values = {key: value for key, value in environment().items() if key not in left_out}
    ignored = near_misses(os.environ if environ is None else environ)
    return DeclarationValues(Path(path), _merged(below, env_values), applied, tuple(problems), ignored)


def load_declaration(
    path: Path | str,
    pulumi_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Declaration:
    """The validated declaration, or :class:`InvalidDeclaration` naming every mistake.

    ``environ`` defaults to this process's environment.
    """
    return declaration_from(read_values(path, pulumi_config, environ))


def declaration_from(read: DeclarationValues) -> Declaration:
    """Validate values read from sources; a problem in a field a variable set names the variable."""
    return planned_from(read)[0]


def planned_from(read: DeclarationValues) -> tuple[Declaration, Plan]:
    """Validate and plan values read from sources (the plan is the one validation built)."""
    try:
        return _parse(read.values, read.problems)
    except InvalidDeclaration as refused:
        raise InvalidDeclaration([_blamed(p, read.overrides) for p in refused.problems]) from None


def _list_on_the_way(values: Mapping[str, Any], path: tuple[str, ...]) -> str | None:
    node: Any = values
    for depth, key in enumerate(path[:-1]):
        node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            return "__".join(path[: depth + 1])
    return None


def _blamed(problem: Problem, overrides: tuple[Override, ...]) -> Problem:
    for override in overrides:
        if problem.field == override.field or problem.field.startswith((f"{override.field}.", f"{override.field}[")):
            return Problem(problem.field, problem.value, f"{problem.message} (set by {override.variable})",
                           problem.environment)
    return problem


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
    return _parse(values, ())[0]


def _parse(values: Mapping[str, Any], source_problems: tuple[Problem, ...]) -> tuple[Declaration, Plan]:
    if _is_version_1(values):
        raise InvalidDeclaration([version_1_problem()])
    found: list[Problem] = list(source_problems)
    repaired: list[str] = []
    core = _validated(Declaration, values, "", found, repaired)
    sections = dict(_validated_sections(values, found, repaired))
    if core is not None and None not in sections.values():
        declaration = _with_sections(core, {place: s for place, s in sections.items() if s is not None})
        if not found:
            return declaration, _planned(declaration)
        # Cross-field rules on the parts that validated; none about a field replaced by its default.
        found.extend(p for p in checks.problems(declaration) if not _about(p.field, repaired))
    raise InvalidDeclaration(_unique(found))


def _about(field: str, repaired: list[str]) -> bool:
    return any(field == r or field.startswith((f"{r}.", f"{r}[")) or r.startswith((f"{field}.", f"{field}["))
               for r in repaired)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _validated(
    model: type[M], raw: Any, prefix: str, found: list[Problem], repaired: list[str]
) -> M | None:
    """``model`` validated from ``raw``; on mistakes, report them all and, where each one is an
    unknown key or a field with a default, the model with those fields left out (so cross-field
    rules can still run on the rest). ``None`` when that is not possible."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        found.extend(problems_from_validation(error, raw, model, prefix))
        locations = [item["loc"] for item in error.errors()]
    if not isinstance(raw, Mapping) or not all(_can_leave_out(model, loc) for loc in locations):
        return None
    trimmed = _without(raw, locations)
    try:
        kept = model.model_validate(trimmed)
    except ValidationError:
        return None
    repaired.extend(_field_path(loc, raw, prefix) for loc in locations)
    return kept


def _can_leave_out(model: type[BaseModel], loc: tuple[int | str, ...]) -> bool:
    if not loc or isinstance(loc[-1], int):
        return False
    parent = _model_at(model, loc[:-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return False
    field = parent.model_fields.get(str(loc[-1]))
    return field is None or not field.is_required()


def _without(raw: Any, locations: list[tuple[int | str, ...]]) -> Any:
    """A deep copy of ``raw`` without the keys at ``locations``."""
    def copy(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: copy(v) for k, v in node.items()}
        if isinstance(node, list):
            return [copy(v) for v in node]
        return node

    trimmed = copy(raw)
    for loc in locations:
        node: Any = trimmed
        for key in loc[:-1]:
            if isinstance(node, Mapping):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
        if isinstance(node, dict):
            node.pop(loc[-1], None)
    return trimmed


def _planned(declaration: Declaration) -> Plan:
    """Cross-field checks, then the plan's own (name collisions): a valid declaration always plans."""
    found = checks.problems(declaration)
    if found:
        raise InvalidDeclaration(found)
    return build_plan(declaration)


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


def _validated_sections(
    values: Mapping[str, Any], found: list[Problem], repaired: list[str]
) -> Iterator[tuple[Place, Sections | None]]:
    """Each ``ci:`` mapping with its sections validated by their systems (``None`` where one cannot be);
    mistakes go to ``found``."""
    known = registry.keys()
    for level, where, mapping, place in _ci_mappings(values):
        validated: dict[str, object] = {}
        usable = True
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
            checked = _validated(model, section, f"{where}.{key}", found, repaired)
            if checked is None:
                usable = False
            else:
                validated[key] = checked
        yield place, Sections(validated) if usable else None


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
        else:
            message = _plain_words(item, _description(model, loc)) or message
        found.append(Problem(field, value, message))
    return found


def _plain_words(item: Any, description: str | None) -> str | None:
    """pydantic's message for a value of the wrong type or form, said with the fix (``None``: keep pydantic's)."""
    kind, value, context = item["type"], item.get("input"), item.get("ctx") or {}
    what = f" ({description})" if description else ""
    if kind in ("tuple_type", "list_type", "set_type", "frozen_set_type"):
        example = f"[{value}]" if isinstance(value, str | int | float) else "[first, second]"
        return f"must be a list, e.g. {example}{what}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{', of seconds (900 is 15 minutes)' if 'ttl' in str(item['loc'][-1]) else ''}"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{what}"
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}{what}"
    if kind == "less_than_equal":
        return f"must be at most {context.get('le')}{what}"
    if kind == "string_pattern_mismatch":
        return f"does not have the expected form{what or ''} (it must match {context.get('pattern')})"
    return None


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
