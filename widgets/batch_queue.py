"""The queue of guest actions: one line per item (waiting, running, done,
failed) with its latest progress line or its result. Dumb: the screen hands
it rows; it stays on screen while the cursor moves and hides when empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rich.text import Text
from textual.widgets import Static

from console.inert import cap

GLYPHS = {"queued": ("·", "dim"), "running": ("▶", "bold yellow"), "done": ("✔", "green"), "failed": ("✖", "bold red")}
WORDS = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed"}
MESSAGE_CAP = 160


class QueueRow(NamedTuple):
    state: str  # queued | running | done | failed
    what: str  # "migrate VM 112 (backup-server) -> pve3"
    message: str  # the latest progress line, or the result


class BatchQueue(Static):
    DEFAULT_CSS = """
    BatchQueue { height: auto; max-height: 10; display: none; border-top: solid $accent; padding: 0 1;
        overflow-y: auto; border-title-align: left; }
    BatchQueue.-shown { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.rows: tuple[QueueRow, ...] = ()

    def show(self, rows: Sequence[QueueRow]) -> None:
        rows = tuple(rows)
        if rows == self.rows:
            return
        self.rows = rows
        self.set_class(bool(rows), "-shown")
        counts = {s: sum(1 for r in rows if r.state == s) for s in WORDS}
        self.border_title = Text("queue  " + "  ".join(f"{n} {WORDS[s]}" for s, n in counts.items() if n))
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, row in enumerate(rows):
            glyph, style = GLYPHS.get(row.state, ("?", ""))
            if i:
                text.append("\n")
            text.append(f"{glyph} {WORDS.get(row.state, row.state):8} ", style=style)
            text.append(row.what)
            if row.message:
                text.append(f"  {cap(row.message, MESSAGE_CAP)}", style="dim" if row.state != "failed" else "red")
        self.update(text)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r.state == s) for s in WORDS}
