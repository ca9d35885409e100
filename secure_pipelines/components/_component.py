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


class Component(pulumi.ComponentResource):
    """A component of this package (``secure-pipelines:index:<type_name>``).

    It knows the type part of its own URN, so the aliases of its children can be given as the URNs
    themselves: Pulumi resolves each ``Alias`` object through a chain of outputs in every program run,
    which at a thousand repositories cost the stack program more than all its components together.
    """

    def __init__(self, type_name: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        token = type_token(type_name)
        super().__init__(token, name, None, opts)
        parent = opts.parent if opts is not None else None
        # The type part of this component's URN: the parent's, `$`, its own type token (just the token at the
        # stack root); None under a parent of another package, whose own type chain is not known here.
        # (Not a class annotation: Pulumi's component provider would publish it as an output.)
        self._urn_type: str | None = (
            token if parent is None
            else f"{parent._urn_type}${token}" if isinstance(parent, Component) and parent._urn_type is not None
            else None
        )


def child_options(
    parent: pulumi.Resource,
    resource_type: type[pulumi.Resource],
    name: str,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
    keep: bool = False,
    previous_names: Sequence[str] = (),
) -> pulumi.ResourceOptions:
    """Options for the child ``name`` of type ``resource_type`` of a component.

    ``keep`` marks storage that must outlive any Pulumi run: ``protect`` refuses a delete (even
    ``pulumi destroy``) and ``retain_on_delete`` leaves the object in Vault if protection is ever
    lifted and the resource dropped from the program.

    Every child also answers to the same name at the stack root, so a resource that was first created
    outside any component (a flat program) is adopted by the component instead of being deleted and
    recreated. ``previous_names`` are the resource's names before a rename (the Vault naming convention):
    each is an alias under the same parent, so Pulumi keeps the resource's identity. Where the rename also
    changes the Vault object's path, the provider still replaces the object (Vault has no rename).
    """
    return pulumi.ResourceOptions(
        parent=parent,
        depends_on=list(depends_on) or None,
        protect=True if keep else None,
        retain_on_delete=True if keep else None,
        aliases=_aliases(parent, resource_type, name, previous_names),
    )


def _aliases(
    parent: pulumi.Resource, resource_type: type[pulumi.Resource], name: str, previous_names: Sequence[str]
) -> list[pulumi.Input[str] | pulumi.Alias]:
    """The URNs of :func:`child_options`' aliases; ``Alias`` objects only where the parent's type chain is
    not known (a component placed under a component of another package)."""
    token = pulumi.get_type_token(resource_type)
    parent_type = parent._urn_type if isinstance(parent, Component) else None
    if token is None or parent_type is None:
        return [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE), *(pulumi.Alias(name=n) for n in previous_names)]
    prefix = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
    return [f"{prefix}{token}::{name}", *(f"{prefix}{parent_type}${token}::{n}" for n in previous_names)]


def no_comma(field: str, value: str) -> str:
    """A value the vault provider will not split: it cuts every ``bound_claims`` value at commas."""
    if "," in value:
        raise ValueError(
            f"{field}: {value!r} contains ',', which the vault provider would split into several "
            "values; the plan must never produce such a value"
        )
    return value
