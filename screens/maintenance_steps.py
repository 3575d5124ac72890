"""The step list of the node under maintenance and the output line of each engine event."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from console.maintenance.engine import Event

MARKS = {"pending": "·", "running": "▶", "done": "✔", "failed": "✖", "skipped": "»", "interrupted": "‖",
         "undoing": "↶", "undone": "↺", "undo-failed": "✖"}
STYLES = {"running": "bold", "done": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "bold yellow",
          "undoing": "bold yellow", "undone": "cyan", "undo-failed": "bold red", "pending": "dim"}
EVENT_STATUS = {"step-started": "running", "step-done": "done", "step-failed": "failed",
                "undo-started": "undoing", "undo-done": "undone", "undo-failed": "undo-failed"}


@dataclass
class StepLine:
    id: str
    title: str
    phase: str
    status: str = "pending"


def steps_of(eng: Any) -> list[StepLine]:
    """An engine's steps with what its journal says about them (a fresh run: all pending)."""
    applied = {s for s, _ in eng.applied}
    lines = []
    for i, s in enumerate(eng.steps):
        status = "done" if s.id in applied else ("skipped" if i < eng.position else "pending")
        if eng.state == "failed" and i == eng.position:
            status = "failed"
        elif s.id == eng.in_flight:
            status = "interrupted"  # its apply started and the console died before it ended
        lines.append(StepLine(s.id, s.title, s.phase, status))
    return lines


def event_line(e: Event) -> str | None:
    """The output line for an event, in the CLI's words (console/maintenance/cli.py Printer)."""
    if e.kind == "run-started":
        return f"● {e.node}: maintenance at {time.strftime('%H:%M:%S')}"
    return {
        "step-started": f"▶ {e.step} {e.title}",
        "progress": f"    {e.text}",
        "step-done": f"✔ {e.step} done",
        "step-failed": f"✖ {e.step} failed: {e.text}",
        "waiting": f"  stopped at {e.step}; choices: {', '.join(e.choices)}",
        "undo-started": f"↶ undo {e.step} {e.title}",
        "undo-done": f"↺ undo {e.step} done",
        "undo-failed": f"✖ undo {e.step} failed: {e.text}",
        "run-ended": f"■ {e.node}: {e.state}",
    }.get(e.kind)
