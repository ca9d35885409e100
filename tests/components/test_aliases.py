"""Refactors keep identity: every resource a component creates answers to its URN at the stack root (a flat
program's), and a renamed one to its URNs under its old names.

The components write these aliases as the URNs themselves. The expected URNs are derived here from the
parents each resource was registered with, by the engine's rule (a resource's URN type is its parent's
qualified type, ``$``, its own type; the stack's own type is left out): the mocks runtime's monitor keeps
only the parent's last type in the URNs it makes, so its URNs cannot be the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pytest

from secure_pipelines.components import Environment, EnvironmentArgs
from secure_pipelines.plan import Plan
from secure_pipelines.stack import capture_program, register_stack
from secure_pipelines.stack.capture import PROJECT_NAME


@dataclass(frozen=True)
class Seen:
    type_: str
    name: str
    qualified_type: str
    """The type part of its URN, as the engine makes it from its parents."""
    aliases: tuple[str | pulumi.Alias, ...]


def _registered(stack: str, program: Callable[[], None]) -> dict[str, Seen]:
    """Each resource the program registers, by name: its URN's type part and its aliases as given."""
    qualified: dict[int, str] = {}
    seen: dict[str, Seen] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        parent = args.opts.parent
        own = args.type_ if parent is None else f"{qualified[id(parent)]}${args.type_}"
        qualified[id(args.resource)] = own
        seen[args.name] = Seen(args.type_, args.name, own, tuple(args.opts.aliases or ()))

    def run() -> None:
        pulumi.runtime.register_stack_transformation(record)
        program()

    capture_program(run, stack)
    return seen


def _stack_program(plan: Plan, stack: str) -> dict[str, Seen]:
    return _registered(stack, lambda: register_stack(
        plan, stack, admin_oidc_client_id=lambda: "id", admin_oidc_client_secret=lambda: pulumi.Output.secret("s")))


def _urn(stack: str, qualified_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT_NAME}::{qualified_type}::{name}"


@pytest.mark.parametrize("stack", ["acme", "production", "dev"])
def test_every_provider_resource_answers_to_its_urn_at_the_stack_root(example_plan: Plan, stack: str):
    stack = example_plan.resources_stack if stack == "acme" else stack
    provider_resources = [s for s in _stack_program(example_plan, stack).values()
                          if not s.type_.startswith(("secure-pipelines:", "pulumi:"))]
    assert len(provider_resources) > 5
    for seen in provider_resources:
        assert seen.qualified_type != seen.type_, seen  # it does live under a component
        assert _urn(stack, seen.type_, seen.name) in seen.aliases, seen


def test_a_per_developer_role_named_by_user_id_answers_to_its_names_by_developer(example_plan: Plan):
    role = next(r for r in example_plan.environment("dev").roles if r.ci == "circleci" and r.developer == "lin")
    assert role.role_name == "dev.webapp.3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152"
    seen = _stack_program(example_plan, "dev")[role.resource_name]
    assert seen.qualified_type == ("secure-pipelines:index:Environment$secure-pipelines:index:CIRoles$"
                                   "vault:jwt/authBackendRole:AuthBackendRole")
    assert set(role.previous_resource_names) == {"circleci-dev.webapp.lin", "circleci-webapp-dev-lin"}
    assert set(seen.aliases) == {
        _urn("dev", seen.type_, seen.name),
        *(_urn("dev", seen.qualified_type, old) for old in role.previous_resource_names),
    }


def test_a_renamed_policy_answers_to_its_old_name_under_the_same_parent(example_plan: Plan):
    policy = next(p for p in example_plan.environment("production").policies if p.previous_resource_names)
    seen = _stack_program(example_plan, "production")[policy.resource_name]
    assert {_urn("production", seen.qualified_type, old) for old in policy.previous_resource_names} \
        <= set(seen.aliases)


def test_under_a_component_of_another_package_the_aliases_are_left_to_pulumi(example_plan: Plan):
    """There the components cannot know the type part of their URNs, so they give ``Alias`` objects and Pulumi
    derives the URNs from the real parent: the same name at the stack root, the old names under the parent."""

    class Theirs(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("their:index:Platform", name, None, None)

    environment = example_plan.environment("production")
    seen = _registered("production", lambda: Environment(
        "production", EnvironmentArgs(environment=environment), pulumi.ResourceOptions(parent=Theirs("platform"))))
    policy = next(p for p in environment.policies if p.previous_resource_names)
    found = seen[policy.resource_name]
    assert found.qualified_type.startswith("their:index:Platform$secure-pipelines:index:Environment$")
    root, *renamed = found.aliases
    assert isinstance(root, pulumi.Alias) and root.parent is pulumi.ROOT_STACK_RESOURCE
    assert root.name is ... and root.type_ is ...  # the resource's own name and type
    assert [(a.name, a.parent) for a in renamed if isinstance(a, pulumi.Alias)] == [
        (old, ...) for old in policy.previous_resource_names]  # the parent it has
