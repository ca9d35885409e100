"""Every user mistake is a message naming the field or file, exit status 2, never a traceback; Ctrl-C
stops cleanly. Each case runs the real CLI from a user's own project."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from secure_pipelines.render.output import MANIFEST_NAME

Setup = Callable[..., dict[str, str] | None]
"""Prepare the user's project for the mistake; return extra environment variables, if any."""


def _nothing(_project) -> None:
    return None


def _write(relative: str, content: bytes) -> Setup:
    def setup(project) -> None:
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return setup


def _variable(name: str, value: str) -> Setup:
    return lambda _project: {name: value}


def _stack_config(config: dict) -> Setup:
    return lambda project: project.write_stack("staging", config) and None


def _corrupt_manifest(project) -> None:
    (project.root / "out").mkdir()
    (project.root / "out" / MANIFEST_NAME).write_text("{not json")


@dataclass(frozen=True)
class Mistake:
    id: str
    args: tuple[str, ...]
    expected: tuple[str, ...]
    """What the message must say (the field or file, and the gist)."""
    setup: Setup = _nothing
    cwd: str = "."
    """Where to run, relative to the project (``/`` runs outside any project)."""
    exit_code: int = 2
    extra: dict[str, str] = field(default_factory=dict)


MISTAKES = [
    Mistake("malformed JSON in a variable", ("validate",), ("SECUREPIPE_REPOSITORIES: is not valid JSON",),
            _variable("SECUREPIPE_REPOSITORIES", '[{"name": ')),
    Mistake("a variable that sets no field", ("validate",), ("SECUREPIPE_ORGANISATION__NAME: sets no field",),
            _variable("SECUREPIPE_ORGANISATION__NAME", "globex")),
    Mistake("a variable reaching into a list", ("validate",),
            ("SECUREPIPE_REPOSITORIES__0__NAME: sets a key inside the list repositories",),
            _variable("SECUREPIPE_REPOSITORIES__0__NAME", "shop")),
    Mistake("a variable with a wrong value", ("explain", "--all"),
            ("organization.github.plan: platinum", "(set by SECUREPIPE_ORGANIZATION__GITHUB__PLAN)"),
            _variable("SECUREPIPE_ORGANIZATION__GITHUB__PLAN", "platinum")),
    Mistake("a declaration that is not UTF-8", ("validate",),
            ("stacks/declaration.yaml:2: is not UTF-8 text (byte 0xe9)",),
            _write("stacks/declaration.yaml", b"version: 2\norganization: {name: soci\xe9t\xe9}\n")),
    Mistake("a declaration with bad YAML", ("render", "--all"),
            ("stacks/declaration.yaml:3:1: is not valid YAML",),
            _write("stacks/declaration.yaml", b"version: 2\norganization: [\n")),
    Mistake("a duplicated key", ("validate",),
            ("stacks/declaration.yaml:2:1: is not valid YAML", 'duplicate key "version"'),
            _write("stacks/declaration.yaml", b"version: 2\nversion: 1\n")),
    Mistake("a declaration that is a directory", ("validate", "-d", "stacks"), ("stacks: is a directory",)),
    Mistake("a missing --declaration", ("explain", "--all", "-d", "nope.yaml"),
            ("nope.yaml: no such declaration file (named by --declaration)",)),
    Mistake("a missing SECUREPIPE_DECLARATION", ("validate",),
            ("nope.yaml: no such declaration file (named by SECUREPIPE_DECLARATION)",),
            _variable("SECUREPIPE_DECLARATION", "nope.yaml")),
    Mistake("a stack file with bad YAML", ("validate", "-s", "staging"),
            ("config/Pulumi.staging.yaml:3:1: is not valid YAML",),
            _write("config/Pulumi.staging.yaml", b"config:\n  vault:address: [\n")),
    Mistake("a stack file whose config is not a mapping", ("resources", "-s", "staging"),
            ("config/Pulumi.staging.yaml: config", "must be a mapping"),
            _write("config/Pulumi.staging.yaml", b"config: [a, b]\n")),
    Mistake("a stack declaration object that is not a mapping", ("rehearse", "-s", "staging"),
            ("config/Pulumi.staging.yaml: secure-pipelines:declaration", "must be a mapping"),
            _stack_config({"secure-pipelines:declaration": "enterprise"})),
    Mistake("a stack naming a missing declaration file", ("render", "-s", "staging"),
            ("other.yaml: no such declaration file (named by secure-pipelines:declarationFile in "
             "config/Pulumi.staging.yaml)",),
            _stack_config({"secure-pipelines:declarationFile": "other.yaml"})),
    Mistake("a Pulumi.yaml with bad YAML", ("validate",), ("Pulumi.yaml:2:1: is not valid YAML",),
            _write("Pulumi.yaml", b"name: [globex\n")),
    Mistake("--out that is a file", ("render", "--all", "-o", "out"), ("--out out: is a file, not a directory",),
            _write("out", b"a file\n")),
    Mistake("--out that cannot be written", ("render", "--all", "-o", "/sys/securepipe-test/out"),
            ("--out /sys/securepipe-test/out: cannot be written",)),
    Mistake("a corrupt render manifest", ("render", "--all", "-o", "out"),
            (f"out/{MANIFEST_NAME}: is not a manifest secure-pipelines can read",), _corrupt_manifest),
    Mistake("outside any project", ("validate",), ("no declaration found", "securepipe init"), cwd="/"),
    Mistake("a stack that is no environment", ("explain", "-s", "qa"), ("stack 'qa' is not an environment",)),
    Mistake("a declaration that is a list", ("validate",), ("stacks/declaration.yaml: list: must be a mapping",),
            _write("stacks/declaration.yaml", b"- a\n- b\n")),
    Mistake("a version 1 declaration", ("validate",), ("version: 1: version 1 declarations are no longer read",),
            _write("stacks/declaration.yaml", b"version: 1\n")),
    Mistake("both --stack and --all", ("rehearse", "--all", "-s", "staging"), ("choose one: --stack",)),
    Mistake("a Vault address without a token", ("rehearse", "--all", "--vault-addr", "http://127.0.0.1:1"),
            ("--vault-addr and --vault-token go together",)),
]


def test_there_are_at_least_fifteen_mistakes() -> None:
    assert len(MISTAKES) >= 15


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_a_mistake_is_a_message_with_exit_2_and_no_traceback(mistake: Mistake, user_project, securepipe,
                                                             tmp_path: Path) -> None:
    env = mistake.setup(user_project) or {}
    cwd = tmp_path / "elsewhere" if mistake.cwd == "/" else user_project.root / mistake.cwd
    cwd.mkdir(exist_ok=True)
    ran = securepipe(*mistake.args, cwd=cwd, env=env)
    assert ran.exit_code == mistake.exit_code, ran.output
    message = ran.stderr
    for expected in mistake.expected:
        assert expected in message, f"{expected!r} not in {message!r}"
    assert "Traceback" not in ran.output


def test_a_mistake_every_stack_shares_is_reported_once(user_project, securepipe) -> None:
    ran = securepipe("validate", cwd=user_project.root, env={"SECUREPIPE_ORGANISATION__NAME": "globex"})
    assert ran.exit_code == 2
    assert "InvalidDeclaration: 1 problem(s)" in ran.stderr
    assert ran.stderr.count("SECUREPIPE_ORGANISATION__NAME: sets no field") == 1


def test_schema_and_cross_field_mistakes_are_reported_together(user_project, securepipe) -> None:
    values = user_project.declaration()
    values["repositories"][0]["required_aprovals"] = 1
    values["environments"][1]["ip_allowlist"] = ["0.0.0.0/0"]
    values["environments"][0]["token_ttl"] = "ten minutes"
    user_project.write_declaration(values)
    ran = securepipe("validate", cwd=user_project.root)
    assert ran.exit_code == 2
    assert "repositories[shop].required_aprovals: is not a known key" in ran.stderr
    assert "environments[staging].token_ttl: ten minutes" in ran.stderr
    assert "environments[production].ip_allowlist: 0.0.0.0/0: admits every address" in ran.stderr
    assert "InvalidDeclaration: 3 problem(s)" in ran.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _interrupt_a_rehearsal(root: Path) -> tuple[subprocess.Popen[str], str, list[int]]:
    """Start ``rehearse --all``, press Ctrl-C once its OpenBao runs; the process, its stderr, its servers."""
    process = subprocess.Popen([sys.executable, "-m", "secure_pipelines", "rehearse", "--all"],
                               cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()  # the command is running: it has said what it read
    assert first.startswith("read declaration"), first
    deadline = time.monotonic() + 30
    servers: list[int] = []
    while not servers and time.monotonic() < deadline and process.poll() is None:
        servers = _children(process.pid)
        time.sleep(0.05)
    assert servers, "the embedded OpenBao never started: nothing was interrupted"
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    return process, rest, servers


def test_ctrl_c_stops_a_rehearsal_with_a_message_and_leaves_no_server_running(user_project) -> None:
    # On a loaded machine the whole rehearsal (a few seconds) can end between seeing its server and the
    # signal landing; such a run proves nothing about Ctrl-C, so it is tried again (three times at most).
    for _ in range(3):
        process, rest, servers = _interrupt_a_rehearsal(user_project.root)
        if process.returncode == 0 and "interrupted" not in rest:
            continue
        assert process.returncode == 130, rest
        assert "interrupted (Ctrl-C)" in rest and "Traceback" not in rest
        assert not [pid for pid in servers if Path(f"/proc/{pid}").exists() and
                    "bao" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        return
    pytest.fail("every rehearsal finished before Ctrl-C reached it: the interrupt was never tested")
