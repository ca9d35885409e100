"""Refactors keep identity: every resource a component creates answers to its old top-level URN."""

from __future__ import annotations

import pulumi

from secure_pipelines.plan import Plan
from secure_pipelines.stack import capture_program, register_stack


def _aliases_by_resource(plan: Plan, stack: str) -> dict[tuple[str, str], list[pulumi.Alias]]:
    seen: dict[tuple[str, str], list[pulumi.Alias]] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        seen[(args.type_, args.name)] = [a for a in (args.opts.aliases or []) if isinstance(a, pulumi.Alias)]

    def program() -> None:
        pulumi.runtime.register_stack_transformation(record)
        register_stack(plan, stack, admin_oidc_client_id=lambda: "id",
                       admin_oidc_client_secret=lambda: pulumi.Output.secret("s"))

    capture_program(program, stack)
    return seen


def test_every_provider_resource_has_an_alias_to_the_stack_root(example_plan: Plan):
    aliases = _aliases_by_resource(example_plan, example_plan.resources_stack)
    provider_resources = {key: value for key, value in aliases.items()
                          if not key[0].startswith("secure-pipelines:")}
    assert provider_resources
    for key, found in provider_resources.items():
        assert any(a.parent is pulumi.ROOT_STACK_RESOURCE for a in found), key


def test_the_alias_keeps_name_and_type_so_only_the_parent_differs(example_plan: Plan):
    aliases = _aliases_by_resource(example_plan, "production")
    (mount_alias,) = aliases[("vault:index/mount:Mount", "kv-production")]
    assert mount_alias.name is ... and mount_alias.type_ is ...  # the current name and type


def test_a_per_developer_role_named_by_user_id_answers_to_its_names_by_developer(example_plan: Plan):
    aliases = _aliases_by_resource(example_plan, "dev")
    role = next(r for r in example_plan.environment("dev").roles if r.ci == "circleci" and r.developer == "lin")
    assert role.role_name == "dev.webapp.3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152"
    (found,) = [value for (type_, name), value in aliases.items() if name == role.resource_name]
    names = {a.name for a in found}
    assert {"circleci-dev.webapp.lin", "circleci-webapp-dev-lin"} <= names
