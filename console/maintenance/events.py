"""The one text of each engine event, for the headless CLI and the wizard alike,
and the status a step line takes from it."""

from __future__ import annotations

from typing import Any

from console.maintenance.engine import Event

MARKS = {"pending": "·", "running": "▶", "done": "✔", "failed": "✖", "skipped": "»", "interrupted": "‖",
         "undoing": "↶", "undone": "↺", "undo-failed": "✖"}
EVENT_STATUS = {"step-started": "running", "step-done": "done", "step-failed": "failed",
                "undo-started": "undoing", "undo-done": "undone", "undo-failed": "undo-failed"}
INDENT = "    "  # progress and command output sit under their step


def event_line(e: Event) -> str | None:
    """The output line for an event (None: the event shows no line). Data in it is
    inert already (StepContext.progress/output, ConsoleError); output may carry SGR."""
    if e.kind in ("progress", "output"):
        return f"{INDENT}{e.text}"
    if e.kind == "waiting" and e.state == "paused":  # drain-only: the run waits for the operator, as planned
        return f"‖ {e.text}"
    return {
        "run-started": f"● {e.node}: maintenance",
        "step-started": f"▶ {e.step} {e.title}",
        "step-done": f"✔ {e.step} done",
        "step-failed": f"✖ {e.step} failed: {e.text}",
        "waiting": f"  stopped at {e.step}; choices: {', '.join(e.choices)}",
        "undo-started": f"↶ undo {e.step} {e.title}",
        "undo-done": f"↺ undo {e.step} done",
        "undo-failed": f"✖ undo {e.step} failed: {e.text}",
        "run-ended": f"■ {e.node}: {e.state}",
    }.get(e.kind)


def status_of(e: Event) -> str | None:
    return EVENT_STATUS.get(e.kind)


def fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def names(items: Any) -> str:
    """A list as words ("osd.3, osd.4"), never a Python repr; "none" when empty."""
    items = [str(i) for i in items or ()]
    return ", ".join(items) if items else "none"
