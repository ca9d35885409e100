"""``securepipe components-schema``: the component package's schema, as ``pulumi package get-schema`` prints it."""

from __future__ import annotations

import typer

from ..components.package import schema_text


def components_schema() -> None:
    """Print the Pulumi package schema of the components other languages use (what `pulumi package add` reads)."""
    typer.echo(schema_text(), nl=False)


def register(app: typer.Typer) -> None:
    app.command(name="components-schema")(components_schema)
