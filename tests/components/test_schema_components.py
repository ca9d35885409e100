"""The schema-friendly components used from a Python stack: the same classes, imported from the package."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest

from secure_pipelines.components import (
    CIJwtRole,
    CIJwtRoleArgs,
    DeclaredEnvironment,
    DeclaredEnvironmentArgs,
    DeclaredOrganization,
    InvalidComponentInputs,
)
from secure_pipelines.plan import Plan
from secure_pipelines.stack import capture_program, capture_stack_run

from .another_language import load_program, run_program
from .conftest import EXAMPLE_STACKS
from .declared_parts import comparable, declared_part

DEFAULT_DECLARATION = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"
"""The worked example's declaration (the repository root is its Pulumi project)."""

DECLARATION = DEFAULT_DECLARATION.read_text(encoding="utf-8")


def release_bot(**changes: Any) -> CIJwtRoleArgs:
    """The fixture program's release bot, written as a Python stack writes it."""
    args: CIJwtRoleArgs = {
        "mount": "circleci",
        "role_name": "production.release-bot",
        "tier": "production",
        "bound_audiences": ["6a1f4c2e-0b8d-4c53-9a7e-1d2b3c4d5e6f"],
        "bound_claims": {
            "oidc.circleci.com/project-id": ["7d03a245-c081-4f92-9e2c-415263748596"],
            "oidc.circleci.com/context-ids": ["2e5ebd90-7b3c-4a4d-8f8e-9c0d1e2f3041"],
            "oidc.circleci.com/vcs-ref": ["refs/heads/main"],
            "oidc.circleci.com/ssh-rerun": [False],
        },
        "token_bound_cidrs": ["203.0.113.16/28"],
        "token_ttl": 300,
        "token_max_ttl": 600,
        "token_policies": ["production.ci.release-bot"],
    }
    return {**args, **changes}  # type: ignore[typeddict-item]


def test_a_python_stack_writes_the_same_role_as_a_typescript_stack():
    python = capture_program(lambda: CIJwtRole("release-bot", release_bot()).urn, "production")
    _, constructs = load_program("typescript_production.yaml")
    typescript = run_program("production", [replace(c, depends_on=()) for c in constructs if c.name == "release-bot"])

    def written(resources: Any) -> tuple[str, str, str]:
        (role,) = [r for r in resources if r.parent == "release-bot"]
        return role.type_token, role.name, json.dumps(role.inputs, sort_keys=True)

    assert written(python.resources) == written(typescript.capture.resources)


def test_a_refused_role_is_a_run_error_and_registers_nothing():
    refused: list[InvalidComponentInputs] = []

    def program() -> None:
        CIJwtRole("kept", release_bot(role_name="kept"))
        try:
            CIJwtRole("open", release_bot(role_name="open", token_bound_cidrs=["0.0.0.0/0"]))
        except InvalidComponentInputs as error:
            refused.append(error)

    capture = capture_program(program, "production")
    (error,) = refused
    assert isinstance(error, pulumi.RunError)  # shown by the Pulumi CLI without a traceback
    assert [p.field for p in error.problems] == ["token_bound_cidrs"]
    assert {r.name for r in capture.resources} == {"kept", "circleci-kept"}


def test_an_unknown_key_is_refused_as_a_typo():
    with pytest.raises(InvalidComponentInputs) as refused:
        capture_program(lambda: CIJwtRole("bot", release_bot(token_tll=300)).urn, "production")
    (problem,) = refused.value.problems
    assert problem.field == "token_tll" and "is not a known key" in problem.message


def _declared_stack(plan: Plan, stack: str) -> None:
    """A Python program of one stack that uses the declared components instead of the stack program."""
    depends_on: list[pulumi.Resource] = []
    if stack == plan.resources_stack:
        depends_on.append(DeclaredOrganization(plan.organization, {
            "declaration": DECLARATION,
            "admin_oidc_client_id": "vault",  # stacks/Pulumi.production.yaml
            "admin_oidc_client_secret": pulumi.Output.secret("from-the-stack-config"),
        }))
    args: DeclaredEnvironmentArgs = {"declaration": DECLARATION, "environment": stack}
    DeclaredEnvironment(stack, args, pulumi.ResourceOptions(depends_on=depends_on))


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_declared_components_of_each_stack_match_the_stack_program(example_plan, captured, stack):
    declared = declared_part(capture_program(lambda: _declared_stack(example_plan, stack), stack).resources)
    # The stack program configures the GitHub App's provider itself; a user's program passes its own in opts.
    program = {(r.type_token, r.name): r for r in captured[stack] if not r.type_token.startswith("pulumi:providers:")}
    assert set(declared) == set(program)
    for key, resource in program.items():
        assert comparable(declared[key]) == comparable(resource), key


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_declared_components_warn_as_the_stack_program_does(example_plan, stack):
    declared = capture_program(lambda: _declared_stack(example_plan, stack), stack)
    program = capture_stack_run(stack, project_dir=DEFAULT_DECLARATION.parents[1])
    assert sorted(declared.warnings) == sorted(program.warnings)


def test_the_dev_stack_warns_of_its_open_allowlist(example_plan):
    declared = capture_program(lambda: _declared_stack(example_plan, "dev"), "dev")
    assert any("can be used from any address" in w for w in declared.warnings)


def test_the_stack_programs_components_inside_keep_their_identity(example_plan):
    """Each inner component also answers to its URN in the stack program (at the stack root, same type and
    name); Pulumi derives every child's old URN from its parent's, so a stack moving from the stack program
    to the declared components adopts its resources instead of replacing them."""
    aliases: dict[tuple[str, str], list[pulumi.Alias]] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        aliases[(args.type_, args.name)] = [a for a in args.opts.aliases or [] if isinstance(a, pulumi.Alias)]

    def program() -> None:
        pulumi.runtime.register_stack_transformation(record)
        _declared_stack(example_plan, "production")

    capture_program(program, "production")
    for key in (("secure-pipelines:index:Environment", "production"), ("secure-pipelines:index:Organization", "acme")):
        (alias,) = aliases[key]
        assert alias.parent is pulumi.ROOT_STACK_RESOURCE, key
        assert alias.name is ... and alias.type_ is ..., key  # the same name and type as in the stack program


def test_dependencies_given_as_outputs_are_refused():
    def program() -> None:
        first = CIJwtRole("first", release_bot(role_name="first"))
        late = pulumi.Output.from_input(first)
        CIJwtRole("second", release_bot(role_name="second"), pulumi.ResourceOptions(depends_on=late))

    with pytest.raises(InvalidComponentInputs) as refused:
        capture_program(program, "production")
    assert [p.field for p in refused.value.problems] == ["opts.depends_on"]
