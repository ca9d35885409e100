"""What the schema-friendly components share: inputs checked whole before anything is created.

Those components take plain values (strings, numbers, booleans, lists, maps) from any Pulumi
language. Their inputs decide which resources exist and are checked before any is created, so
each must be known when the component is constructed: a secret or another resource's output is
refused with a message naming the field, as is every mistake validation finds, all at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel, ValidationError

from ..declaration.loader import load_declaration_text, problems_from_validation
from ..errors import InvalidDeclaration, Problem, SecurePipelinesError
from ..plan.assembly import build_plan
from ..plan.model import Plan

Model = TypeVar("Model", bound=BaseModel)


class InvalidComponentInputs(SecurePipelinesError, pulumi.RunError):
    """A component's inputs are refused and nothing was created; ``problems`` names each field.

    A ``pulumi.RunError``, so a Python stack shows the message without a traceback; the component
    package reports the same problems to other languages as input property errors.
    """

    def __init__(self, component: str, name: str, problems: Sequence[Problem]):
        self.component = component
        self.name = name
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{self.headline}\n{lines}")

    @property
    def headline(self) -> str:
        """One line: which component refused how many problems."""
        return f"{self.component} {self.name!r}: {len(self.problems)} problem(s) in its inputs; nothing was created"


def _outputs_in(field: str, value: Any) -> Iterator[Problem]:
    if isinstance(value, pulumi.Output):
        yield Problem(field, None, "is a secret or another resource's output; this input decides what the "
                                   "component creates and is checked first, so it must be a plain value")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _outputs_in(f"{field}[{key}]", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _outputs_in(f"{field}[{index}]", item)


def validated_inputs(
    component: str,
    name: str,
    model: type[Model],
    args: Mapping[str, Any],
    outputs_allowed: Collection[str] = (),
) -> Model:
    """``args`` checked by ``model`` (unknown keys refused); every mistake in one :class:`InvalidComponentInputs`.

    Only the fields in ``outputs_allowed`` may be secrets or other resources' outputs.
    """
    raw = dict(args)
    found = [problem for field, value in raw.items() if field not in outputs_allowed
             for problem in _outputs_in(field, value)]
    if found:
        raise InvalidComponentInputs(component, name, found)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise InvalidComponentInputs(component, name, problems_from_validation(error, raw, model)) from None


def refuse(component: str, name: str, problems: Sequence[Problem]) -> None:
    """Raise :class:`InvalidComponentInputs` if there is any problem."""
    if problems:
        raise InvalidComponentInputs(component, name, problems)


@lru_cache(maxsize=4)
def _plan_of(declaration: str) -> Plan:
    # A stack's components usually share one declaration: load and plan it once per process (plans are frozen).
    return build_plan(load_declaration_text(declaration, source="declaration"))


def declared_plan(component: str, name: str, declaration: str) -> Plan:
    """The plan of a declaration's YAML text, through the toolkit's own loader (same checks, same words)."""
    try:
        return _plan_of(declaration)
    except InvalidDeclaration as error:
        raise InvalidComponentInputs(component, name, error.problems) from None


def explicit_dependencies(
    component: str, name: str, opts: pulumi.ResourceOptions | None
) -> tuple[pulumi.Resource, ...]:
    """The resources ``opts.depends_on`` names, to hand to the children that must wait for them
    (a component's own dependencies do not hold its children back)."""
    depends_on: Any = opts.depends_on if opts is not None else None
    if depends_on is None:
        return ()
    if isinstance(depends_on, pulumi.Resource):
        return (depends_on,)
    if isinstance(depends_on, Sequence) and all(isinstance(d, pulumi.Resource) for d in depends_on):
        return tuple(depends_on)
    raise InvalidComponentInputs(component, name, [Problem(
        "opts.depends_on", None, "lists outputs of resources; list the resources themselves")])
