"""`:tasks`: PVE tasks cluster-wide (/cluster/tasks), running ones first, then newest first
(`o` switches to newest first only); enter opens the task's log, followed while the task
runs. `:clog`: the cluster log (/cluster/log). Both through console/ops/tasks.py; the
text there is inert already."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.errors import ConsoleError
from console.ops import tasks as pve_tasks
from console.ops.tasks import LogRow, TaskRow
from screens.events import when  # one clock format for every list of times
from screens.reading import ReadingScreen, app_of
from widgets.fast_table import FastTable
from widgets.format import BAD, OFF, OK, WARN, duration, mark
from widgets.log_view import LogView
from widgets.table_columns import Column, Row

TASK_COLUMNS = (
    Column("start", "START", min_width=8, max_width=14),
    Column("node", "NODE", min_width=4, max_width=12),
    Column("type", "TYPE", min_width=6, max_width=14),
    Column("id", "ID", min_width=3, max_width=12),
    Column("took", "TOOK", min_width=4, max_width=7, align="right"),
    Column("user", "USER", min_width=6, max_width=20, priority=2),
    Column("status", "STATUS", min_width=10, max_width=80, stretch=True),
)
CLOG_COLUMNS = (
    Column("time", "TIME", min_width=8, max_width=14),
    Column("node", "NODE", min_width=4, max_width=12),
    Column("severity", "SEV", min_width=6, max_width=9),
    Column("tag", "TAG", min_width=4, max_width=16, priority=2),
    Column("user", "USER", min_width=6, max_width=20, priority=3),
    Column("msg", "MESSAGE", min_width=20, max_width=160, stretch=True),
)
CLUSTER_LOG_LINES = 500
RUNNING = ("▶ running", "cyan")
SEVERITY = {"error": BAD, "warning": WARN, "notice": OK, "info": OFF, "debug": OFF}


def task_rows(tasks: list[TaskRow], now: float, running_first: bool = True) -> list[Row]:
    """Running tasks first (when asked), each group newest first; keyed by UPID."""
    order = sorted(tasks, key=lambda t: (not t.running if running_first else False, -t.start))
    rows = []
    for t in order:
        took = (t.end if t.end is not None else now) - t.start if t.start else None
        status = RUNNING if t.running else (mark(OK, "OK") if t.ok else mark(BAD, t.status))
        cells = (when(t.start, now), t.node, t.type, t.id or "-", duration(took), t.user, status)
        rows.append(Row(t.upid, cells, (-t.start, t.node, t.type, t.id, took or 0, t.user, t.status)))
    return rows


def cluster_log_rows(rows: list[LogRow], now: float) -> list[Row]:
    """Newest first (console.ops.tasks.cluster_log sorts them); keys stable across reads."""
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        base = f"{r.time}|{r.node}|{r.tag}|{hash(r.msg)}"
        n = seen[base] = seen.get(base, 0) + 1
        level = SEVERITY.get(r.severity, OFF)
        cells = (when(r.time, now), r.node, mark(level, r.severity), r.tag, r.user,
                 (r.msg, "red" if level == BAD else ""))
        out.append(Row(f"{base}|{n}", cells, (-r.time, r.node, r.severity, r.tag, r.user, r.msg)))
    return out


class TasksScreen(ReadingScreen):
    VIEW = "tasks"
    TITLE_TEXT = "tasks"
    CSS_PATH = "tasks.tcss"
    READ_EVERY = 3.0
    BINDINGS = [
        Binding("o", "order", "Order"),
        Binding("f", "follow", "Follow"),  # only while a log is open (check_action)
    ]
    VIEW_KEYS = [
        ("enter", "open the task's log; a running task is followed until it ends (esc closes)"),
        ("o", "order: running first / newest first"),
        ("f", "in a log: keep the newest line in view on/off"),
        ("/", "filter, e.g. /vzdump /pve2 /112 /✖ (failed) /running"),
        (":clog", "the cluster log"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[TaskRow] = []
        self.running_first = True
        self.log_task: TaskRow | None = None
        self.log_status: str | None = None  # how the open log's task ended ("OK", an error) or "running"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="read-status", markup=False)
        yield FastTable(TASK_COLUMNS, title="tasks · running first", empty_text="no tasks", id="pve-tasks")
        yield LogView(id="task-log")

    @property
    def table(self) -> FastTable:
        return self.query_one("#pve-tasks", FastTable)

    @property
    def log_view(self) -> LogView:
        return self.query_one("#task-log", LogView)

    def on_mount(self) -> None:  # ReadingScreen.on_mount runs after this by itself
        self.table.focus()

    def reading_widgets(self) -> list:
        return [self.table]

    async def read(self) -> list[TaskRow]:
        return await pve_tasks.cluster_tasks(self.sources())

    def show(self, tasks: list[TaskRow]) -> None:
        self.tasks = tasks
        self.table.set_rows(task_rows(tasks, app_of(self).wall_clock(), self.running_first))
        running = sum(t.running for t in tasks)
        failed = sum(not t.running and not t.ok for t in tasks)
        self.query_one("#read-status", Static).update(
            f"{len(tasks)} tasks · {running} running · {failed} failed")

    # ------------------------------------------------------------ keys
    def action_order(self) -> None:
        self.running_first = not self.running_first
        self.table.title = "tasks · running first" if self.running_first else "tasks · newest first"
        self.table.update_title()
        if self.tasks:
            self.show(self.tasks)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "follow":
            return self.has_class("-log")
        return super().check_action(action, parameters)

    def action_follow(self) -> None:
        if self.has_class("-log"):
            on = self.log_view.toggle_follow()
            self.notify("follow on" if on else "follow off: the log stays where it is", timeout=2)

    def on_fast_table_row_selected(self, event: FastTable.RowSelected) -> None:
        task = next((t for t in self.tasks if t.upid == event.key), None)
        if task is not None:
            self.open_log(task)

    def open_log(self, task: TaskRow) -> None:
        self.log_task, self.log_status = task, None
        self.add_class("-log")
        self.log_view.start_stream(f"{task.type} {task.id or ''} on {task.node}".replace("  ", " "),
                                   "reading the task log…")
        self.run_worker(self._follow_log(task), group="task-log", exclusive=True, exit_on_error=False)

    async def _follow_log(self, task: TaskRow) -> None:
        log = self.log_view
        try:
            sources = self.sources()
            _lines, status = await pve_tasks.task_log(sources, task.upid, follow=True,
                                                      on_line=lambda line: log.append_lines([line]))
        except ConsoleError as exc:
            status = f"log not readable: {exc.message}"
        self.log_status = status
        log.append_lines([f"── task {'still running' if status == 'running' else 'ended: ' + status}"])
        log.stop_stream()
        self.read_now()  # the task's row shows its end too

    def close_panes(self) -> bool:
        if not self.has_class("-log"):
            return False
        self.workers.cancel_group(self, "task-log")
        self.remove_class("-log")
        self.log_view.stop_stream()
        self.log_task = None
        self.table.focus()
        return True

    def action_back(self) -> None:
        if self.close_panes():  # esc closes the log before clearing the table's filter
            return
        super().action_back()


class ClusterLogScreen(ReadingScreen):
    VIEW = "clog"
    TITLE_TEXT = "cluster log"
    CSS_PATH = "tasks.tcss"
    READ_EVERY = 5.0
    VIEW_KEYS = [
        ("/", "filter, e.g. /error /pve2 /pvedaemon /!info"),
        (":tasks", "the PVE task list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[LogRow] = []

    def compose_body(self) -> ComposeResult:
        yield Static("", id="read-status", markup=False)
        yield FastTable(CLOG_COLUMNS, title="cluster log", empty_text="the cluster log is empty", id="cluster-log")

    @property
    def table(self) -> FastTable:
        return self.query_one("#cluster-log", FastTable)

    def on_mount(self) -> None:  # ReadingScreen.on_mount runs after this by itself
        self.table.focus()

    def reading_widgets(self) -> list:
        return [self.table]

    async def read(self) -> list[LogRow]:
        return await pve_tasks.cluster_log(self.sources(), CLUSTER_LOG_LINES)

    def show(self, rows: list[LogRow]) -> None:
        self.rows = rows
        self.table.set_rows(cluster_log_rows(rows, app_of(self).wall_clock()))
        errors = sum(r.severity == "error" for r in rows)
        self.query_one("#read-status", Static).update(
            f"{len(rows)} entries" + (f" · {errors} errors" if errors else ""))
