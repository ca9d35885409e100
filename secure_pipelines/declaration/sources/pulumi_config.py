"""Pulumi stack config: the ``secure-pipelines:declaration`` object of ``Pulumi.<stack>.yaml``.

Inside a Pulumi program the values come from ``pulumi.Config``; the CLI passes the same object read
from the stack file, so both see one declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

CONFIG_NAMESPACE = "secure-pipelines"
DECLARATION_KEY = "declaration"


class PulumiConfigSource(PydanticBaseSettingsSource):
    """Middle-precedence source: overrides the file, is overridden by ``SECUREPIPE_*`` variables."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any] | None):
        super().__init__(settings_cls)
        self._values = dict(values or {})

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
