"""What the engine is told each resource of the resources stack waits for.

Read where Pulumi's mocks runtime receives each registration (``MockMonitor.RegisterResource``): the
``dependencies`` a real engine would be sent, components already expanded to their resources by the SDK.
A component's own ``depends_on`` does not reach its children, so the edge is only in the engine's graph
(which orders creates, deletes and replacements) when each resource carries it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from secure_pipelines.plan import Plan
from secure_pipelines.stack import capture_stack

from .conftest import EXAMPLE_PROJECT

POLICY = "vault:index/policy:Policy"
AUTH_BACKEND = "vault:jwt/authBackend:AuthBackend"
AUTH_BACKEND_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
ENDPOINT = "vault:generic/endpoint:Endpoint"

Resource = tuple[str, str]
"""(type token, logical name)"""


def _type_and_name(urn: str) -> Resource:
    """``urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`` -> (type, name)."""
    _, _, type_chain, name = urn.split("::", 3)
    return type_chain.rsplit("$", 1)[-1], name


@pytest.fixture(scope="module")
def waits(example_plan: Plan) -> Iterator[dict[Resource, frozenset[Resource]]]:
    """Every resource the example's resources stack registers -> the resources the engine is told it waits for."""
    recorded: dict[Resource, frozenset[Resource]] = {}
    register = pulumi.runtime.mocks.MockMonitor.RegisterResource

    def recording(monitor: Any, request: Any) -> Any:
        recorded[(request.type, request.name)] = frozenset(_type_and_name(urn) for urn in request.dependencies)
        return register(monitor, request)

    pulumi.runtime.mocks.MockMonitor.RegisterResource = recording  # type: ignore[method-assign]
    try:
        capture_stack(example_plan.resources_stack, project_dir=EXAMPLE_PROJECT)
    finally:
        pulumi.runtime.mocks.MockMonitor.RegisterResource = register  # type: ignore[method-assign]
    yield recorded


@pytest.fixture(scope="module")
def deployer_policies(example_plan: Plan) -> frozenset[Resource]:
    policies = frozenset((POLICY, d.policy.resource_name) for d in example_plan.deployers)
    assert len(policies) == len(example_plan.deployers) > 1
    return policies


def test_every_auth_mount_waits_for_every_deployer_policy(waits, deployer_policies, example_plan: Plan):
    mounts = [*(m.resource_name for m in example_plan.jwt_mounts), example_plan.admin_auth.resource_name]
    assert len(mounts) >= 2
    for mount in mounts:
        assert waits[(AUTH_BACKEND, mount)] == deployer_policies, mount


def test_the_deployer_roles_wait_for_the_deployer_policies_and_their_mount(waits, deployer_policies,
                                                                           example_plan: Plan):
    roles = example_plan.infrastructure_roles
    assert roles
    for role in roles:
        waited = waits[(AUTH_BACKEND_ROLE, role.resource_name)]
        assert deployer_policies <= waited, role.resource_name
        assert {name for kind, name in waited - deployer_policies} == {
            m.resource_name for m in example_plan.jwt_mounts}


def test_the_environments_vault_objects_wait_for_the_policies_and_every_auth_mount(waits, deployer_policies,
                                                                                  example_plan: Plan):
    environment = example_plan.environment(example_plan.resources_stack)
    mounts = frozenset({*((AUTH_BACKEND, m.resource_name) for m in example_plan.jwt_mounts),
                        (AUTH_BACKEND, example_plan.admin_auth.resource_name)})
    written = [*((POLICY, p.resource_name) for p in environment.policies),
               (AUTH_BACKEND_ROLE, environment.admin_role.resource_name)]
    for role in environment.roles:
        written.append(next(key for key in ((AUTH_BACKEND_ROLE, role.resource_name), (ENDPOINT, role.resource_name))
                            if key in waits))
    assert len(written) > 3
    for resource in written:
        assert waits[resource] == deployer_policies | mounts, resource


def test_the_deployer_policies_wait_for_nothing(waits, deployer_policies):
    for policy in deployer_policies:
        assert waits[policy] == frozenset(), policy


def test_github_objects_wait_for_nothing_in_vault(waits):
    """They are written with the GitHub App's token, which no Vault policy governs."""
    github = {key: waited for key, waited in waits.items() if key[0].startswith("github:")}
    assert any("branchProtection" in kind or "Ruleset" in kind for kind, _ in github)
    for resource, waited in github.items():
        assert not [kind for kind, _ in waited if kind.startswith("vault:")], resource
