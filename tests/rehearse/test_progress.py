"""A rehearsal tells a listener each phase and each role done; the command draws it on terminals only."""

from __future__ import annotations

import io

from rich.console import Console

from secure_pipelines.commands.progress import rehearsal_progress
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse import rehearse_views
from secure_pipelines.rehearse.timing import PHASES
from secure_pipelines.views import Request, open_views

from .conftest import EXAMPLE_PROJECT


class Recorder:
    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.steps: dict[str, int] = {}

    def phase_started(self, phase: str, total: int | None) -> None:
        self.phases.append((phase, total))

    def advanced(self, steps: int) -> None:
        current = self.phases[-1][0]
        self.steps[current] = self.steps.get(current, 0) + steps


def test_the_listener_hears_every_phase_in_order_and_each_role_fired(example_plan: Plan) -> None:
    recorder = Recorder()
    views = open_views(Request(None, ("staging",), organization=True), cwd=EXAMPLE_PROJECT)
    rehearsal = rehearse_views(views, progress=recorder)
    roles = len(example_plan.environment("staging").roles)
    assert [name for name, _ in recorder.phases] == [name for name, _ in rehearsal.phases.in_order()]
    assert [name for name, _ in recorder.phases] == [p for p in PHASES if p in rehearsal.phases.seconds]
    assert ("flows", roles) in recorder.phases
    assert recorder.steps == {"flows": roles}


def test_piped_output_gets_no_progress() -> None:
    piped = io.StringIO()
    with rehearsal_progress(Console(file=piped)) as progress:
        assert progress is None
    assert piped.getvalue() == ""


def test_a_terminal_shows_the_running_phase_and_roles_done() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with rehearsal_progress(console) as progress:
        assert progress is not None
        progress.phase_started("flows", 4)
        progress.advanced(3)
        console.file.flush()
    assert PHASES["flows"] in screen.getvalue() and "3/4" in screen.getvalue()
