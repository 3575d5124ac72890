"""The step list of the node under maintenance, as the wizard shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
