"""Swarm: nodes, services, the selected service's tasks, and its logs (follow + filter)."""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding

from console.errors import ConsoleError
from screens.base import LayerScreen
from screens.rows import RowMemo, service_row, swarm_node_row, task_row
from widgets.fast_table import FastTable
from widgets.log_view import LogView
from widgets.table_columns import Column

NODE_COLUMNS = (
    Column("hostname", "NODE", min_width=6, max_width=18),
    Column("role", "ROLE", min_width=7, max_width=9),
    Column("leader", "LEADER", width=6, priority=3),
    Column("availability", "AVAIL", min_width=8, max_width=8),
    Column("state", "STATE", min_width=7, max_width=14),
    Column("reach", "REACH", min_width=6, max_width=13, priority=2),
    Column("engine", "ENGINE", min_width=6, max_width=10, priority=4),
    Column("addr", "ADDR", min_width=7, max_width=16, priority=5, stretch=True),
)
SERVICE_COLUMNS = (
    Column("name", "SERVICE", min_width=8, max_width=28),
    Column("mode", "MODE", min_width=4, max_width=10, priority=3),
    Column("replicas", "REPL", min_width=6, max_width=8),
    Column("image", "IMAGE", min_width=10, max_width=40),
    Column("update", "UPDATE", min_width=6, max_width=18),
    Column("message", "MESSAGE", min_width=8, max_width=60, priority=2, stretch=True),
)
TASK_COLUMNS = (
    Column("slot", "SLOT", width=4, align="right"),
    Column("node", "NODE", min_width=5, max_width=16),
    Column("state", "STATE", min_width=9, max_width=12),
    Column("desired", "DESIRED", min_width=7, max_width=8, priority=2),
    Column("message", "MESSAGE", min_width=10, max_width=60, stretch=True),
    Column("timestamp", "SINCE (UTC)", min_width=14, max_width=14, priority=3),
    Column("id", "ID", width=12, priority=4),
)


class SwarmScreen(LayerScreen):
    VIEW = "swarm"
    TITLE_TEXT = "swarm"
    SOURCES = ("swarm",)
    CSS_PATH = "swarm.tcss"
    BINDINGS = [
        Binding("l", "logs", "Logs"),
        Binding("f", "follow", "Follow"),  # offered only while the logs are open (check_action)
        Binding("ctrl+d", "drain", "Drain/activate"),
        Binding("ctrl+b", "rollback", "Rollback"),
    ]
    MUTATING_ACTIONS = frozenset({"drain", "rollback"})
    VIEW_KEYS = [
        ("tab", "next table: nodes, services, tasks"),
        ("l", "logs of the selected service (esc closes)"),
        ("f", "in logs: follow on/off"),
        ("/", "filter the focused table, or the open logs"),
        ("ctrl+d", "on a node: drain it / make it active (asks first)"),
        ("ctrl+b", "on a service: roll back its last update (asks first)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node_memo = RowMemo(swarm_node_row, lambda n: n.id)
        self.service_memo = RowMemo(service_row, lambda s: s.id)
        self.task_memo = RowMemo(task_row, lambda t: t.id)
        self.selected_service: str | None = None
        self._log_timer = None

    def compose_body(self) -> ComposeResult:
        yield FastTable(NODE_COLUMNS, title="nodes", empty_text="no swarm nodes", id="swarm-nodes")
        yield FastTable(SERVICE_COLUMNS, title="services", empty_text="no services", id="services")
        yield FastTable(TASK_COLUMNS, title="tasks", empty_text="select a service", id="tasks")
        yield LogView(id="logs")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        self.query_one("#services", FastTable).focus()

    def _services(self) -> dict:
        swarm = self.data_of("swarm")
        return {s.id: s for s in swarm.services} if swarm else {}

    def render_data(self, snapshots, now) -> None:
        swarm = self.data_of("swarm")
        self.query_one("#swarm-nodes", FastTable).set_rows(self.node_memo.rows(swarm.nodes) if swarm else ())
        services = self.query_one("#services", FastTable)
        services.set_rows(self.service_memo.rows(swarm.services) if swarm else ())
        self._render_tasks()

    def _render_tasks(self) -> None:
        swarm = self.data_of("swarm")
        sid = self.query_one("#services", FastTable).cursor_key
        self.selected_service = sid
        tasks = self.query_one("#tasks", FastTable)
        name = self._services().get(sid)
        tasks.title = f"tasks of {name.name}" if name else "tasks"
        tasks.update_title()
        wanted = [t for t in swarm.tasks if t.service_id == sid] if swarm and sid else []
        tasks.set_rows(self.task_memo.rows(wanted))

    def on_fast_table_row_highlighted(self, event: FastTable.RowHighlighted) -> None:
        if event.table.id == "services" and event.key != self.selected_service:
            self._render_tasks()

    # ------------------------------------------------------------ logs
    @property
    def logs(self) -> LogView:
        return self.query_one(LogView)

    def action_logs(self) -> None:
        service = self._services().get(self.query_one("#services", FastTable).cursor_key)
        if service is None:
            self.notify("select a service first", severity="warning")
            return
        self.add_class("-logs")
        self.refresh_bindings()
        self.logs.show_lines(service.name, ["fetching logs…"])
        self.logs.focus()
        self._fetch_logs(service.name)
        if self._log_timer is None:
            self._log_timer = self.set_interval(2.0, self._follow_tick)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "follow":
            return self.has_class("-logs")
        return super().check_action(action, parameters)

    def _follow_tick(self) -> None:
        if self.has_class("-logs") and self.logs.follow and self.is_current:
            self._fetch_logs(self.logs.source_name)

    def _fetch_logs(self, service: str) -> None:
        # a callable, not a coroutine: an exclusive worker cancelled before it starts leaves no
        # never-awaited coroutine (and its RuntimeWarning) behind
        self.run_worker(partial(self._load_logs, service), group="logs", exclusive=True, exit_on_error=False)

    async def _load_logs(self, service: str) -> None:
        fetch = getattr(self.app.actions, "service_logs", None)
        if fetch is None:
            self.logs.show_lines(service, ["logs are not available for this cluster"])
            return
        try:
            lines = await fetch(service)
        except ConsoleError as exc:
            self.logs.show_lines(service, [f"✖ {exc}"])
            return
        if lines != self.logs.all_lines:
            self.logs.show_lines(service, lines)

    def action_follow(self) -> None:
        if self.has_class("-logs"):
            following = self.logs.toggle_follow()
            self.notify("following" if following else "paused", timeout=1)

    def action_open_filter(self) -> None:
        if self.has_class("-logs"):
            self._filter_target = None
            self.prompt.open("/", self.logs.filter_text)
            return
        super().action_open_filter()

    # Textual calls LayerScreen's handlers of these messages after these ones by itself;
    # prevent_default() stops that when the logs took the message.
    def on_prompt_bar_typed(self, event) -> None:
        if self.has_class("-logs") and event.mode == "/":
            event.prevent_default()
            self.logs.set_filter(event.value)

    def on_prompt_bar_done(self, event) -> None:
        if self.has_class("-logs") and event.mode == "/":
            event.stop()
            event.prevent_default()
            if event.cancelled:
                self.logs.set_filter("")
            self.logs.focus()

    def close_panes(self) -> bool:
        if self.has_class("-logs"):
            if self.logs.filter_text:
                self.logs.set_filter("")
                return True
            self.remove_class("-logs")
            self.refresh_bindings()
            self.query_one("#services", FastTable).focus()
            return True
        return False

    def action_back(self) -> None:
        if self.has_class("-logs"):  # esc in logs closes them before touching table filters
            self.close_panes()
            return
        super().action_back()

    # ------------------------------------------------------------ actions
    def action_drain(self) -> None:
        swarm = self.data_of("swarm")
        key = self.query_one("#swarm-nodes", FastTable).cursor_key
        node = next((n for n in swarm.nodes if n.id == key), None) if swarm else None
        if node is None:
            self.notify("select a node in the nodes table", severity="warning")
            return
        target = "active" if node.availability == "drain" else "drain"
        self.app.request_action(f"set swarm node {node.hostname} to {target}", "node_availability", node.id, target)

    def action_rollback(self) -> None:
        service = self._services().get(self.query_one("#services", FastTable).cursor_key)
        if service is None:
            self.notify("select a service first", severity="warning")
            return
        self.app.request_action(f"roll back service {service.name}", "service_rollback", service.id)
