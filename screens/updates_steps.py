"""The step table of the `:updates` view's run (console/upgrade/run_steps.py):
one line per item of the run, the steps of the item in progress (or the one
the run stopped at) under it, with their state and how long each took. The
marks and colours are the maintenance wizard's (screens/maintenance.py)."""

from __future__ import annotations

from console.maintenance.events import MARKS, fmt_duration
from console.upgrade.run_steps import ItemSteps, RunSteps, StepRow
from screens.maintenance import STYLES
from widgets.table_columns import Column, Row

STEP_COLUMNS = (
    Column("item", "ITEM", min_width=8, max_width=22),
    Column("step", "STEP", width=4),
    Column("state", "STATE", min_width=9, max_width=14),
    Column("time", "TIME", width=11, align="right"),  # "59 min 59 s", "12 h 05 min"
    Column("title", "WHAT", min_width=8, max_width=60, stretch=True, priority=1),
)
ITEM_MARKS = {**MARKS, "rolled_back": "↺", "rolling_back": "↶", "rollback_failed": "✖"}
ITEM_STYLES = {**STYLES, "rolled_back": "cyan", "rolling_back": "bold yellow", "rollback_failed": "bold red"}


def _time(seconds: float | None) -> str:
    return "" if seconds is None else fmt_duration(seconds)


def _state(status: str) -> tuple[str, str]:
    return f"{ITEM_MARKS.get(status, '?')} {status.replace('_', ' ')}", ITEM_STYLES.get(status, "")


def step_rows(steps: RunSteps, now: float) -> list[Row]:
    out = []
    for key, r in steps.rows():
        if isinstance(r, ItemSteps):
            last = next((s for s in reversed(r.steps) if s.status != "pending"), None)
            took = None if r.started is None else (r.ended or now) - r.started
            out.append(Row(key, (r.label, last.step if last else "", _state(r.state), _time(took), ""),
                           style="bold" if r.label == steps.current else ""))
        elif isinstance(r, StepRow):
            out.append(Row(key, ("", r.step, _state(r.status), _time(r.duration(now)), r.title),
                           style="dim" if r.status == "pending" else ""))
    return out


def current_key(steps: RunSteps) -> str | None:
    """The row to keep the cursor on: the step running (or failed) now, else the current item."""
    if steps.current is None:
        return None
    item = steps.items.get(steps.current)
    if item is None:
        return None
    live = next((s for s in item.steps if s.status in ("running", "undoing", "failed", "undo-failed")), None)
    return f"step:{item.label}:{live.step}" if live else f"item:{item.label}"
