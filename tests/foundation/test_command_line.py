"""A command line people enjoy: the same short flags and the same sentence for the same mistake on every
command, help without the toolkit's own jargon, tables that read in 80 columns, a rehearsal summary."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import typer.core
import typer.main
from rich.console import Console

from secure_pipelines.ci.circleci.policy.evaluate import run_policy_tests
from secure_pipelines.cli import app
from secure_pipelines.commands._common import print_rows
from secure_pipelines.commands.rehearse import show_summary
from secure_pipelines.rehearse.outcomes import Outcome, Rehearsal

GROUP = typer.main.get_command(app)
COMMANDS = dict(GROUP.commands)  # type: ignore[attr-defined]
READING_STACKS = ("validate", "checklist", "render", "explain", "resources", "rehearse")
SHORT_FLAGS = {"--declaration": "-d", "--stack": "-s", "--out": "-o", "--format": "-f"}
JARGON = re.compile(r"\bfront door\b|(?<!--)\bviews?\b|\bextras\b|\bcapabilit|\bpydantic\b|\bregistry\b"
                    r"|\bmocks runtime\b|\bplan data\b|\bStackView\b|\bcaptured?\b", re.IGNORECASE)
"""Words of the toolkit's own design; ``--view`` is an option's name, which users type."""


def _options(command: typer.core.TyperCommand) -> dict[str, list[str]]:
    return {long: [o for o in param.opts if not o.startswith("--")] for param in command.params
            for long in param.opts if long.startswith("--")}


def test_every_command_gives_each_shared_option_the_same_short_flag() -> None:
    seen = 0
    for name, command in COMMANDS.items():
        for long, shorts in _options(command).items():
            if long in SHORT_FLAGS:
                seen += 1
                assert shorts == [SHORT_FLAGS[long]], f"{name} {long}: {shorts}"
    assert seen >= 15


def test_every_command_that_reads_stacks_takes_the_declaration_one_stack_or_all() -> None:
    for name in (*READING_STACKS, "diff"):
        assert {"--declaration", "--stack", "--all"} <= set(_options(COMMANDS[name])), name


def test_help_speaks_to_users_without_the_toolkits_jargon() -> None:
    texts = [GROUP.help or ""] + [text for command in COMMANDS.values() for text in
                                  (command.help or "", *(getattr(p, "help", "") or "" for p in command.params))]
    assert len(texts) > 40
    assert [text for text in texts if JARGON.search(text)] == []


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_a_flag_as_a_flag(securepipe, tmp_path: Path, command: str) -> None:
    """A flag takes no value: help that showed `--all <bool>` would send users to type `--all true`."""
    shown = securepipe(*([command] if command else []), "--help", cwd=tmp_path)
    assert shown.exit_code == 0 and "--help" in shown.stdout
    assert "<bool>" not in shown.stdout and "BOOLEAN" not in shown.stdout


@pytest.mark.parametrize("text", ["the front door reads it", "each stack's view", "the plan's extras"])
def test_the_jargon_scan_catches_each_form(text: str) -> None:
    assert JARGON.search(text)


def test_the_jargon_scan_lets_an_options_name_through() -> None:
    assert not JARGON.search("or (--view deployers) what each stack's deployer may change")


MISTAKES = {
    "both --stack and --all": (("-s", "staging", "--all"), "."),
    "a stack that is no environment": (("-s", "qa"), "."),
    "outside any project": (("--all",), "elsewhere"),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=list(MISTAKES))
def test_one_mistake_is_one_sentence_on_every_command(mistake: str, securepipe, user_project,
                                                      tmp_path: Path) -> None:
    args, where = MISTAKES[mistake]
    cwd = user_project.root if where == "." else tmp_path / where
    cwd.mkdir(exist_ok=True)
    commands = [*READING_STACKS, "diff --base HEAD"] if mistake.startswith("both") else READING_STACKS
    said = {}
    for command in commands:
        ran = securepipe(*command.split(), *args, cwd=cwd)
        assert ran.exit_code == 2, (command, ran.output)
        said[command] = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len({tuple(lines) for lines in said.values()}) == 1, said
    assert len(next(iter(said.values()))) == 1


def _console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)


def test_a_wide_terminal_gets_a_table_and_a_narrow_one_a_stacked_layout_within_its_width() -> None:
    rows = [["kv-production/data/apps/webapp", "read", "circleci/webapp-production " * 3]]
    wide = _console(160)
    print_rows(wide, "Who can reach each secret path", ["path", "access", "who"], rows, wide_from=120)
    assert "┃ path" in wide.file.getvalue()
    narrow = _console(80)
    print_rows(narrow, "Who can reach each secret path", ["path", "access", "who"], rows, wide_from=120)
    text = narrow.file.getvalue()
    assert "┃" not in text and "  access: read" in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_piped_output_honours_columns(securepipe, user_project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ran = securepipe("explain", "-s", "production", cwd=user_project.root)
    assert ran.exit_code == 0, ran.output
    assert "  access:" in ran.stdout
    assert max(len(line.rstrip()) for line in ran.stdout.splitlines()) <= 80
    padded = [line for line in ran.stdout.splitlines() if line.endswith(" ")]
    assert not padded, padded[:3]  # neither the grid's padding nor a wrapped line's last space


def _outcome(flow: str, verdict: str) -> Outcome:
    admitted = verdict in ("ok", "escape")
    return Outcome("attack", flow, "production", "webapp", "circleci", None, "refused",
                   "admitted" if admitted else "refused: permission denied", "", verdict)  # type: ignore[arg-type]


def test_a_rehearsal_summary_gives_the_counts_and_only_the_failures() -> None:
    rehearsal = Rehearsal(("production",), "http://127.0.0.1:8200", True,
                          outcomes=[_outcome("feature branch refs/heads/x", "ok"),
                                    _outcome("SSH rerun on refs/heads/main", "escape")])
    target = _console(200)
    show_summary(rehearsal, target)
    text = target.file.getvalue()
    assert "SSH rerun on refs/heads/main" in text and "feature branch" not in text
    assert "FAILED: 0/0 legitimate flows admitted; 2 attacks" in text and "1 escapes" in text


def test_a_passing_rehearsal_summary_is_one_line() -> None:
    rehearsal = Rehearsal(("production",), "http://127.0.0.1:8200", True,
                          outcomes=[_outcome("feature branch refs/heads/x", "ok")])
    target = _console(400)
    show_summary(rehearsal, target)
    assert target.file.getvalue().count("\n") == 1
    assert target.file.getvalue().startswith("PASSED")


def test_the_policy_tests_report_one_phase_and_each_test_file_done(progress_recorder) -> None:
    recorder = progress_recorder
    run_policy_tests({}, {"a_test.yaml": "{}\n", "b_test.yaml": "{}\n", "c_test.yaml": "{}\n"})
    assert recorder.phases == [("running the rendered config policy tests", 3)]
    assert recorder.steps == {"running the rendered config policy tests": 3}
