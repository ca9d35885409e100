"""Fixtures for the declaration, model and plan tests: the worked example as a fresh dict."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from secure_pipelines.declaration.sources.yaml_file import read_yaml_mapping

EXAMPLE_DECLARATION = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"
_EXAMPLE = read_yaml_mapping(EXAMPLE_DECLARATION)


@pytest.fixture
def example() -> dict[str, Any]:
    """A fresh deep copy of stacks/declaration.yaml, safe to change."""
    return copy.deepcopy(_EXAMPLE)
