"""CircleCI's context restriction language, case by case, in the style of Vault's ``claims_test.go``:
each row is one rule of the language (operators, precedence, types, failing closed)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from secure_pipelines.ci.circleci.context_expression import UnsupportedExpression, Value, evaluate

MAIN = {"pipeline.git.branch": "main", "job.ssh.enabled": False, "pipeline.config_source": "vcs",
        "pipeline.number": 42}
PLANNED = 'pipeline.git.branch == "main" and not job.ssh.enabled and not (pipeline.config_source starts-with "api")'


@dataclass(frozen=True)
class Row:
    name: str
    expression: str
    facts: dict[str, Value]
    expected: bool


def facts(**changes: Value) -> dict[str, Value]:
    return {**MAIN, **{k.replace("__", "."): v for k, v in changes.items()}}


ROWS = [
    # equality: strings, booleans, and values of different types
    Row("string equal", 'pipeline.git.branch == "main"', MAIN, True),
    Row("string not equal", 'pipeline.git.branch == "main-evil"', MAIN, False),
    Row("!= of equal strings", 'pipeline.git.branch != "main"', MAIN, False),
    Row("different types are never equal", 'job.ssh.enabled == "false"', MAIN, False),
    Row("different types are always unequal", 'job.ssh.enabled != "false"', MAIN, True),
    Row("a number is not its string", 'pipeline.number == "42"', MAIN, False),
    Row("numbers compare", "pipeline.number >= 42 and pipeline.number < 43", MAIN, True),
    Row("escaped quote in a literal", r'pipeline.git.branch == "ma\"in"', facts(pipeline__git__branch='ma"in'), True),
    # starts-with: a string prefix, and the documented unversioned-config test
    Row("prefix", 'pipeline.config_source starts-with "api"', facts(pipeline__config_source="api"), True),
    Row("prefix of a longer value", 'pipeline.config_source starts-with "api"',
        facts(pipeline__config_source="api, vscode"), True),
    Row("not a prefix", 'pipeline.config_source starts-with "api"', MAIN, False),
    Row("a prefix must be at the start", 'pipeline.git.branch starts-with "ain"', MAIN, False),
    Row("starts-with binds tighter than ==", 'pipeline.git.branch starts-with "ma" == true', MAIN, True),
    Row("starts-with of a boolean fails closed", 'job.ssh.enabled starts-with "f"', MAIN, False),
    Row("a failed operand fails the whole expression closed",
        'pipeline.git.branch == "main" or job.ssh.enabled starts-with "f"', facts(pipeline__git__branch="x"), False),
    Row("numeric comparison of a string fails closed", 'pipeline.git.branch > 3', MAIN, False),
    # not: very high precedence, truthiness of non-booleans
    Row("not of a boolean", "not job.ssh.enabled", MAIN, True),
    Row("! is not", "!job.ssh.enabled", MAIN, True),
    Row("not binds tighter than and", "not job.ssh.enabled and false", MAIN, False),
    Row("not binds tighter than ==: (not branch) == false", 'not pipeline.git.branch == false', MAIN, True),
    Row("not of a string is false (every value but false is true)", "not pipeline.git.branch", MAIN, False),
    Row("parentheses group", 'not (pipeline.config_source starts-with "api")', MAIN, True),
    # and / or: precedence and short-circuit
    Row("and binds tighter than or", "true or false and false", MAIN, True),
    Row("parentheses override", "(true or false) and false", MAIN, False),
    Row("or short-circuits past a failing operand", 'true or job.ssh.enabled starts-with "x"', MAIN, True),
    Row("and short-circuits past a failing operand", 'false and job.ssh.enabled starts-with "x"', MAIN, False),
    Row("a string operand of and counts as true", 'pipeline.git.branch and true', MAIN, True),
    Row("tabs and new lines are whitespace", 'pipeline.git.branch\t==\n"main"', MAIN, True),
    # the expression the plan writes for staging and production
    Row("planned: a normal run on main", PLANNED, MAIN, True),
    Row("planned: an SSH rerun", PLANNED, facts(job__ssh__enabled=True), False),
    Row("planned: another branch", PLANNED, facts(pipeline__git__branch="main-evil"), False),
    Row("planned: unversioned config (api)", PLANNED, facts(pipeline__config_source="api"), False),
    Row("planned: unversioned config from an editor", PLANNED, facts(pipeline__config_source="api, vscode"), False),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_circleci_expression_semantics(row: Row) -> None:
    assert evaluate(row.expression, row.facts) is row.expected


@pytest.mark.parametrize("expression", [
    'pipeline.git.branch =~ "^main$"',
    'pipeline.git.branch matches /main.*/',
    'pipeline.project.slug == "x"',
    'pipeline.git.branch == "main" and',
    '(pipeline.git.branch == "main"',
    'pipeline.git.branch "main"',
    'pipeline.git.branch starts-with "m" starts-with "n"',
])
def test_an_expression_the_rehearsal_cannot_judge_is_an_error_not_a_pass(expression: str) -> None:
    with pytest.raises(UnsupportedExpression):
        evaluate(expression, MAIN)
