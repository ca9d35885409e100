"""Each component works alone, imported by a separate program with its own small plan."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

PROGRAM = Path(__file__).with_name("standalone_program.py")

EXPECTED = {
    "SecretStore": {"vault:index/mount:Mount": 1},
    "AccessPolicies": {"vault:index/policy:Policy": 2},
    "CIRoles": {"vault:jwt/authBackendRole:AuthBackendRole": 1},
    "AdminRole": {"vault:jwt/authBackendRole:AuthBackendRole": 1},
    "GitHubEnvironments": {
        "github:index/repositoryEnvironment:RepositoryEnvironment": 1,
        "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy": 1,
    },
    "JwtAuthMounts": {"vault:jwt/authBackend:AuthBackend": 1},
    "AdminAuth": {"vault:jwt/authBackend:AuthBackend": 1},
    "DefaultBranchProtection": {"github:index/branchProtection:BranchProtection": 1},
}


def _run(component: str) -> list[dict[str, str]]:
    done = subprocess.run([sys.executable, str(PROGRAM), component], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_a_component_registers_itself_and_only_its_own_children(component):
    registered = _run(component)
    counts = Counter(r["type"] for r in registered)
    assert counts.pop(f"secure-pipelines:index:{component}") == 1
    assert counts == EXPECTED[component]


def test_the_environment_component_composes_the_environment_level_components_alone():
    counts = Counter(r["type"] for r in _run("Environment"))
    assert counts["secure-pipelines:index:Environment"] == 1
    for part in ("SecretStore", "AccessPolicies", "CIRoles", "AdminRole", "GitHubEnvironments"):
        assert counts[f"secure-pipelines:index:{part}"] == 1
    assert not any(t.startswith("secure-pipelines:index:Organization") for t in counts)
