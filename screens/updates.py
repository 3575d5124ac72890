"""`:updates`: what is pending on every node, firewall, CT, VM and Swarm service
(pending and security counts, reboot needed, newer image digest, or why a row
cannot be inspected), and the upgrade of everything, or of the row's item,
after ONE typed confirmation (the cluster's name). During and after a run the
run pane shows its step table (item, step, state, time: screens/updates_steps.py)
over the output; esc goes back to the inventory. The keys after a run are the
maintenance wizard's keys: r resumes an unfinished run or retries the item a
run stopped at (rolled back), ctrl+b rolls an unfinished run's item back, ctrl+x
aborts a run going on (both destructive: ctrl and a confirmation); each is also
`labconsole upgrade resume|retry|rollback|abort`. ctrl+r (the App's refresh
everywhere) also reads the pending updates again here. The selected row's full WHAT
(why it is skipped, its packages) is the line under the table.

The screen renders the App's UpdatesSession (console/upgrade/everything_session.py);
reading and the run are App workers, so a run goes on while other views are
shown. A read-only console shows the inventory and refuses the upgrade.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from console.upgrade import session_control as control
from console.upgrade.everything_session import UpdatesSession
from console.upgrade.inventory import UpdateRow
from screens.base import LayerScreen
from screens.maintenance import wrap_lines
from screens.maintenance_modals import TypeNameModal
from screens.updates_steps import STEP_COLUMNS, current_key, step_rows
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
RUN_GROUP = "updates-run"  # every worker that changes the cluster: the one ctrl+x cancels


def row_key(r: UpdateRow) -> str:
    return f"{r.kind}:{r.vmid if r.vmid is not None else r.name}"


def detail_text(r: UpdateRow) -> str:
    """The row's WHAT in full, for the line under the table (the column is cut on a narrow terminal)."""
    name = r.name + (f" ({r.vmid})" if r.vmid is not None and r.kind != "firewall" else "")
    if not r.inspectable or r.pending is None or r.kind == "service":
        return f"{name}: {r.note}" if r.note else name
    names = ", ".join(p["name"] + (" (security)" if p.get("security") else "") for p in r.packages)
    return f"{name}: {r.pending} pending" + (f": {names}" if names else "") + ("; reboot needed" if r.reboot else "")


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
    MUTATING_ACTIONS = frozenset({"upgrade_all", "upgrade_row", "resume", "retry", "rollback", "abort"})
    DEFAULT_CSS = """
    UpdatesScreen #upd-banner { height: auto; max-height: 2; padding: 0 1; background: $warning 30%; display: none; }
    UpdatesScreen #upd-status { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    UpdatesScreen #upd-table { height: 1fr; }
    UpdatesScreen #upd-detail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    UpdatesScreen #upd-run { height: 1fr; display: none; }
    UpdatesScreen #upd-run.-open { display: block; }
    UpdatesScreen #upd-steps { height: 2fr; min-height: 4; }
    UpdatesScreen #upd-log { height: 1fr; }
    """
    # The maintenance wizard's keys (r resume/retry, ctrl+b roll back, ctrl+x abort): one grammar with every
    # view (tests/tui/test_key_grammar.py). Not g for re-reading: g is the tables' "top"; ctrl+r, the App's
    # refresh, is this view's too (not ctrl+a: Swarm's availability).
    BINDINGS = [
        Binding("u", "upgrade_all", "Upgrade all"),
        Binding("i", "upgrade_row", "Upgrade item"),
        Binding("r", "resume", "Resume"),
        Binding("r", "retry", "Retry"),
        Binding("ctrl+b", "rollback", "Roll back"),
        Binding("ctrl+x", "abort", "Abort"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]
    VIEW_KEYS = [
        ("u", "upgrade everything in the plan's order: type the cluster's name to start"),
        ("i", "upgrade the selected row's item only (a firewall's item is the pair)"),
        ("r", "resume an unfinished run where it stopped / retry the item a run stopped at (rolled back) and "
              "the items after it"),
        ("ctrl+b", "roll back the unfinished run's item (asks first)"),
        ("ctrl+x", "abort the run going on: its step is interrupted, the journal keeps it for r or ctrl+b "
                   "(asks first)"),
        ("ctrl+r", "refresh now, and read every layer's pending updates again (not while a run goes on)"),
        ("esc", "from the run's steps back to the inventory (a run goes on in the background)"),
        ("/", "filter the rows (kind, name, node, package, note)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._lines_shown = 0
        self._show_run = False
        self._retry: list[str] = []
        self._seen_phase = ""
        self._ticker: Any = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="upd-banner", markup=False)
        yield Static("", id="upd-status", markup=False)
        yield FastTable(COLUMNS, title="updates", empty_text="reading…", id="upd-table")
        yield Static("", id="upd-detail", markup=False)
        with Vertical(id="upd-run"):
            steps = FastTable(STEP_COLUMNS, title="run", empty_text="no run yet", id="upd-steps")
            steps.can_focus = False  # the keys go to the screen
            yield steps
            yield LogView(id="upd-log", classes="-open")

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
        s = self.session
        control.refresh_unfinished(s)
        self._retry = control.retry_labels(s)  # also after a restart of the console
        self._show_run = s.running
        if s.phase == "idle":
            self._work(s.refresh(), "updates-read")
        self._ticker = self.set_interval(1.0, self._tick)  # the running step's time

    def render_data(self, snapshots: dict, now: float) -> None:  # LayerScreen: on mount, resume, new data
        self._repaint()

    def _work(self, coro: Any, group: str) -> None:
        self.app.run_worker(coro, group=group, exit_on_error=False)  # on the App: a run outlives the screen

    def _changed(self) -> None:
        if self.is_current:
            self.call_later(self._repaint)

    def _tick(self) -> None:
        if self.is_current and self.session.running:
            self._repaint_steps(self.session)

    def _repaint(self) -> None:
        s = self.session
        if s.phase != self._seen_phase:
            if s.phase == "running":
                self._show_run = True
            elif self._seen_phase == "running":
                control.refresh_unfinished(s)
                self._retry = control.retry_labels(s)
            self._seen_phase = s.phase
        self._repaint_banner(s)
        self.query_one("#upd-status", Static).update(s.message or s.phase)
        table = self.query_one("#upd-table", FastTable)
        table.set_rows(table_rows(s))
        self._repaint_detail()
        run_pane = self.query_one("#upd-run")
        run_pane.set_class(self._show_run, "-open")
        table.display = not self._show_run
        self.query_one("#upd-detail").display = not self._show_run
        self._repaint_steps(s)
        log = self.query_one("#upd-log", LogView)
        new = s.line_count - self._lines_shown
        if new > 0:
            lines = list(islice(reversed(s.lines), min(new, len(s.lines))))
            lines.reverse()
            log.write_lines(wrap_lines(lines, max(log.size.width - 1, 40)))
            self._lines_shown = s.line_count
        log.border_title = f"output · {s.phase}"
        self.refresh_bindings()

    def _repaint_banner(self, s: UpdatesSession) -> None:
        banner = self.query_one("#upd-banner", Static)
        text = ""
        if s.unfinished is not None and not s.running:
            st = control.run_control.status_of(s.unfinished)
            text = (f"unfinished upgrade run {st.run_id}: {st.stopped_at or '-'} {st.state.replace('_', ' ')}. "
                    "r: resume · ctrl+b: roll back")
        elif self._retry and not s.running:
            text = f"the last run stopped at {self._retry[0]} (rolled back). r: retry it and the items after it"
        banner.update(text)
        banner.display = bool(text)

    def _repaint_steps(self, s: UpdatesSession) -> None:
        steps = self.query_one("#upd-steps", FastTable)
        steps.set_rows(step_rows(s.steps, s.steps.clock()))
        key = current_key(s.steps)
        if key is not None and steps.cursor_key != key:
            steps.move_cursor_to_key(key)

    def _repaint_detail(self) -> None:
        table = self.query_one("#upd-table", FastTable)
        row = next((r for r in self.session.rows if row_key(r) == table.cursor_key), None)
        self.query_one("#upd-detail", Static).update(detail_text(row) if row is not None else "")

    def on_fast_table_row_highlighted(self, event: FastTable.RowHighlighted) -> None:
        if event.table.id == "upd-table":
            self._repaint_detail()

    def close_panes(self) -> bool:
        if self._show_run:
            self._show_run = False
            self._repaint()
            self.query_one("#upd-table", FastTable).focus()
            return True
        return False

    # ------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        s = getattr(self.app, "updates_session", None)
        running = s is not None and s.running
        unfinished = s is not None and s.unfinished is not None
        if action in ("resume", "rollback"):
            return unfinished and not running
        if action == "retry":
            return bool(self._retry) and not unfinished and not running
        if action == "abort":
            return running
        if action in ("upgrade_all", "upgrade_row"):
            return not running
        return super().check_action(action, parameters)

    def action_refresh(self) -> None:
        """ctrl+r: the App's refresh (every source polled now), and the pending updates read again."""
        app: Any = self.app
        app.action_refresh()
        if not self.session.running:  # a run reads them again when it ends
            self._work(self.session.refresh(), "updates-read")

    def _refused(self, what: str = "upgrade") -> bool:
        s = self.session
        app: Any = self.app
        if app.read_only:
            self.app.notify(f"refused: {what} ({s.cluster_name} is read-only)", title="read-only", severity="warning")
            return True
        if s.running:
            self.app.notify("a run is in progress", title="updates", severity="warning")
            return True
        if s.unfinished is not None and what == "upgrade":
            self.app.notify(f"run {s.unfinished.run_id} is unfinished: r resumes it, ctrl+b rolls it back",
                            title="updates", severity="warning")
            return True
        if s.plan is None and what == "upgrade":
            self.app.notify("the updates are still being read", title="updates", severity="warning")
            return True
        return False

    def action_upgrade_all(self) -> None:
        s = self.session
        if self._refused():
            return
        if not s.plan or not s.plan.todo:
            self.app.notify("nothing to upgrade", title="updates")
            return
        self._confirm(s.sentence(None), lambda: self._run_then_reread(None))

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
        self._confirm(s.sentence(label), lambda: self._run_then_reread(label))

    def action_retry(self) -> None:
        if self._refused("retry") or not self._retry:
            return
        sentence = (f"Retry on {self.session.cluster_name}: read what is pending again, then upgrade "
                    f"{', '.join(self._retry)} (those still pending), stopping at the first failure with that "
                    "item rolled back")
        self._confirm(sentence, lambda: self._then_reread(control.retry(self.session)))

    def action_resume(self) -> None:
        s = self.session
        if self._refused("resume") or s.unfinished is None:
            return
        self._ask(f"Resume upgrade run {s.unfinished.run_id} where it stopped?",
                  lambda: self._then_reread(control.resume(s, "resume")))

    def action_rollback(self) -> None:
        s = self.session
        if self._refused("rollback") or s.unfinished is None:
            return
        st = control.run_control.status_of(s.unfinished)
        self._ask(f"Roll back {st.stopped_at or 'the item'} of upgrade run {st.run_id} (back to its snapshot; "
                  "the items done before it stay upgraded)?",
                  lambda: self._then_reread(control.resume(s, "rollback")))

    def action_abort(self) -> None:
        s = self.session
        if not s.running:
            return

        def answered(yes: bool | None) -> None:
            if yes and s.running:
                if s.run is not None:
                    s.run.abort()  # journaled: the run stays open for resume or rollback
                self.app.workers.cancel_group(self.app, RUN_GROUP)

        from screens.modals import ConfirmModal

        self.app.push_screen(ConfirmModal("Abort the upgrade run now? Its current step is interrupted and the item "
                                          "stays as it is: r resumes it, ctrl+b rolls it back."), callback=answered)

    def _ask(self, question: str, then: Any) -> None:
        from screens.modals import ConfirmModal

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(then)

        self.app.push_screen(ConfirmModal(question), callback=answered)

    def _confirm(self, sentence: str, then: Any) -> None:
        s = self.session

        def done(typed: str | None) -> None:
            if typed is None:
                return
            if typed != s.cluster_name:
                self.app.notify(f"not confirmed: you typed {typed!r}, not {s.cluster_name!r}; nothing was done",
                                title="updates", severity="warning")
                return
            self._start(then)

        self.app.push_screen(TypeNameModal(sentence, s.cluster_name), callback=done)

    def _start(self, then: Any) -> None:
        self._lines_shown = 0
        self._retry = []
        self._show_run = True
        self.query_one("#upd-log", LogView).clear()
        self._work(then(), RUN_GROUP)

    async def _run_then_reread(self, label: str | None) -> None:
        await self._then_reread(self.session.start(label))

    async def _then_reread(self, coro: Any) -> None:
        s = self.session
        await coro
        if s.outcome not in ("refused", "error", "interrupted", None):
            message = s.message
            await s.refresh()
            s.message = f"{message}; {s.message}"
            s._changed()
