"""The component package in components/: its schema is committed and reviewed, and the folder serves it
as Pulumi runs it (``pulumi package get-schema ./components``, ``pulumi package add``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from ruamel.yaml import YAML
from typer.testing import CliRunner

from secure_pipelines.cli import app
from secure_pipelines.components import CIJwtRoleArgs
from secure_pipelines.components.ci_jwt_role import _RoleFields
from secure_pipelines.components.package import SCHEMA_COMPONENTS, package_version, schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "components"
COMMITTED = PLUGIN / "schema.json"
REGENERATE = "securepipe components-schema > components/schema.json"


@pytest.fixture(scope="module")
def package_schema() -> dict[str, Any]:
    return schema()


def test_the_committed_schema_is_the_one_the_package_serves(package_schema):
    assert json.loads(COMMITTED.read_text()) == package_schema, (
        f"the package's public API changed: review the difference, then run `{REGENERATE}`")


def test_the_command_prints_the_committed_schema_byte_for_byte():
    result = CliRunner().invoke(app, ["components-schema"])
    assert result.exit_code == 0, result.output
    assert result.output == COMMITTED.read_text() == schema_text()


def test_the_package_serves_exactly_the_schema_friendly_components(package_schema):
    assert package_schema["name"] == "secure-pipelines"
    assert package_schema["version"] == package_version()
    assert sorted(package_schema["resources"]) == sorted(
        f"secure-pipelines:index:{component.__name__}" for component in SCHEMA_COMPONENTS)


def _properties(package_schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for token, resource in package_schema["resources"].items():
        for kind in ("inputProperties", "properties"):
            for name, prop in resource[kind].items():
                yield f"{token}.{kind}.{name}", prop
    for token, kind in package_schema["types"].items():
        for name, prop in kind.get("properties", {}).items():
            yield f"{token}.{name}", prop


def _nested(prop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield prop
    for key in ("items", "additionalProperties"):
        if key in prop:
            yield from _nested(prop[key])


def test_every_component_type_and_property_is_documented(package_schema):
    for token, resource in package_schema["resources"].items():
        assert resource.get("description"), token
    for token, kind in package_schema["types"].items():
        assert kind.get("description"), token
    for where, prop in _properties(package_schema):
        assert prop.get("description"), where


def test_no_property_is_an_integer(package_schema):
    """Pulumi's Python component provider (3.272) crashes construct when an integer input arrives as a
    secret or another resource's output (``int(Output)``), before the component can refuse it; numbers
    are declared ``number`` and the component checks they are whole."""
    for where, prop in _properties(package_schema):
        assert all(p.get("type") != "integer" for p in _nested(prop)), where


def test_inputs_are_plain_except_the_admin_credentials(package_schema):
    """Inputs decide what the components create and are checked first: other SDKs must send plain values."""
    not_plain = {
        f"{token.rsplit(':', 1)[1]}.{name}"
        for token, resource in package_schema["resources"].items()
        for name, prop in resource["inputProperties"].items() if not prop.get("plain")
    }
    assert not_plain == {"DeclaredOrganization.adminOidcClientId", "DeclaredOrganization.adminOidcClientSecret"}


def test_the_role_components_checks_cover_exactly_its_documented_fields():
    assert set(get_type_hints(CIJwtRoleArgs)) == set(_RoleFields.model_fields)


def test_the_plugin_manifest_runs_python_from_the_folders_own_virtualenv():
    manifest = YAML(typ="safe", pure=True).load((PLUGIN / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}}


def test_the_plugins_requirements_install_the_repository_it_belongs_to():
    lines = [line.strip() for line in (PLUGIN / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert requirements == [".."]
    assert (PLUGIN / ".." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """The folder run as Pulumi's Python language host runs a plugin: ``python <folder> <engine address>``,
    from the caller's working directory (not the folder); it prints its port, then serves gRPC."""
    process = subprocess.Popen([sys.executable, str(PLUGIN), "127.0.0.1:1"], cwd=tmp_path_factory.mktemp("stack"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_running_plugin_answers_get_schema_with_the_committed_schema(plugin):
    answer = plugin.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
    assert json.loads(answer.schema) == json.loads(COMMITTED.read_text())


def test_the_running_plugin_reports_the_package_version(plugin):
    assert plugin.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == package_version()
