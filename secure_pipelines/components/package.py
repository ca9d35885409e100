"""The ``secure-pipelines`` Pulumi component package: what ``components/__main__.py`` serves.

Pulumi's own component provider infers the package schema from the schema-friendly components'
annotations and constructs them when a stack in another language asks. One change to it: a
component that refuses its inputs is reported as input property errors (field and reason, as
``securepipe validate`` words them) instead of an exception with a Python traceback.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider import ConstructResult, main
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

from ._component import PACKAGE
from ._inputs import InvalidComponentInputs
from .ci_jwt_role import CIJwtRole
from .collector import pace_for_registration
from .declared import DeclaredEnvironment, DeclaredOrganization

SCHEMA_COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (CIJwtRole, DeclaredEnvironment, DeclaredOrganization)
"""The components other Pulumi languages get: plain, documented inputs only (the others take plan objects)."""


def package_version() -> str:
    """The installed toolkit's version: the package's version in its schema and generated SDKs."""
    return version(PACKAGE)


def _property_errors(refused: InvalidComponentInputs) -> list[InputPropertyErrorDetails]:
    return [
        InputPropertyErrorDetails(property_path=problem.field,
                                  reason=str(problem).removeprefix(f"{problem.field}: "))
        for problem in refused.problems
    ]


class SecurePipelinesProvider(ComponentProvider):
    """Pulumi's component provider for :data:`SCHEMA_COMPONENTS`, reporting refused inputs as input errors."""

    def __init__(self) -> None:
        super().__init__(list(SCHEMA_COMPONENTS), PACKAGE, version=package_version())

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            refused = error.inner
            if isinstance(refused, InvalidComponentInputs):
                raise InputPropertiesError(refused.headline, _property_errors(refused)) from refused
            raise


def schema() -> dict[str, Any]:
    """The package schema, as ``pulumi package get-schema ./components`` prints it."""
    return json.loads(SecurePipelinesProvider().schema or "{}")


def schema_text() -> str:
    """:func:`schema` as the committed ``components/schema.json``: indented JSON and a final newline."""
    return json.dumps(schema(), indent=2) + "\n"


def serve(args: Sequence[str]) -> None:
    """Serve the package to the Pulumi engine (``args``: the engine's address and flags, as Pulumi passes them)."""
    pace_for_registration()
    main(SecurePipelinesProvider(), list(args))
