"""Maintenance wizard: choose a node (or all), read the plan and preflight, confirm
by typing the node's name, then watch every step with its output.

The screen renders the App's WizardSession (console/maintenance/session.py)
and forwards keys; the run itself is an App worker, so it goes on while
other views are shown. Events keep arriving when the screen is hidden; it
renders only when it is the current screen.
"""

from __future__ import annotations

from itertools import islice

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from console.maintenance.events import MARKS
from console.maintenance.session import ALL, WizardSession
from screens.base import LayerScreen
from screens.maintenance_modals import KindModal, TypeNameModal
from screens.maintenance_text import review_text, status_text, wrap_lines
from widgets.fast_table import FastTable
from widgets.format import mark
from widgets.log_view import LogView
from widgets.table_columns import Column, Row

STYLES = {"running": "bold", "done": "green", "failed": "bold red", "skipped": "yellow", "interrupted": "bold yellow",
          "undoing": "bold yellow", "undone": "cyan", "undo-failed": "bold red", "pending": "dim"}

NODE_COLUMNS = (
    Column("node", "NODE", min_width=4, max_width=12),
    Column("status", "STATUS", min_width=8, max_width=10),
    Column("updates", "UPD", width=4, align="right"),
    Column("guests", "GUESTS", width=6, align="right"),
    Column("kernel", "KERNEL", min_width=6, max_width=16, priority=2),
    Column("note", "WHAT", min_width=10, max_width=50, stretch=True, priority=1),
)
STEP_COLUMNS = (
    Column("mark", "", width=1),
    Column("id", "STEP", width=4),
    Column("title", "TITLE", min_width=10, max_width=60, stretch=True),
)
RENDER_DELAY = 0.05  # engine events within this time become one repaint


class MaintenanceScreen(LayerScreen):
    VIEW = "maintenance"
    TITLE_TEXT = "maintenance"
    SOURCES = ("proxmox",)
    CSS_PATH = "maintenance.tcss"
    MUTATING_ACTIONS = frozenset({"confirm", "retry", "resume", "rollback", "skip", "abort", "rejoin"})
    # One grammar with the other views (tests/tui/test_key_grammar.py): the plain keys go forward and ask
    # first (c, the r family, y: yes, take the downtime; d is "detail" elsewhere); the ones that undo, stop
    # or leave a step undone are ctrl-keys: ctrl+b rolls back as in snapshots, Swarm and :updates, ctrl+x
    # aborts as in :updates, ctrl+y skips (s is every table's sort, ctrl+s Swarm's scale).
    BINDINGS = [
        Binding("c", "confirm", "Confirm"),
        Binding("r", "recheck", "Re-check"),
        Binding("r", "retry", "Retry"),
        Binding("r", "resume", "Resume"),
        Binding("r", "rejoin", "Rejoin"),
        Binding("ctrl+b", "rollback", "Rollback"),
        Binding("ctrl+y", "skip", "Skip"),
        Binding("ctrl+x", "abort", "Abort"),
        Binding("y", "accept_downtime", "Accept downtime"),
    ]
    VIEW_KEYS = [
        ("enter", "on a node (or all): plan it and run the preflight checks (changes nothing); on a node, choose "
                  "upgrade (u) or drain only for hardware work (d)"),
        ("c", "confirm: type the node's name (the cluster's for all) to start"),
        ("r", "re-check the plan / retry the failed step / resume an unfinished run / rejoin a drained node"),
        ("ctrl+b", "roll back: undo the applied steps in reverse order (asks first)"),
        ("ctrl+y", "skip the failed step (only where the step says it is safe; asks first)"),
        ("ctrl+x", "abort: stop here; the journal keeps the run for resume or rollback (asks first)"),
        ("y", "yes, take the downtime of the HA guests whose rules leave them no other node (they stop with it)"),
        ("esc", "back to the node list (a run goes on in the background)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._render_timer = None
        self._log_epoch = -1
        self._log_shown = 0
        self._last_phase = ""
        self._shown_version = -1

    @property
    def shown_version(self) -> int:
        """The session version on display (-1: none yet); a hidden wizard does not advance it."""
        return self._shown_version

    def compose_body(self) -> ComposeResult:
        yield Static("", id="maint-banner", markup=False)
        yield Static("", id="maint-status", markup=False)
        with Vertical(id="maint-choose"):
            yield FastTable(NODE_COLUMNS, title="nodes: enter plans one, or all", id="maint-nodes")
        with VerticalScroll(id="maint-review"):
            yield Static("", id="maint-plan", markup=False)
        with Horizontal(id="maint-run"):
            steps = FastTable(STEP_COLUMNS, title="steps", id="maint-steps")
            steps.can_focus = False  # keys go to the screen (the log pane keeps the focus)
            yield steps
            yield LogView(id="maint-log", classes="-open")

    def on_mount(self) -> None:  # Textual runs LayerScreen.on_mount too: no super() call
        self.focus_main()

    # ------------------------------------------------------------ the session
    @property
    def session(self) -> WizardSession:
        app = self.app
        s = getattr(app, "maintenance", None)
        if s is None or s.cluster_name != app.cluster_name:
            s = WizardSession(app.cluster, getattr(app.actions, "sources", None), app.read_only)
            s.refresh_unfinished()
            app.maintenance = s
        s.read_only = app.read_only
        s.on_change = self._session_changed
        return s

    def _session_changed(self) -> None:
        s = self.app.maintenance
        if s is None:
            return
        if not self.is_current:
            if s.phase != self._last_phase and s.phase in ("waiting", "ended"):
                self.app.notify(f"{s.message} (7: maintenance)", title="maintenance",
                                severity="warning" if s.phase == "waiting" else "information")
            self._last_phase = s.phase
            return
        if self._render_timer is None:
            self._render_timer = self.set_timer(RENDER_DELAY, self._render_session)

    def loading_widgets(self) -> list:
        return [self.query_one("#maint-nodes", FastTable)]

    def render_data(self, snapshots: dict, now: float) -> None:
        self._render_nodes()
        self._render_session()

    def on_screen_resume(self) -> None:
        s = self.session
        if s.phase in ("choose", "ended"):
            s.refresh_unfinished()
        self._shown_version = -1  # LayerScreen.on_screen_resume runs as well (Textual walks the MRO)

    # ------------------------------------------------------------ rendering
    def _render_nodes(self) -> None:
        pve = self.data_of("proxmox")
        table = self.query_one("#maint-nodes", FastTable)
        if pve is None:
            table.set_rows([])
            return
        running = {n.name: 0 for n in pve.nodes}
        for g in pve.guests:
            if g.status == "running" and g.node in running:
                running[g.node] += 1
        pending = [n.pending_updates for n in pve.nodes if n.pending_updates is not None]
        rows = [Row(ALL, ("all", "rolling", str(sum(pending)) if pending else "?", str(sum(running.values())), "",
                          "every node with updates, one after another"))]
        for n in sorted(pve.nodes, key=lambda n: n.name):
            status = mark("ok" if n.status == "online" else "bad", n.status)
            maint = "HA maintenance" if n.ha_lrm and "maintenance" in n.ha_lrm else ""
            rows.append(Row(n.name, (n.name, status, "?" if n.pending_updates is None else str(n.pending_updates),
                                     str(running[n.name]), n.kernel or "", maint)))
        table.set_rows(rows)

    def _render_session(self) -> None:
        self._render_timer = None
        s = self.session
        self._last_phase = s.phase
        if s.version == self._shown_version:
            return
        self._shown_version = s.version
        log = self.query_one("#maint-log", LogView)
        follow = log.is_vertical_scroll_end  # the status above may change height: stay at the end
        self._render_banner(s)
        self.query_one("#maint-status", Static).update(status_text(s))
        run_view = s.phase in ("running", "waiting", "ended") and s.run is not None
        panes = {"maint-choose": s.phase == "choose" or (s.phase == "ended" and s.run is None),
                 "maint-review": s.phase in ("planning", "review"), "maint-run": run_view}
        for pane_id, show in panes.items():
            pane = self.query_one(f"#{pane_id}")
            if pane.display != show:
                pane.display = show
                if show:
                    self._focus_pane(pane_id)
        if panes["maint-review"]:
            self.query_one("#maint-plan", Static).update(review_text(s))
        if run_view:
            self._render_steps(s)
            self._render_log(s)
            if follow:
                self.call_after_refresh(log.scroll_end, animate=False)
        self.refresh_bindings()

    def _focus_pane(self, pane_id: str) -> None:
        target = {"maint-choose": "#maint-nodes", "maint-review": "#maint-review", "maint-run": "#maint-log"}[pane_id]
        self.query_one(target).focus()

    def focus_main(self) -> None:
        for pane_id in ("maint-choose", "maint-review", "maint-run"):
            if self.query_one(f"#{pane_id}").display:
                self._focus_pane(pane_id)
                return

    def _render_banner(self, s: WizardSession) -> None:
        banner = self.query_one("#maint-banner", Static)
        text = ""
        if s.read_only:
            text = f"read-only: maintenance on {s.cluster_name} is refused here (plans and preflight can be read)"
        elif s.unfinished is not None and s.phase in ("choose", "ended"):
            u = s.unfinished
            if u.elsewhere:
                text = f"run {u.journal.run_id} is in progress in {u.elsewhere}"
            else:
                text = (f"unfinished run {u.journal.run_id} ({', '.join(u.nodes)}): {u.state}, last {u.last}. "
                        "r: resume · ctrl+b: roll back")
        banner.update(text)
        banner.display = bool(text)

    def _render_steps(self, s: WizardSession) -> None:
        table = self.query_one("#maint-steps", FastTable)
        rows = [Row(x.id, ((MARKS[x.status], STYLES[x.status]), x.id, x.title), style=STYLES[x.status] if
                    x.status in ("failed", "undo-failed") else "") for x in s.steps]
        table.set_rows(rows)
        position = f" ({s.nodes.index(s.node) + 1}/{len(s.nodes)})" if s.node in s.nodes and len(s.nodes) > 1 else ""
        title = f"{s.node or '-'}{position} steps"
        if table.title != title:
            table.title = title
            table.update_title()
        current = next((x.id for x in s.steps if x.status in ("running", "undoing", "failed", "undo-failed")), None)
        if current is not None and table.cursor_key != current:
            table.move_cursor_to_key(current)

    def _render_log(self, s: WizardSession) -> None:
        log = self.query_one("#maint-log", LogView)
        if self._log_epoch != s.lines_epoch or s.line_count - self._log_shown > len(s.lines):
            log.clear()
            self._log_epoch, self._log_shown = s.lines_epoch, s.line_count - len(s.lines)
        new = s.line_count - self._log_shown
        if new > 0:
            lines = list(islice(reversed(s.lines), new))  # only the new ones: no copy of the whole deque
            lines.reverse()
            log.write_lines(wrap_lines(lines, log.size.width - 1))
            self._log_shown = s.line_count
        log.border_title = f"output · {s.phase}"

    # ------------------------------------------------------------ keys
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        s = getattr(self.app, "maintenance", None)
        phase = s.phase if s is not None else "choose"
        choices = s.choices if s is not None else ()
        resumable = (s is not None and s.unfinished is not None and not s.unfinished.elsewhere
                     and phase in ("choose", "ended"))
        if action == "confirm":  # offered only after a passing preflight
            return phase == "review" and s is not None and s.preflight_ok
        if action == "recheck":
            return phase == "review"
        if action == "accept_downtime":
            return phase == "review" and s is not None and bool(s.downtime_to_accept)
        if action == "retry":
            return phase == "waiting" and "retry" in choices
        if action == "rejoin":
            return phase == "waiting" and "rejoin" in choices
        if action == "resume":
            return resumable
        if action == "rollback":
            return (phase == "waiting" and "rollback" in choices) or resumable
        if action == "skip":
            return phase == "waiting" and "skip" in choices
        if action == "abort":
            return phase in ("running", "waiting")
        return True

    def _work(self, coro, group: str = "maintenance") -> None:
        # on the App: the run must outlive this screen (switching views does not stop it)
        self.app.run_worker(coro, group=group, exclusive=group != "maintenance", exit_on_error=False)

    def _refused(self, what: str) -> bool:
        if self.app.read_only:
            self.app.notify(f"refused: {what} ({self.app.cluster_name} is read-only)", title="read-only",
                            severity="warning")
            return True
        return False

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        if event.table.id != "maint-nodes" or event.key is None:
            return
        event.stop()
        s = self.session
        if s.active:
            self.app.notify("a maintenance run is in progress", title="maintenance", severity="warning")
            return
        if event.key == ALL:
            self._work(s.prepare(ALL, drain_only=False), group="maintenance-plan")
            return
        node = event.key

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self._work(self.session.prepare(node, drain_only=kind == "drain"), group="maintenance-plan")

        self.app.push_screen(KindModal(node), callback=chosen)

    def action_recheck(self) -> None:
        s = self.session
        if s.phase == "review" and s.target:
            self._work(s.prepare(s.target), group="maintenance-plan")

    def action_accept_downtime(self) -> None:
        s = self.session
        if s.phase == "review" and s.downtime_to_accept:
            self._work(s.accept_ha_downtime(), group="maintenance-plan")

    def action_confirm(self) -> None:
        s = self.session
        if s.phase != "review" or self._refused("maintenance"):
            return
        if not s.preflight_ok:
            self.app.notify("preflight failed: fix what it names, then r to check again", title="maintenance",
                            severity="warning")
            return
        if s.drain_only:
            what = (f"Drain-only maintenance of {s.target} on {s.cluster_name}: drain, then wait for you (hardware "
                    "work), rejoin when you press r. No upgrade, no reboot. Guests move as the plan says.")
        else:
            what = (f"Rolling upgrade of {', '.join(s.nodes)} on {s.cluster_name}" if s.target == ALL
                    else f"Maintenance of {s.target} on {s.cluster_name}") + \
                ": drain, upgrade, reboot, verify, rejoin. Guests move as the plan says."
        self.app.push_screen(TypeNameModal(what, s.confirm_word), callback=self._confirmed)

    def _confirmed(self, typed: str | None) -> None:
        s = self.session
        if typed is None or s.phase != "review":
            return
        if typed != s.confirm_word:
            self.app.notify(f"not confirmed: you typed {typed!r}, not {s.confirm_word!r}; nothing was done",
                            title="maintenance", severity="warning")
            return
        self._work(s.start())

    def action_retry(self) -> None:
        if not self._refused("retry"):
            self._work(self.session.retry())

    def action_rejoin(self) -> None:
        s = self.session
        if not self._refused("rejoin"):
            self._ask(f"Is the work on {s.node} done? Rejoin it: verify, then bring everything back.", s.rejoin)

    def action_resume(self) -> None:
        if not self._refused("resume"):
            self._ask("Resume the unfinished maintenance run where it stopped?", lambda: self.session.resume("resume"))

    def action_rollback(self) -> None:
        if self._refused("rollback"):
            return
        s = self.session
        if s.phase == "waiting":
            self._ask(f"Roll back {s.node}: undo every applied step in reverse order?", s.rollback)
        else:
            self._ask("Roll back the unfinished maintenance run?", lambda: s.resume("rollback"))

    def action_skip(self) -> None:
        s = self.session
        if not self._refused("skip"):
            self._ask(f"Skip {s.failed_step_id()} on {s.node} and go on?", s.skip)

    def action_abort(self) -> None:
        s = self.session
        if s.phase == "running":
            self._ask("Abort now? The current step is interrupted; the node stays as it is "
                      "(resume or roll back later).", None, cancel=True)
        elif s.phase == "waiting":
            self._ask(f"Stop here? {s.node} stays as it is; resume or roll back later.", None, abort=True)

    def _ask(self, question: str, then, cancel: bool = False, abort: bool = False) -> None:
        from screens.modals import ConfirmModal

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if cancel:
                self.app.workers.cancel_group(self.app, "maintenance")
            elif abort:
                self.session.abort()
            else:
                self._work(then())

        self.app.push_screen(ConfirmModal(question), callback=answered)

    def close_panes(self) -> bool:
        s = self.session
        if s.phase in ("review", "ended") or (s.phase == "choose" and s.message):
            s.back_to_choose()
            return True
        return False

