"""Evaluate a CircleCI context restriction expression against a job's facts, as CircleCI does.

The language, from CircleCI's contexts page ("Expression restrictions") and its operator table:
``and`` / ``or`` (short-circuiting), ``==`` / ``!=`` (equal only when the types are equal),
``starts-with`` (strings only), ``>= > <= <`` (numbers only), ``not`` / ``!`` (binding tighter than
any other operator), parentheses, string literals (``\\"`` and ``\\\\`` escaped), whole numbers and
``true`` / ``false``. Every value but ``false`` counts as true. Precedence, weakest first: ``or``,
``and``, ``== !=``, ``starts-with``, ``>= > <= <``, ``not``.

CircleCI fails closed: an operand of the wrong type makes the whole expression false, so this module
answers ``False`` there too. What CircleCI can judge but this module cannot (``matches``, a variable
the rehearsal has no fact for) is refused with :class:`UnsupportedExpression`: an expression the
rehearsal cannot judge never counts as "restricted".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ...errors import SecurePipelinesError

Value = str | bool | int

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>\d+)|(?P<op>==|!=|>=|<=|>|<|!|\(|\))'
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*)|(?P<regex>/(?:[^/\\]|\\.)*/))"
)
_EQUALITY = ("==", "!=")
_ORDERING = (">=", ">", "<=", "<")
_NEGATION = ("not", "!")


class UnsupportedExpression(SecurePipelinesError):
    """The restriction uses syntax or a variable the rehearsal cannot evaluate."""


class _FailsClosed(Exception):
    """CircleCI's evaluation error (an operand of the wrong type): the expression is false."""


@dataclass(frozen=True)
class _Node:
    """A parsed expression: an operator and its operands, or a literal or variable (``operator`` empty)."""

    operator: str
    operands: tuple[_Node, ...] = ()
    value: Value | None = None
    variable: str | None = None


def truthy(value: Value) -> bool:
    """CircleCI: "Other than the boolean value false, all values ultimately evaluate as true"."""
    return value is not False


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    """``(kind, text)`` pairs: kind is ``str``, ``num``, ``op``, ``word`` or ``regex``."""
    known: Mapping[str, Value]
    expression: str
    position: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise UnsupportedExpression(f"{self.expression!r} ends too early")
        self.position += 1
        return self.tokens[self.position - 1]

    def left_associative(self, operators: tuple[str, ...], operand: Callable[[], _Node]) -> _Node:
        node = operand()
        while self.peek() in operators:
            operator = self.take()[1]
            node = _Node(operator, (node, operand()))
        return node

    def disjunction(self) -> _Node:
        return self.left_associative(("or",), self.conjunction)

    def conjunction(self) -> _Node:
        return self.left_associative(("and",), self.equality)

    def equality(self) -> _Node:
        return self.left_associative(_EQUALITY, self.prefix)

    def prefix(self) -> _Node:
        node = self.ordering()
        if self.peek() == "starts-with":
            self.take()
            node = _Node("starts-with", (node, self.ordering()))
            if self.peek() == "starts-with":
                raise UnsupportedExpression(f"chained starts-with in {self.expression!r}; add parentheses")
        if self.peek() == "matches":
            raise UnsupportedExpression(f"'matches' in {self.expression!r}: the rehearsal does not evaluate "
                                        "regular expressions")
        return node

    def ordering(self) -> _Node:
        return self.left_associative(_ORDERING, self.negation)

    def negation(self) -> _Node:
        if self.peek() in _NEGATION:
            self.take()
            return _Node("not", (self.negation(),))
        return self.atom()

    def atom(self) -> _Node:
        kind, text = self.take()
        if text == "(":
            node = self.disjunction()
            if self.peek() != ")":
                raise UnsupportedExpression(f"unbalanced parentheses in {self.expression!r}")
            self.take()
            return node
        if kind == "str":
            return _Node("", value=re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "num":
            return _Node("", value=int(text))
        if kind == "word" and text in ("true", "false"):
            return _Node("", value=text == "true")
        if kind == "word" and text not in ("and", "or", "not", "starts-with", "matches"):
            if text not in self.known:
                raise UnsupportedExpression(
                    f"unknown name {text!r} in {self.expression!r} (the rehearsal knows {', '.join(self.known)})")
            return _Node("", variable=text)
        raise UnsupportedExpression(f"unexpected {text!r} in {self.expression!r}")


def _tokens(expression: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise UnsupportedExpression(f"cannot read {text[position:]!r} in {expression!r}")
        kind = match.lastgroup or "word"
        if kind == "regex":
            raise UnsupportedExpression(f"a /regular expression/ in {expression!r}: the rehearsal does not evaluate "
                                        "'matches'")
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _value(node: _Node, facts: Mapping[str, Value]) -> Value:
    if node.variable is not None:
        return facts[node.variable]
    if not node.operator:
        assert node.value is not None
        return node.value
    if node.operator == "and":
        return truthy(_value(node.operands[0], facts)) and truthy(_value(node.operands[1], facts))
    if node.operator == "or":
        return truthy(_value(node.operands[0], facts)) or truthy(_value(node.operands[1], facts))
    if node.operator == "not":
        return not truthy(_value(node.operands[0], facts))
    left, right = (_value(operand, facts) for operand in node.operands)
    if node.operator in _EQUALITY:
        equal = type(left) is type(right) and left == right
        return equal if node.operator == "==" else not equal
    if node.operator == "starts-with":
        if not (isinstance(left, str) and isinstance(right, str)):
            raise _FailsClosed(f"starts-with needs two strings, not {left!r} and {right!r}")
        return left.startswith(right)
    if type(left) is not int or type(right) is not int:
        raise _FailsClosed(f"{node.operator} needs two numbers, not {left!r} and {right!r}")
    return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right}[node.operator]


def evaluate(expression: str, facts: Mapping[str, Value]) -> bool:
    """Whether a job with ``facts`` (e.g. ``pipeline.git.branch``, ``job.ssh.enabled``,
    ``pipeline.config_source``) may use the context: CircleCI's answer, failing closed on type errors."""
    parser = _Parser(_tokens(expression), facts, expression)
    tree = parser.disjunction()
    if parser.peek() is not None:
        raise UnsupportedExpression(f"unexpected {parser.peek()!r} in {expression!r}")
    try:
        return truthy(_value(tree, facts))
    except _FailsClosed:
        return False
