"""``SECUREPIPE_``-prefixed environment variables: the highest-precedence source.

Nested keys are joined by ``__`` (``SECUREPIPE_ORGANIZATION__GITHUB__PLAN=enterprise``); a value that
starts with ``[`` or ``{`` is JSON (lists and objects are replaced whole). Every variable either
applies to a field of the declaration or is a problem: a typo never passes silently, and malformed
JSON names the variable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ...errors import Problem

ENV_PREFIX = "SECUREPIPE_"
NESTED_DELIMITER = "__"
DECLARATION_VARIABLE = f"{ENV_PREFIX}DECLARATION"
"""Names the declaration file (see the README's front door); not a declaration field."""
REHEARSAL_TOKEN_VARIABLE = f"{ENV_PREFIX}REHEARSAL_VAULT_TOKEN"
"""The token of ``securepipe rehearse --vault-addr``; not a declaration field."""
NOT_FIELDS = frozenset({DECLARATION_VARIABLE, REHEARSAL_TOKEN_VARIABLE})


def near_misses(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Variables that look meant as overrides but miss the exact prefix (``SECUREPIPES_...``,
    ``SECURE_PIPE_...``): read as nothing, so a reader must be told. Pure."""
    squeezed = ENV_PREFIX.replace("_", "")
    return tuple(sorted(name for name in environ if name.replace("_", "").upper().startswith(squeezed)
                        and not name.upper().startswith(ENV_PREFIX)))


@dataclass(frozen=True)
class Override:
    """One environment variable that sets a declaration field."""

    variable: str
    path: tuple[str, ...]
    """The keys it sets, outermost first, e.g. ``("organization", "github", "plan")``."""

    @property
    def field(self) -> str:
        return ".".join(self.path)


def _decoded(variable: str, text: str) -> tuple[Any, Problem | None]:
    if not text.lstrip().startswith(("[", "{")):
        return text, None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, Problem(variable, None, f"is not valid JSON ({error.msg} at character {error.pos + 1}); "
                                             "write lists and objects as JSON, e.g. '[\"a\", \"b\"]'")


class EnvironmentSource(PydanticBaseSettingsSource):
    """The declaration's values set by ``SECUREPIPE_*`` variables of ``environ``.

    ``overrides`` lists the variables that apply; ``problems`` the ones that cannot (unknown field,
    malformed JSON, a key set inside a value that is not a mapping).
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        fields = set(settings_cls.model_fields)
        self._values: dict[str, Any] = {}
        overrides: list[Override] = []
        problems: list[Problem] = []
        chosen = sorted(
            ((name, text) for name, text in environ.items()
             if name.upper().startswith(ENV_PREFIX) and name.upper() not in NOT_FIELDS),
            key=lambda item: (item[0].count(NESTED_DELIMITER), item[0]),
        )
        for name, text in chosen:
            path = tuple(name[len(ENV_PREFIX):].lower().split(NESTED_DELIMITER))
            if path[0] not in fields or not all(path):
                problems.append(Problem(name, None, "sets no field of the declaration; check its spelling "
                                                    f"(fields: {', '.join(sorted(fields))}; nested keys "
                                                    f"joined by {NESTED_DELIMITER})"))
                continue
            value, problem = _decoded(name, text)
            if problem is not None:
                problems.append(problem)
                continue
            if not self._set(path, value):
                problems.append(Problem(name, None, f"sets a key inside {'.'.join(path[:-1])}, which another "
                                                    "SECUREPIPE_ variable sets to a value that is not a mapping"))
                continue
            overrides.append(Override(name, path))
        self.overrides: tuple[Override, ...] = tuple(overrides)
        self.problems: tuple[Problem, ...] = tuple(problems)

    def _set(self, path: tuple[str, ...], value: Any) -> bool:
        node = self._values
        for key in path[:-1]:
            below = node.setdefault(key, {})
            if not isinstance(below, dict):
                return False
            node = below
        below = node.get(path[-1])
        if isinstance(below, dict) and isinstance(value, dict):
            below.update(value)
        else:
            node[path[-1]] = value
        return True

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
