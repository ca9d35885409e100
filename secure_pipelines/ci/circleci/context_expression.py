"""Evaluate a CircleCI context restriction expression against a job's facts.

Covers the part of CircleCI's expression language the plan writes: ``==``, ``!=``, ``and``, ``or``,
``not``, parentheses, string literals and the booleans ``true``/``false``. Anything else is refused
with an error, so an expression this module cannot judge never counts as "restricted".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ...errors import SecurePipelinesError

Value = str | bool

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>==|!=|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*))')


class UnsupportedExpression(SecurePipelinesError):
    """The restriction uses syntax the rehearsal cannot evaluate."""


@dataclass
class _Parser:
    tokens: list[str]
    facts: Mapping[str, Value]
    position: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise UnsupportedExpression("the expression ends too early")
        self.position += 1
        return token

    def expression(self) -> Value:
        value = self.conjunction()
        while self.peek() == "or":
            self.take()
            right = self.conjunction()
            value = _truth(value) or _truth(right)
        return value

    def conjunction(self) -> Value:
        value = self.negation()
        while self.peek() == "and":
            self.take()
            right = self.negation()
            value = _truth(value) and _truth(right)
        return value

    def negation(self) -> Value:
        if self.peek() == "not":
            self.take()
            return not _truth(self.negation())
        return self.comparison()

    def comparison(self) -> Value:
        left = self.atom()
        if self.peek() in ("==", "!="):
            operator = self.take()
            right = self.atom()
            return (left == right) if operator == "==" else (left != right)
        return left

    def atom(self) -> Value:
        token = self.take()
        if token == "(":
            value = self.expression()
            if self.take() != ")":
                raise UnsupportedExpression("unbalanced parentheses")
            return value
        if token.startswith('"'):
            return token[1:-1].replace('\\"', '"')
        if token in ("true", "false"):
            return token == "true"
        if token in self.facts:
            return self.facts[token]
        raise UnsupportedExpression(f"unknown name {token!r} (the rehearsal knows {', '.join(self.facts)})")


def _truth(value: Value) -> bool:
    if not isinstance(value, bool):
        raise UnsupportedExpression(f"{value!r} is not a boolean")
    return value


def evaluate(expression: str, facts: Mapping[str, Value]) -> bool:
    """Whether a job with ``facts`` (e.g. ``pipeline.git.branch``, ``job.ssh.enabled``) may use the context."""
    tokens: list[str] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise UnsupportedExpression(f"cannot read {text[position:]!r} in {expression!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    parser = _Parser(tokens, facts)
    result = parser.expression()
    if parser.peek() is not None:
        raise UnsupportedExpression(f"unexpected {parser.peek()!r} in {expression!r}")
    return _truth(result)
