"""`:log`: the console's own command log (console/ops/command_log.py): every mutating call
labconsole made, API or SSH, with its time, target, result and duration, newest first.
`/` filters; enter shows the whole record (the call as sent, the full result)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Static

from console.ops import command_log
from screens.events import when  # one clock format for every list of times
from screens.reading import ReadingScreen, app_of
from widgets.fast_table import FastTable
from widgets.format import BAD, OK, duration, mark
from widgets.table_columns import Column, Row

LOG_COLUMNS = (
    Column("time", "TIME", min_width=8, max_width=14),
    Column("result", "RESULT", min_width=6, max_width=8),
    Column("duration", "TOOK", min_width=4, max_width=6, align="right"),
    Column("target", "TARGET", min_width=6, max_width=16),
    Column("action", "ACTION", min_width=20, max_width=80, stretch=True),
    Column("kind", "KIND", min_width=4, max_width=8, priority=3),
    Column("detail", "DETAIL", min_width=10, max_width=60, priority=2),
)
SHOWN = 2000  # newest records shown (the file is bounded too: about two generations of MAX_BYTES)


def log_rows(records: list[dict], now: float) -> list[Row]:
    """Newest first. Records are already inert (command_log.read); the key is the record's place."""
    rows = []
    for i, r in enumerate(records):
        t = float(r.get("time") or 0.0)
        ok = bool(r.get("ok"))
        took = float(r.get("duration") or 0.0)
        result = str(r.get("result", ""))
        detail = result.partition(": ")[2] if result.startswith(("ok: ", "failed: ")) else result
        cells = (when(t, now), mark(OK, "ok") if ok else mark(BAD, "failed"),
                 "<1s" if took < 1 else duration(took), str(r.get("target", "")),
                 (str(r.get("action", "")), "" if ok else "red"), str(r.get("kind", "")), detail)
        sort = (-t, ok, took, str(r.get("target", "")), str(r.get("action", "")), str(r.get("kind", "")), detail)
        rows.append(Row(f"{i}|{t:.3f}", cells, sort))
    rows.reverse()
    return rows


def _read_if_changed(path: Path, last: tuple | None, cluster: str) -> tuple[tuple | None, list[dict] | None]:
    """(the files' stamp, the records) or (stamp, None) when nothing changed since `last`."""
    stamp: list[tuple[int, int] | None] = []
    for p in (path.with_name(command_log.OLD), path):
        try:
            st = p.stat()
            stamp.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            stamp.append(None)
    key = (*stamp, cluster)  # a switch to another cluster reads afresh
    if key == last:
        return key, None
    return key, command_log.read(SHOWN, path.parent, cluster)


class CommandLogScreen(ReadingScreen):
    VIEW = "log"
    TITLE_TEXT = "command log"
    CSS_PATH = "command_log.tcss"
    READ_EVERY = 2.0
    VIEW_KEYS = [
        ("/", "filter, e.g. /failed /pve2 /migrate /112 /!ok"),
        ("enter", "the whole record: the call as sent and its full result"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._stamp: tuple | None = None
        self.records: list[dict] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="read-status", markup=False)
        yield FastTable(LOG_COLUMNS, title="command log", empty_text="labconsole has changed nothing yet",
                        id="command-log")

    @property
    def table(self) -> FastTable:
        return self.query_one("#command-log", FastTable)

    def on_mount(self) -> None:  # ReadingScreen.on_mount runs after this by itself
        self.table.focus()

    def reading_widgets(self) -> list:
        return [self.table]

    async def read(self) -> list[dict] | None:
        path = command_log.log_path()
        self._stamp, records = await asyncio.to_thread(_read_if_changed, path, self._stamp, app_of(self).cluster_name)
        return records

    def show(self, records: list[dict] | None) -> None:
        if records is None:
            return  # unchanged
        self.records = records
        self.table.set_rows(log_rows(records, app_of(self).wall_clock()))
        failed = sum(not r.get("ok") for r in records)
        self.query_one("#read-status", Static).update(
            f"{len(records)} calls on {app_of(self).cluster_name}" + (f", {failed} failed" if failed else "")
            + f" · {command_log.log_path()}")

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if not event.key:
            return
        index = int(event.key.partition("|")[0])
        if not 0 <= index < len(self.records):
            return
        r = self.records[index]
        from screens.modals import TextModal

        lines = [f"time      {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(float(r.get('time') or 0)))}",
                 f"kind      {r.get('kind', '')}", f"target    {r.get('target', '')}",
                 f"action    {r.get('action', '')}", f"call      {r.get('call', '')}",
                 f"result    {r.get('result', '')}", f"took      {float(r.get('duration') or 0):.3f} s"]
        self.app.push_screen(TextModal("command", lines))
