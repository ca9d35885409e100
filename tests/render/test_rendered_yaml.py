"""The rendered YAML the toolkit reads back (each CircleCI config, to judge it by the config policies, and
the policy test files, to run them) is read with libyaml's C parser; it must read exactly what the strict
YAML 1.2 reader of user files reads, for every such file the toolkit renders."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from secure_pipelines.yaml_files import parse_rendered_yaml


def _strict(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _read_back(path: str) -> bool:
    return "/.circleci/" in path or (path.startswith("circleci/policies/") and path.endswith(".yaml"))


def test_every_rendered_file_read_back_reads_the_same_with_both_readers(example_files: dict[str, str]):
    read_back = {path: text for path, text in example_files.items() if _read_back(path)}
    configs = [path for path in read_back if path.endswith("/.circleci/config.yml")]
    assert configs and len(read_back) > len(configs) + 10  # the configs and the policy test files (full of configs)
    differing = [path for path, text in read_back.items() if parse_rendered_yaml(text) != _strict(text)]
    assert differing == []


def test_a_github_workflow_is_one_it_must_not_read(example_files: dict[str, str]):
    """Where YAML 1.1 and 1.2 disagree the comparison fails: GitHub's ``on:`` key reads as ``True``."""
    workflow = next(text for path, text in example_files.items() if path.endswith(".github/workflows/deploy.yml"))
    assert parse_rendered_yaml(workflow) != _strict(workflow)


@pytest.mark.parametrize("text", ["branch: on\n", "mode: 0755\n", "when: yes\n"])
def test_the_readers_differ_where_yaml_1_1_and_1_2_do(text: str):
    assert parse_rendered_yaml(text) != _strict(text)
