"""Events: the timeline of what changed (newest first), with maintenance steps; `/` filters, `f` follows."""

from __future__ import annotations

import time

from textual.binding import Binding
from textual.app import ComposeResult

from screens.base import LayerScreen
from widgets.fast_table import FastTable
from widgets.format import BAD, OFF, OK, STYLE, WARN, mark
from widgets.table_columns import Column, Row

EVENT_COLUMNS = (
    Column("time", "TIME", min_width=8, max_width=14),
    Column("severity", "SEV", min_width=6, max_width=6),
    Column("layer", "LAYER", min_width=5, max_width=11, priority=2),
    Column("subject", "SUBJECT", min_width=6, max_width=16),
    Column("text", "EVENT", min_width=40, max_width=120, stretch=True),  # the kind column goes first
    Column("kind", "KIND", min_width=6, max_width=24, priority=3),
)
SEVERITY = {"critical": (BAD, "crit"), "warning": (WARN, "warn"), "info": (OFF, "info"), "ok": (OK, "ok")}


def when(t: float, now: float) -> str:
    """'14:03:22' today, 'MM-DD 14:03' before (local time)."""
    lt, ln = time.localtime(t), time.localtime(now)
    if (lt.tm_year, lt.tm_yday) == (ln.tm_year, ln.tm_yday):
        return time.strftime("%H:%M:%S", lt)
    return time.strftime("%m-%d %H:%M", lt)


def event_rows(events, now: float) -> list[Row]:
    """Newest first; keys stable across renders (time, subject, kind, and a count for twins)."""
    seen: dict[str, int] = {}
    rows: list[Row] = []
    for e in reversed(events):
        base = f"{e.time:.3f}|{e.layer}|{e.subject}|{e.kind}"
        n = seen[base] = seen.get(base, 0) + 1
        level, word = SEVERITY.get(e.severity, (OFF, e.severity))
        cells = (when(e.time, now), mark(level, word), e.layer, e.subject,
                 (e.text, STYLE[level] if level in (BAD, WARN) else ""), e.kind)
        rows.append(Row(f"{base}|{n}", cells, (-e.time, e.severity, e.layer, e.subject, e.text, e.kind)))
    return rows


class EventsScreen(LayerScreen):
    VIEW = "events"
    TITLE_TEXT = "events"
    SOURCES = ()  # every source's changes
    CSS_PATH = "events.tcss"
    BINDINGS = [Binding("f", "follow", "Follow")]
    VIEW_KEYS = [
        ("f", "follow on/off: keep the newest event in view"),
        ("/", "filter, e.g. /osd /crit /pve2 /maint /!info"),
        ("enter", "go to the event's subject in its view"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.follow = True
        self._shown: tuple = ()

    def compose_body(self) -> ComposeResult:
        yield FastTable(EVENT_COLUMNS, title="events", empty_text="no events yet: nothing has changed since the start",
                        id="events")

    @property
    def table(self) -> FastTable:
        return self.query_one("#events", FastTable)

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself
        self._show_follow()
        self.table.focus()

    def _show_follow(self) -> None:
        table = self.table
        table.stick_to_top = self.follow  # a cursor on the newest row stays on the newest row
        table.title = "events (follow)" if self.follow else "events"
        table.update_title()

    def loading_widgets(self) -> list:
        return []  # the timeline is ours: it is never "loading"

    def render_data(self, snapshots, now) -> None:
        recorder = getattr(self.app, "timeline", None)
        if recorder is None:
            self.table.empty_text = "no event recorder for this cluster"
            self.table.set_rows(())
            return
        key = (recorder.log.version, len(recorder.maintenance), id(recorder))  # maintenance: read by the recorder
        if key == self._shown:
            return
        self._shown = key
        self.table.set_rows(event_rows(recorder.timeline(), self.app.wall_clock()))
        if self.follow:
            self.table.action_cursor_home()

    def action_follow(self) -> None:
        self.follow = not self.follow
        self._show_follow()
        if self.follow:
            self.table.action_cursor_home()
        self.notify("follow on: the newest event stays in view" if self.follow else "follow off", timeout=2)

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        row = self.table.get_row(event.key) if event.key else None
        if row is None:
            return
        layer, subject = row.cells[2], row.cells[3]
        if layer in ("source", "maintenance", "silence"):
            return
        self.app.call_later(self.app.jump_to, layer, subject)
