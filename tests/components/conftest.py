"""Fixtures for the Pulumi component tests: the example plan, captured stacks, edited declarations."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import pytest
from ruamel.yaml import YAML

from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.declaration.sources.yaml_file import read_yaml_mapping
from secure_pipelines.plan.assembly import build_plan
from secure_pipelines.plan.model import Plan
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.stack import CapturedResource, capture_stack

EXAMPLE_STACKS = ("dev", "staging", "production")
EXAMPLE_PROJECT = Path(__file__).resolve().parents[2]
"""This repository: a Pulumi project whose stacks are the worked example's."""
_EXAMPLE = read_yaml_mapping(EXAMPLE_PROJECT / "stacks" / "declaration.yaml")


@pytest.fixture
def example() -> dict[str, Any]:
    """A fresh deep copy of stacks/declaration.yaml, safe to change."""
    return copy.deepcopy(_EXAMPLE)


@pytest.fixture(scope="session")
def example_plan() -> Plan:
    return build_plan(parse_declaration(_EXAMPLE))


@pytest.fixture(scope="session")
def captured() -> dict[str, list[CapturedResource]]:
    """Every example stack, captured once for the session."""
    return {stack: capture_stack(stack, project_dir=EXAMPLE_PROJECT) for stack in EXAMPLE_STACKS}


@pytest.fixture
def declaration_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a declaration dict to a YAML file and return its path."""

    def write(values: dict[str, Any]) -> Path:
        path = tmp_path / "declaration.yaml"
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        with path.open("w", encoding="utf-8") as handle:
            yaml.dump(values, handle)
        return path

    return write


@pytest.fixture(scope="session")
def openbao_client(openbao: OpenBaoServer) -> hvac.Client:
    """An hvac client of the session's OpenBao with the root token (tests share it: mount at unique paths)."""
    return hvac.Client(url=openbao.api_addr, token=openbao.root_token)
