"""Errors for people: every problem names the field, the value and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or risky) in a declaration."""

    field: str
    """Dotted path of the offending field, e.g. ``environments[production].ip_allowlist``."""
    value: object
    """The value found there (``None`` when the field is missing)."""
    message: str
    """What is wrong and how to fix it."""
    environment: str | None = None
    """The environment it concerns, if only one (a stack then reports it); ``None`` for the organisation."""

    def __hash__(self) -> int:
        return hash((self.field, repr(self.value), self.message, self.environment))

    def __str__(self) -> str:
        shown = "" if self.value is None else f"{_short(self.value)}: "
        return f"{self.field}: {shown}{self.message}"


def _short(value: object, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SecurePipelinesError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class InvalidDeclaration(SecurePipelinesError):
    """The declaration cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"InvalidDeclaration: {len(self.problems)} problem(s)\n{lines}")


class DeclarationNotFound(SecurePipelinesError):
    """The declaration file does not exist or cannot be read."""


class UnreadableFile(SecurePipelinesError):
    """A file the toolkit must read is missing, unreadable, not UTF-8, or not valid YAML."""


class NoDeclaration(DeclarationNotFound):
    """No declaration was named, and none was found from the current directory."""


class UnknownStack(SecurePipelinesError):
    """A stack (``pulumi up -s``, ``--stack``, a stack config file) names no environment of the declaration.

    Every command and the stack program say it with this one sentence.
    """

    def __init__(self, stack: str, known: Sequence[str]):
        self.stack = stack
        self.known = tuple(known)
        super().__init__(
            f"stack {stack!r} is not an environment of the declaration (known: {', '.join(self.known)}); "
            "name each stack after an environment (Pulumi.<environment>.yaml, `pulumi stack select <environment>`)"
        )


class StacksDisagree(SecurePipelinesError):
    """Stacks read different declarations where an output shared by every environment depends on them."""


class UnwritableOutput(SecurePipelinesError):
    """The output directory cannot hold the rendered files (it is a file, or cannot be written)."""
