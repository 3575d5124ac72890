"""`:backups`: backup jobs (schedule, storage, selection, how their last run ended), the
last backup of every guest across the backup storages (Proxmox Backup Server ones too),
guests no job covers, failed jobs. The data is the Hub's slowly polled "backups" report
(console/sources/reports.py -> console.ops.backups.backup_report); its findings are the
guests layer's on Health. ctrl+v (vzdump) backs the guest under the cursor up now: storage asked,
sentence confirmed, its vzdump task followed to the end in the log pane. Not ctrl+k: that kills
(hard-stops) a guest in the guests view, and a key means one thing in every view."""

from __future__ import annotations

import time
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from console.errors import ConsoleError
from console.inert import inert
from console.ops.backups import DAY, BackupJob, BackupReport, GuestBackup
from screens import operate
from screens.base import LayerScreen
from screens.reading import app_of
from widgets.fast_table import FastTable
from widgets.format import BAD, OK, UNKNOWN, WARN, mark
from widgets.log_view import LogView
from widgets.table_columns import Column, Row

JOB_COLUMNS = (
    Column("id", "JOB", min_width=6, max_width=20),
    Column("schedule", "SCHEDULE", min_width=5, max_width=16),
    Column("storage", "STORAGE", min_width=5, max_width=16),
    Column("selection", "SELECTION", min_width=8, max_width=40, stretch=True),
    Column("last", "LAST RUN", min_width=11, max_width=11, priority=2),
    Column("result", "RESULT", min_width=8, max_width=30),
)
GUEST_COLUMNS = (
    Column("vmid", "VMID", min_width=4, max_width=6, align="right"),
    Column("name", "NAME", min_width=6, max_width=20),
    Column("node", "NODE", min_width=4, max_width=10, priority=3),
    Column("last", "LAST BACKUP", min_width=11, max_width=11),
    Column("age", "AGE", min_width=5, max_width=7, align="right"),
    Column("storage", "STORAGE", min_width=5, max_width=14, priority=2),
    Column("jobs", "JOBS", min_width=6, max_width=24, stretch=True),
    Column("state", "STATE", min_width=7, max_width=7),
)
STATE = {"fresh": OK, "stale": WARN, "never": BAD, "unknown": UNKNOWN}
READ_AGAIN_AFTER = 60.0  # seconds
PROBLEMS = "re:▲|✖"  # the warning / error marks every status cell carries


def stamp(ts: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def job_row(j: BackupJob) -> Row:
    if not j.enabled:
        result: tuple[str, str] = ("disabled", "dim")
    elif j.last_run is None:
        result = ("no run seen", "dim")
    else:
        result = mark(OK if j.last_run.ok else BAD, j.last_run.status)
    start = j.last_run.start if j.last_run else 0
    cells = (j.id, j.schedule, j.storage, j.selection, stamp(start or None), result)
    return Row(j.id, cells, (j.id, j.schedule, j.storage, j.selection, start, result[0]))


def guest_backup_row(g: GuestBackup, not_covered: set[int]) -> Row:
    jobs = ",".join(g.covered_by) if g.covered_by else mark(WARN, "no job")
    if g.covered_by and g.vmid in not_covered:  # PVE and the job list disagree: say what PVE says
        jobs = mark(WARN, f"{jobs} (PVE: none)")
    age = f"{g.age_s / DAY:.1f}d" if g.age_s is not None else "-"
    cells = (str(g.vmid), g.name, g.node, stamp(g.last.time if g.last else None), age,
             g.last.storage if g.last else "-", jobs, mark(STATE.get(g.state, BAD), g.state))
    sort = (g.vmid, g.name, g.node, g.last.time if g.last else 0, g.age_s if g.age_s is not None else 1e18,
            g.last.storage if g.last else "", ",".join(g.covered_by), g.state)
    return Row(str(g.vmid), cells, sort)


def summary(rep: BackupReport) -> str:
    counts = {s: sum(g.state == s for g in rep.guests) for s in ("fresh", "stale", "never")}
    uncovered = sorted({g.vmid for g in rep.guests if not g.covered_by} | set(rep.not_covered))
    parts = [f"{len(rep.guests)} guests: {counts['fresh']} fresh, {counts['stale']} stale, {counts['never']} never",
             f"max age {rep.max_age_s / DAY:g} d"]
    if uncovered:
        parts.append("no job: " + ",".join(map(str, uncovered)))
    if rep.failed_jobs:
        parts.append(f"{len(rep.failed_jobs)} failed job{'s' if len(rep.failed_jobs) > 1 else ''}")
    if rep.errors:
        parts.append("unreadable: " + "; ".join(f"{node}: {', '.join(e)}" for node, e in rep.errors.items()))
    if rep.unread_nodes:
        parts.append("not read (offline): " + ",".join(rep.unread_nodes))
    return " · ".join(parts)


class BackupsScreen(LayerScreen):
    VIEW = "backups"
    TITLE_TEXT = "backups"
    SOURCES = ("backups",)
    CSS_PATH = "backups.tcss"
    BINDINGS = [
        Binding("ctrl+v", "backup_now", "Backup now"),
        Binding("p", "problems", "Problems only"),
        Binding("f", "follow", "Follow", show=False),
    ]
    MUTATING_ACTIONS = frozenset({"backup_now"})
    VIEW_KEYS = [
        ("tab", "jobs / guests"),
        ("ctrl+v", "on a guest: back it up now (vzdump: asks the storage, confirms, follows its task)"),
        ("p", "problems only: failed jobs, stale and never backed-up guests, guests without a job"),
        ("/", "filter, e.g. /never /pbs /pve2 /no job"),
        ("f", "in the backup's log: keep the newest line in view on/off"),
        ("ctrl+r", "read the backups again now (else every 5 minutes); their findings: Health, guests"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: BackupReport | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="backups-summary", markup=False)
        yield FastTable(JOB_COLUMNS, title="jobs", empty_text="no backup jobs (Datacenter > Backup)", id="backup-jobs")
        yield FastTable(GUEST_COLUMNS, title="guests: last backup", empty_text="no guests", id="backup-guests")
        yield LogView(id="backup-log")

    @property
    def guests_table(self) -> FastTable:
        return self.query_one("#backup-guests", FastTable)

    @property
    def log_view(self) -> LogView:
        return self.query_one("#backup-log", LogView)

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself
        self.guests_table.focus()
        self.read_if_old()

    def on_screen_resume(self) -> None:  # LayerScreen's re-render runs too
        self.read_if_old()

    def read_if_old(self) -> None:
        """Opening the view asks for a new report when the last one is over READ_AGAIN_AFTER old
        (the report is otherwise read every few minutes, or never yet in the first seconds)."""
        app = app_of(self)
        poller = app.hub.pollers.get("backups")
        snap = app.snapshots.get("backups")
        age = snap.age(app.clock()) if snap is not None else None
        if poller is not None and (age is None or age > READ_AGAIN_AFTER):
            poller.poke()

    def loading_widgets(self) -> list:
        # no report poller (no Proxmox source): nothing will arrive, so nothing is loading
        return super().loading_widgets() if "backups" in app_of(self).snapshots else []

    def render_data(self, snapshots, now) -> None:
        rep = self.data_of("backups")
        line = self.query_one("#backups-summary", Static)
        if "backups" not in snapshots:
            line.update("backups are read through the Proxmox source, which this cluster does not have")
        if not isinstance(rep, BackupReport) or rep is self.report:
            return
        self.report = rep
        not_covered = set(rep.not_covered)
        self.query_one("#backup-jobs", FastTable).set_rows(job_row(j) for j in rep.jobs)
        self.guests_table.set_rows(guest_backup_row(g, not_covered) for g in rep.guests)
        line.update(summary(rep))

    # ------------------------------------------------------------ keys
    def action_problems(self) -> None:
        tables = list(self.query(FastTable))
        on = not all(t.filter_text == PROBLEMS for t in tables)
        for t in tables:
            t.set_filter(PROBLEMS if on else "")

    def action_follow(self) -> None:
        if self.has_class("-log"):
            on = self.log_view.toggle_follow()
            self.notify("follow on" if on else "follow off", timeout=2)

    def _guest(self) -> GuestBackup | None:
        key = self.guests_table.cursor_key
        rep = self.report
        if rep is None or key is None or self.focused is not self.guests_table:
            return None
        return next((g for g in rep.guests if str(g.vmid) == key), None)

    def action_backup_now(self) -> None:
        g = self._guest()
        if g is None and not app_of(self).read_only:
            self.notify("put the cursor on a guest in the guests table", title="backup now", severity="warning")
            return
        operate.run_operation(self, "backup now", partial(self._prepare_backup, g))

    async def _prepare_backup(self, g: GuestBackup | None) -> operate.Prepared:
        from console.ops.backups import backup_sentence, backup_storages
        from console.ops.guests import find_guest

        if g is None:
            return None
        sources = app_of(self).actions.sources
        storages = await backup_storages(sources, g.node)
        if not storages:
            raise ConsoleError("backup", f"{g.node} has no backup storage")
        jobs = {j.id: j.storage for j in self.report.jobs} if self.report else {}
        usual = [g.last.storage if g.last else "", *(jobs.get(j, "") for j in g.covered_by)]
        default = next((s for s in usual if s in storages), storages[0])
        storage = await operate.ask(self.app, f"Back up {g.name} ({g.vmid}) on {g.node} to which storage? "
                                    f"Backup storages there: {', '.join(storages)}", default)
        if not storage:
            return None
        if storage not in storages:
            raise ConsoleError("backup", f"{inert(storage)} is not a backup storage on {g.node} "
                               f"(backup storages: {', '.join(storages)})")
        ref = await find_guest(sources, g.vmid)
        return backup_sentence(ref, storage, "snapshot"), partial(self._run_backup, g, storage)

    async def _run_backup(self, g: GuestBackup, storage: str):
        from console.ops.backups import backup_now

        log = self.log_view
        self.add_class("-log")
        log.start_stream(f"backup of {g.name} ({g.vmid}) to {storage}", "starting vzdump…")
        res = await backup_now(app_of(self).actions.sources, g.vmid, storage,
                               progress=lambda line: log.append_lines([line]))
        log.append_lines(["── " + (f"vzdump ended: {res.exitstatus}" if res.exitstatus else res.message)])
        log.stop_stream()
        return res

    def close_panes(self) -> bool:
        if not self.has_class("-log"):
            return False
        self.remove_class("-log")
        self.guests_table.focus()
        return True

    def action_back(self) -> None:
        if self.close_panes():  # esc closes the backup's log before clearing a filter
            return
        super().action_back()
