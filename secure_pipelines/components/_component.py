"""What every component shares: the type-token prefix and the options its children get."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

PACKAGE = "secure-pipelines"
"""The Pulumi package the components belong to: the first part of every type token."""
TYPE_PREFIX = f"{PACKAGE}:index:"


def type_token(name: str) -> str:
    """``secure-pipelines:index:<Name>``, the token Pulumi records for a component."""
    return f"{TYPE_PREFIX}{name}"


def child_options(
    parent: pulumi.Resource,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
    keep: bool = False,
    previous_names: Sequence[str] = (),
) -> pulumi.ResourceOptions:
    """Options for a component's child.

    ``keep`` marks storage that must outlive any Pulumi run: ``protect`` refuses a delete (even
    ``pulumi destroy``) and ``retain_on_delete`` leaves the object in Vault if protection is ever
    lifted and the resource dropped from the program.

    Every child also carries an alias to the same name at the stack root, so a resource that was
    first created outside any component (a flat program, or an older version of this one) is
    adopted by the component instead of being deleted and recreated.

    ``previous_names`` are the resource's names before a rename (the Vault naming convention): each is
    an alias, here and at the stack root, so Pulumi keeps the resource's identity. Where the rename
    also changes the Vault object's path, the provider still replaces the object (Vault has no rename).
    """
    aliases = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
    for name in previous_names:
        aliases += [pulumi.Alias(name=name), pulumi.Alias(name=name, parent=pulumi.ROOT_STACK_RESOURCE)]
    return pulumi.ResourceOptions(
        parent=parent,
        depends_on=list(depends_on) or None,
        protect=True if keep else None,
        retain_on_delete=True if keep else None,
        aliases=aliases,
    )


def no_comma(field: str, value: str) -> str:
    """A value the vault provider will not split: it cuts every ``bound_claims`` value at commas."""
    if "," in value:
        raise ValueError(
            f"{field}: {value!r} contains ',', which the vault provider would split into several "
            "values; the plan must never produce such a value"
        )
    return value
