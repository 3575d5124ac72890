"""`:updates`: what is pending on every node, firewall, CT, VM and Swarm service
(pending and security counts, reboot needed, newer image digest, or why a row
cannot be inspected), and the upgrade of everything, or of the row's item,
after ONE typed confirmation (the cluster's name). Progress lines follow as in
the maintenance wizard.

The screen renders the App's UpdatesSession (console/upgrade/everything_session.py);
reading and the run are App workers, so a run goes on while other views are
shown. A read-only console shows the inventory and refuses the upgrade.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.upgrade.everything_session import UpdatesSession
from console.upgrade.inventory import UpdateRow
from screens.base import LayerScreen
from screens.maintenance import wrap_lines
from screens.maintenance_modals import TypeNameModal
from widgets.fast_table import FastTable
from widgets.log_view import LogView
from widgets.table_columns import Column, Row

COLUMNS = (
    Column("kind", "KIND", width=8),
    Column("name", "NAME", min_width=6, max_width=24),
    Column("where", "ON", min_width=2, max_width=10, priority=3),
    Column("pending", "PEND", width=4, align="right"),
    Column("security", "SEC", width=3, align="right"),
    Column("reboot", "REBOOT", width=6),
    Column("plan", "PLAN", min_width=8, max_width=14, priority=1),
    Column("note", "WHAT", min_width=10, max_width=70, stretch=True, priority=2),
)
PLAN_STYLE = {"upgrade": "bold", "up to date": "green", "skipped": "yellow"}


def row_key(r: UpdateRow) -> str:
    return f"{r.kind}:{r.vmid if r.vmid is not None else r.name}"


def table_rows(s: UpdatesSession) -> list[Row]:
    actions = {i.label: i.action for i in (s.plan.items if s.plan else ())}
    out = []
    for r in s.rows:
        label = {"node": r.name, "firewall": "firewalls", "service": f"service:{r.name}"}.get(r.kind,
                                                                                           f"{r.vmid}/{r.name}")
        action = actions.get(label, "")
        blind = not r.inspectable or r.pending is None
        pending = "-" if blind else str(r.pending)
        note = r.note if (blind or r.kind == "service") else ", ".join(p["name"] for p in r.packages[:8])
        name = r.name + (f" ({r.vmid})" if r.vmid is not None and r.kind != "firewall" else "")
        out.append(Row(row_key(r), (r.kind, name, r.where if r.kind != "node" else "", pending,
                                    str(r.security) if r.security else "", "yes" if r.reboot else "",
                                    (action, PLAN_STYLE.get(action, "")), note),
                       sort=(None, None, None, r.pending if r.pending is not None else -1, r.security,
                             bool(r.reboot), action, note),
                       style="dim" if blind else ""))
    return out


class UpdatesScreen(LayerScreen):
    VIEW = "updates"
    TITLE_TEXT = "updates"
    SOURCES = ("proxmox",)
    MUTATING_ACTIONS = frozenset({"upgrade_all", "upgrade_row"})
    DEFAULT_CSS = """
    UpdatesScreen #upd-status { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    UpdatesScreen #upd-table { height: 1fr; }
    UpdatesScreen #upd-log { height: 1fr; display: none; }
    UpdatesScreen #upd-log.-open { display: block; }
    """
    BINDINGS = [
        Binding("u", "upgrade_all", "Upgrade all"),
        Binding("i", "upgrade_row", "Upgrade item"),
        Binding("g", "reread", "Re-read"),
    ]
    VIEW_KEYS = [
        ("u", "upgrade everything in the plan's order: type the cluster's name to start"),
        ("i", "upgrade the selected row's item only (a firewall's item is the pair)"),
        ("g", "read every layer's pending updates again"),
        ("/", "filter the rows (kind, name, node, package, note)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._lines_shown = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="upd-status", markup=False)
        yield FastTable(COLUMNS, title="updates", empty_text="reading…", id="upd-table")
        yield LogView(id="upd-log")

    @property
    def session(self) -> UpdatesSession:
        app: Any = self.app
        s = getattr(app, "updates_session", None)
        if s is None or s.cluster_name != app.cluster_name:
            s = UpdatesSession(app.cluster, getattr(app.actions, "sources", None), app.read_only,
                               **getattr(app, "updates_options", {}))
            app.updates_session = s
        s.read_only = app.read_only
        s.on_change = self._changed
        return s

    def on_mount(self) -> None:  # Textual runs LayerScreen.on_mount too
        self.query_one("#upd-table", FastTable).focus()
        if self.session.phase == "idle":
            self._work(self.session.refresh(), "updates-read")

    def render_data(self, snapshots: dict, now: float) -> None:  # LayerScreen: on mount, resume, new data
        self._repaint()

    def _work(self, coro: Any, group: str) -> None:
        self.app.run_worker(coro, group=group, exit_on_error=False)  # on the App: a run outlives the screen

    def _changed(self) -> None:
        if self.is_current:
            self.call_later(self._repaint)

    def _repaint(self) -> None:
        s = self.session
        status = self.query_one("#upd-status", Static)
        status.update(s.message or s.phase)
        table = self.query_one("#upd-table", FastTable)
        table.set_rows(table_rows(s))
        log = self.query_one("#upd-log", LogView)
        if s.phase in ("running", "ended") and s.line_count:
            log.add_class("-open")
        new = s.line_count - self._lines_shown
        if new > 0:
            lines = list(islice(reversed(s.lines), min(new, len(s.lines))))
            lines.reverse()
            log.write_lines(wrap_lines(lines, max(log.size.width - 1, 40)))
            self._lines_shown = s.line_count
        log.border_title = f"output · {s.phase}"

    # ------------------------------------------------------------ keys
    def action_reread(self) -> None:
        if not self.session.running:
            self._work(self.session.refresh(), "updates-read")

    def _refused(self) -> bool:
        s = self.session
        app: Any = self.app
        if app.read_only:
            self.app.notify(f"refused: upgrade ({s.cluster_name} is read-only)", title="read-only", severity="warning")
            return True
        if s.running or s.plan is None:
            self.app.notify("a run is in progress" if s.running else "the updates are still being read",
                            title="updates", severity="warning")
            return True
        return False

    def action_upgrade_all(self) -> None:
        s = self.session
        if self._refused():
            return
        if not s.plan or not s.plan.todo:
            self.app.notify("nothing to upgrade", title="updates")
            return
        self._confirm(None)

    def action_upgrade_row(self) -> None:
        s = self.session
        if self._refused():
            return
        table = self.query_one("#upd-table", FastTable)
        row = next((r for r in s.rows if row_key(r) == table.cursor_key), None)
        label = s.item_for(row) if row is not None else None
        if label is None:
            self.app.notify("this row has nothing to upgrade", title="updates")
            return
        self._confirm(label)

    def _confirm(self, label: str | None) -> None:
        s = self.session

        def done(typed: str | None) -> None:
            if typed is None:
                return
            if typed != s.cluster_name:
                self.app.notify(f"not confirmed: you typed {typed!r}, not {s.cluster_name!r}; nothing was done",
                                title="updates", severity="warning")
                return
            self._lines_shown = 0
            self.query_one("#upd-log", LogView).clear()
            self._work(self._run_then_reread(label), "updates-run")

        self.app.push_screen(TypeNameModal(s.sentence(label), s.cluster_name), callback=done)

    async def _run_then_reread(self, label: str | None) -> None:
        s = self.session
        await s.start(label)
        if s.outcome not in ("refused", "error"):
            message = s.message
            await s.refresh()
            s.message = f"{message}; {s.message}"
            s._changed()
