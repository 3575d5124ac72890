"""Swarm: nodes, services, the selected service's tasks, and its logs (a live stream,
follow + filter). Operations (console/ops/swarm.py through screens/operate.py): scale,
image update, force update, rollback (naming what it returns to), node availability,
and a shell in a task's container or on a swarm node."""

from __future__ import annotations

import asyncio
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding

from console.errors import ConsoleError
from screens import operate
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
        Binding("ctrl+s", "scale", "Scale"),
        Binding("ctrl+u", "update_image", "Image"),
        Binding("ctrl+e", "force_update", "Force update", show=False),  # guests' ctrl+e: restart it
        Binding("ctrl+b", "rollback", "Rollback"),
        Binding("ctrl+n", "drain", "Drain/activate"),  # not ctrl+d: k9s users read that as delete
        Binding("ctrl+a", "availability", "Availability", show=False),
        Binding("x", "shell", "Shell"),
    ]
    MUTATING_ACTIONS = frozenset({"drain", "rollback", "scale", "update_image", "force_update", "availability",
                                  "shell"})
    VIEW_KEYS = [
        ("tab", "next table: nodes, services, tasks"),
        ("l", "live logs of the selected service, task@node prefixed (esc closes)"),
        ("f", "in logs: follow on/off"),
        ("/", "filter the focused table, or the open logs"),
        ("ctrl+s", "on a service: scale it (asks the replicas, then confirms)"),
        ("ctrl+u", "on a service: update its image (asks the tag, shows the current digest)"),
        ("ctrl+e", "on a service: force update: restart its tasks (spread them again, e.g. after a node rejoined)"),
        ("ctrl+b", "on a service: roll back to its previous spec (shows what it returns to)"),
        ("ctrl+n", "on a node: drain it / make it active (asks first)"),
        ("ctrl+a", "on a node: set availability active, pause or drain"),
        ("x", "shell: on a task, docker exec into its container; on a node, ssh to it"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.node_memo = RowMemo(swarm_node_row, lambda n: n.id)
        self.service_memo = RowMemo(service_row, lambda s: s.id)
        self.task_memo = RowMemo(task_row, lambda t: t.id)
        self.selected_service: str | None = None
        self._log_timer = None
        self._log_stop: asyncio.Event | None = None  # set to end the live stream
        self._pending: list[str] = []

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

    def _built(self, swarm) -> tuple:
        """(node rows, service rows, tasks by service id) of `swarm`: pure, made in the Hub's worker
        thread for each new snapshot (rows_ahead), so a large swarm's rows are not built on the loop."""
        def build(data) -> tuple:
            by_service: dict[str, list] = {}
            for t in data.tasks:
                by_service.setdefault(t.service_id, []).append(t)
            return self.node_memo.rows(data.nodes), self.service_memo.rows(data.services), by_service

        return self.rows_ahead("swarm", swarm, build)

    def render_data(self, snapshots, now) -> None:
        swarm = self.data_of("swarm")
        nodes, services, _ = self._built(swarm) if swarm else ((), (), {})
        self.query_one("#swarm-nodes", FastTable).set_rows(nodes)
        self.query_one("#services", FastTable).set_rows(services)
        self._render_tasks()

    def _render_tasks(self) -> None:
        swarm = self.data_of("swarm")
        sid = self.query_one("#services", FastTable).cursor_key
        self.selected_service = sid
        tasks = self.query_one("#tasks", FastTable)
        name = self._services().get(sid)
        tasks.title = f"tasks of {name.name}" if name else "tasks"
        tasks.update_title()
        wanted = self._built(swarm)[2].get(sid, []) if swarm and sid else []
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
        self.logs.focus()
        if getattr(self.app.actions, "stream_service_logs", None) is not None:
            self._start_stream(service.name)
            return
        self.logs.show_lines(service.name, ["fetching logs…"])  # no stream: fetch every 2 s while following
        self._fetch_logs(service.name)
        if self._log_timer is None:
            self._log_timer = self.set_interval(2.0, self._follow_tick)

    def _start_stream(self, service: str) -> None:
        self._stop_stream()
        stop = self._log_stop = asyncio.Event()
        self.logs.start_stream(service)
        self.run_worker(partial(self._stream, service, stop), group="logs", exclusive=True, exit_on_error=False)

    async def _stream(self, service: str, stop: asyncio.Event) -> None:
        def line_in(line: str) -> None:  # on the event loop; lines are drawn in batches
            if stop.is_set():
                return
            if not self._pending:
                self.set_timer(0.05, self._flush_lines)
            self._pending.append(line)

        try:
            await self.app.actions.stream_service_logs(service, line_in, stop)
        except ConsoleError as exc:
            self._flush_lines()
            self.logs.append_lines([f"✖ {exc}"])
        finally:
            if self._log_stop is stop:
                self.logs.stop_stream()

    def _flush_lines(self) -> None:
        lines, self._pending = self._pending, []
        self.logs.append_lines(lines)

    def _stop_stream(self) -> None:
        if self._log_stop is not None:
            self._log_stop.set()
            self._log_stop = None
        self._pending = []

    def on_unmount(self) -> None:
        self._stop_stream()

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
            self._stop_stream()
            self.logs.stop_stream()
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
    def _node(self):
        swarm = self.data_of("swarm")
        key = self.query_one("#swarm-nodes", FastTable).cursor_key
        node = next((n for n in swarm.nodes if n.id == key), None) if swarm else None
        if node is None:
            self.notify("select a node in the nodes table", severity="warning")
        return node

    def _service(self):
        service = self._services().get(self.query_one("#services", FastTable).cursor_key)
        if service is None:
            self.notify("select a service first", severity="warning")
        return service

    def action_drain(self) -> None:
        node = self._node()
        if node is not None:
            self._availability(node, "active" if node.availability == "drain" else "drain")

    def action_availability(self) -> None:
        node = self._node()
        if node is None:
            return

        async def prepare():
            value = await operate.ask(self.app, f"Availability of swarm node {node.hostname} (now "
                                      f"{node.availability}): active, pause or drain", "")
            return None if not value else await self._availability_prepared(node, value)

        operate.run_operation(self, f"availability {node.hostname}", prepare)

    def _availability(self, node, value: str) -> None:
        async def prepare():
            return await self._availability_prepared(node, value)

        operate.run_operation(self, f"set {node.hostname} to {value}", prepare)

    async def _availability_prepared(self, node, value: str):
        from console.ops.swarm import availability_sentence, check_availability

        check_availability(value)
        return availability_sentence(node.hostname, value), lambda: self.app.actions.swarm_availability(
            node.hostname, value)

    def action_scale(self) -> None:
        service = self._service()
        if service is None:
            return

        async def prepare():
            from console.ops.swarm import parse_replicas, scale_sentence

            info = await self.app.actions.swarm_service(service.name)
            if info.spec.mode != "replicated":
                raise ConsoleError("swarm", f"service {info.name} is global: it runs one task per node")
            text = await operate.ask(self.app, f"Scale {info.name}: how many replicas? (now {info.spec.replicas})",
                                     str(info.spec.replicas))
            if text is None:
                return None
            n = parse_replicas(text)
            return scale_sentence(info, n), lambda: self.app.actions.swarm_scale(info.id, n, info=info)

        operate.run_operation(self, f"scale {service.name}", prepare)

    def action_update_image(self) -> None:
        service = self._service()
        if service is None:
            return

        async def prepare():
            from console.ops.swarm import short_digest, update_sentence, with_tag

            info = await self.app.actions.swarm_service(service.name)
            digest = f" @ {short_digest(info.spec.digest)}" if info.spec.digest else " (no digest pinned)"
            text = await operate.ask(self.app, f"Update {info.name}: now {info.spec.image}{digest}.\n"
                                     "New tag (:1.2.3) or image reference:", "")
            if not text:
                return None
            image = with_tag(info.spec, text)
            if image == info.spec.image:
                raise ConsoleError("swarm", f"service {info.name} already runs {image}", "ctrl+e restarts its tasks")
            return update_sentence(info, image), lambda: self.app.actions.swarm_update(info.id, image, info=info)

        operate.run_operation(self, f"update {service.name}", prepare)

    def action_force_update(self) -> None:
        service = self._service()
        if service is None:
            return

        async def prepare():
            from console.ops.swarm import force_sentence

            info = await self.app.actions.swarm_service(service.name)
            return force_sentence(info), lambda: self.app.actions.swarm_force_update(info.id, info=info)

        operate.run_operation(self, f"force-update {service.name}", prepare)

    def action_rollback(self) -> None:
        service = self._service()
        if service is None:
            return

        async def prepare():
            from console.ops.swarm import rollback_sentence

            info = await self.app.actions.swarm_service(service.name)
            sentence = rollback_sentence(info)  # no previous spec: refused here, nothing sent
            return sentence, lambda: self.app.actions.swarm_rollback(info.id, info=info)

        operate.run_operation(self, f"roll back service {service.name}", prepare)

    def action_shell(self) -> None:
        focused = self.focused
        key = focused.cursor_key if isinstance(focused, FastTable) else None
        if isinstance(focused, FastTable) and focused.id == "swarm-nodes":
            swarm = self.data_of("swarm")
            node = next((n for n in swarm.nodes if n.id == key), None) if swarm else None
            operate.open_shell(self, node.hostname if node else None, "a swarm node")
            return
        target = key if isinstance(focused, FastTable) and focused.id == "tasks" else None
        operate.open_shell(self, target, "a task (tasks table) or a node")
