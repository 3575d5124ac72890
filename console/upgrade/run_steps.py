"""The step table of an upgrade run in the `:updates` view: every item of the run
with its steps as the engine reports them (state and how long each took), the
item being worked on expanded, the others one line each. Fed the engine's
events (console/maintenance/events.py gives each event's state); several
items may be in progress at once, each keyed by its label. No Textual here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from console.maintenance.engine import Event
from console.maintenance.events import status_of
from console.maintenance.step_lines import steps_of

OPEN = ("running", "undoing")


@dataclass
class StepRow:
    item: str
    step: str
    title: str
    status: str = "pending"
    started: float | None = None
    seconds: float | None = None

    def duration(self, now: float) -> float | None:
        if self.seconds is not None:
            return self.seconds
        return now - self.started if self.started is not None and self.status in OPEN else None


@dataclass
class ItemSteps:
    label: str
    state: str = "pending"
    steps: list[StepRow] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None


class RunSteps:
    """Items in the run's order; `clock` is monotonic seconds (tests pass their own)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.items: dict[str, ItemSteps] = {}
        self.current: str | None = None

    def reset(self, labels: list[str], run: Any = None) -> None:
        """A new run (or one reopened from its journal: its done items and the current item's steps)."""
        self.items = {label: ItemSteps(label) for label in labels}
        self.current = None
        if run is None:
            return
        for label in getattr(run, "done_nodes", ()):
            if label in self.items:
                self.items[label].state = "done"
        eng = getattr(run, "engine", None)
        if eng is not None and eng.node in self.items:
            item = self.items[eng.node]
            item.state = eng.state
            took = _journal_seconds(run.journal, eng.node)
            item.steps = [StepRow(eng.node, s.id, s.title, s.status, seconds=took.get(s.id))
                          for s in steps_of(eng)]
            self.current = eng.node

    def _item(self, label: str) -> ItemSteps:
        if label not in self.items:
            self.items[label] = ItemSteps(label)
        return self.items[label]

    def on_event(self, e: Event, engine: Any = None) -> None:
        item = self._item(e.node)
        now = self.clock()
        if e.kind == "run-started":
            self.current = e.node
            item.state, item.started, item.ended = "running", item.started or now, None
            if engine is not None and engine.node == e.node and not item.steps:
                item.steps = [StepRow(e.node, s.id, s.title) for s in engine.steps]
            return
        if e.kind == "run-ended":
            item.state, item.ended = e.state or "ended", now
            return
        status = status_of(e)
        if status is None or e.step is None:
            return
        row = next((r for r in item.steps if r.step == e.step), None)
        if row is None:
            row = StepRow(e.node, e.step, e.title or "")
            item.steps.append(row)
        self.current = e.node
        if e.kind == "undo-started":
            item.state = "rolling_back"
        if status in OPEN:
            row.started, row.seconds = now, None
        elif row.started is not None:
            row.seconds = now - row.started
        row.status = status

    def interrupted(self) -> None:
        """The run was aborted: the steps it was in stop where they were (their time stops too)."""
        now = self.clock()
        for item in self.items.values():
            if item.state in ("running", "rolling_back"):
                item.state, item.ended = "interrupted", now
            for row in item.steps:
                if row.status in OPEN:
                    row.seconds = now - row.started if row.started is not None else None
                    row.status = "interrupted"

    def failed_item(self) -> str | None:
        """The item the run stopped at (failed, rolled back or interrupted), if any."""
        return next((i.label for i in self.items.values() if i.state not in ("done", "pending", "running")), None)

    def rows(self, now: float | None = None) -> list[tuple[str, StepRow | ItemSteps]]:
        """(key, row) in order: each item's own line; the steps of an item in progress (or stopped:
        failed, rolled back, interrupted) under it; a done item is one line."""
        out: list[tuple[str, StepRow | ItemSteps]] = []
        for label, item in self.items.items():
            out.append((f"item:{label}", item))
            if item.state not in ("done", "pending"):
                out += [(f"step:{label}:{r.step}", r) for r in item.steps]
        return out


def _journal_seconds(journal: Any, item: str) -> dict[str, float]:
    """How long each of the item's steps took, from its journal's records (a reopened run)."""
    starts: dict[str, float] = {}
    out: dict[str, float] = {}
    for r in journal.records():
        if r.get("node") != item or "step" not in r:
            continue
        if r["event"] == "apply-start":
            starts[r["step"]] = float(r.get("t") or 0)
        elif r["event"] in ("apply-done", "apply-failed") and r["step"] in starts:
            out[r["step"]] = max(0.0, float(r.get("t") or 0) - starts[r["step"]])
    return out
