"""Long work reports its phases and steps to one listener; the command line draws it on terminals only."""

from __future__ import annotations

import io

from rich.console import Console

from secure_pipelines.plan import Plan
from secure_pipelines.progress import SILENT, progress, shown_on
from secure_pipelines.rehearse import rehearse_views
from secure_pipelines.rehearse.timing import PHASES
from secure_pipelines.views import Request, open_views

from .conftest import EXAMPLE_PROJECT


def test_the_listener_hears_every_phase_in_order_and_each_role_fired(example_plan: Plan, progress_recorder) -> None:
    recorder = progress_recorder
    views = open_views(Request(None, ("staging",), organization=True), cwd=EXAMPLE_PROJECT)
    rehearsal = rehearse_views(views)
    roles = len(example_plan.environment("staging").roles)
    heard = [description for description, _ in recorder.phases]
    assert heard == [PHASES[name] for name, _ in rehearsal.phases.in_order()]
    assert heard == [PHASES[p] for p in PHASES if p in rehearsal.phases.seconds]
    assert (PHASES["flows"], roles) in recorder.phases
    assert recorder.steps == {PHASES["flows"]: roles}


def test_piped_output_gets_no_progress() -> None:
    piped = io.StringIO()
    with shown_on(Console(file=piped)) as bar:
        assert bar is None
        assert progress() is SILENT
        progress().phase("seeding", 3)
    assert piped.getvalue() == ""


def test_a_terminal_shows_the_running_phase_and_steps_done_until_the_work_ends() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with shown_on(console) as bar:
        assert bar is not None and progress() is bar
        progress().phase(PHASES["flows"], 4)
        progress().advance(3)
        console.file.flush()
    assert PHASES["flows"] in screen.getvalue() and "3/4" in screen.getvalue()
    assert progress() is SILENT


def test_a_phase_without_a_count_does_not_show_the_last_phases_count() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with shown_on(console):
        progress().phase("firing", 7)
        progress().phase("stopping the server")
        console.file.flush()
    last = [line for line in screen.getvalue().splitlines() if "stopping the server" in line]
    assert last and "/7" not in last[-1]
