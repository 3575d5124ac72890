"""An aborted upgrade run (ctrl+x in :updates) freezes its step table where it stopped: the
step that was running reads "interrupted" and its time stops, as the journal will tell it
when the run is reopened (before, it read "▶ running" with its time still counting)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from console.maintenance.engine import Event
from console.upgrade.run_steps import RunSteps
from console.upgrade.session_control import run_ending
from screens.updates_steps import step_rows


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _steps_in_g4(clock: Clock) -> RunSteps:
    steps = RunSteps(clock)
    steps.reset(["200/mail", "201/db"])
    steps.on_event(Event("run-started", "200/mail"))
    for step in ("G3", "G4"):
        steps.on_event(Event("step-started", "200/mail", step, f"title {step}"))
        clock.now += 2
        if step == "G3":
            steps.on_event(Event("step-done", "200/mail", step))
    return steps


def _row(steps: RunSteps, clock: Clock, key: str) -> tuple:
    return next(r.cells for r in step_rows(steps, clock()) if r.key == key)


def test_interrupted_freezes_the_running_step_and_its_item():
    clock = Clock()
    steps = _steps_in_g4(clock)
    assert _row(steps, clock, "step:200/mail:G4")[2][0] == "▶ running"
    steps.interrupted()
    clock.now += 30
    g4 = _row(steps, clock, "step:200/mail:G4")
    assert g4[2][0] == "‖ interrupted" and g4[3] == "2 s", g4
    assert _row(steps, clock, "step:200/mail:G3")[2][0] == "✔ done"
    assert steps.items["200/mail"].state == "interrupted" and steps.items["201/db"].state == "pending"
    assert steps.failed_item() == "200/mail"


async def test_a_cancelled_run_marks_its_steps_interrupted(monkeypatch):
    clock = Clock()
    session = SimpleNamespace(steps=_steps_in_g4(clock), outcome=None, message="", phase="running",
                              unfinished=None, cluster_name="demo", lines=[])
    session.add_line = session.lines.append
    session._changed = lambda: None
    monkeypatch.setattr("console.upgrade.session_control.refresh_unfinished", lambda s: None)
    with pytest.raises(asyncio.CancelledError):
        async with run_ending(session, "refused"):
            raise asyncio.CancelledError
    assert session.outcome == "interrupted" and session.phase == "ended"
    assert session.steps.items["200/mail"].steps[1].status == "interrupted"


def test_the_time_column_holds_every_duration_it_shows():
    """At 80x24 an interrupted G4 read "1 min 03…": the column was 9 wide."""
    from console.maintenance.events import fmt_duration
    from screens.updates_steps import STEP_COLUMNS

    width = next(c for c in STEP_COLUMNS if c.key == "time").width
    assert all(len(fmt_duration(s)) <= width for s in (0, 59, 63, 3599, 3600, 86399))
