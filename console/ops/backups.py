"""Backups: jobs (/cluster/backup) with the result of their last run (read
from the vzdump tasks), the last backup of every guest across the backup
storages (Proxmox Backup Server ones too), guests no job covers, failed jobs;
and "back up now" for one guest (POST /nodes/{node}/vzdump)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import DEFAULT_TIMEOUT, ActionResult, Progress, failed, follow, guard, pve
from console.ops.guests import GuestRef, find_guest, list_guests, list_nodes

DAY = 86400.0
JOB_RUNS_READ = 40  # newest vzdump tasks whose first log line is read to tell which job ran them
RUN_WINDOW = 3 * 3600  # tasks of one scheduled run (one per node) start within this of each other


@dataclass(frozen=True)
class BackupCopy:
    vmid: int
    storage: str
    storage_type: str
    volid: str
    time: int
    size: int


@dataclass
class JobRun:
    start: int
    ok: bool
    status: str  # "OK" / "job errors" / ... (several nodes: the worst)
    upids: list[str] = field(default_factory=list)


@dataclass
class BackupJob:
    id: str
    schedule: str
    storage: str
    selection: str  # "101,102" / "all" / "all except 101"
    enabled: bool
    mode: str
    comment: str
    vmids: tuple[int, ...]  # () with all
    all: bool
    exclude: tuple[int, ...]
    last_run: JobRun | None = None

    def selects(self, vmid: int) -> bool:
        return vmid not in self.exclude if self.all else vmid in self.vmids


@dataclass
class GuestBackup:
    vmid: int
    name: str
    type: str
    node: str
    covered_by: list[str]  # job ids
    last: BackupCopy | None
    age_s: float | None
    state: str  # "fresh" | "stale" | "never" | "unknown" (no fresh copy seen, and where it may be was not read)


@dataclass
class BackupReport:
    now: float
    max_age_s: float
    jobs: list[BackupJob]
    guests: list[GuestBackup]
    not_covered: list[int]  # /cluster/backup-info/not-backed-up
    storages: dict[str, str]  # backup storage -> type
    errors: dict[str, list[str]] = field(default_factory=dict)  # node -> its backup storages not readable
    unread_nodes: list[str] = field(default_factory=list)  # offline: their local backup storages were not read

    @property
    def failed_jobs(self) -> list[BackupJob]:
        return [j for j in self.jobs if j.enabled and j.last_run is not None and not j.last_run.ok]

    def exit_code(self) -> int:
        """0 all fresh, 1 some stale (or not readable), 2 some never backed up or a last job failed (as `check`)."""
        if self.failed_jobs or any(g.state == "never" for g in self.guests):
            return 2
        if any(g.state in ("stale", "unknown") for g in self.guests) or self.errors:  # unknown: not confirmed fresh
            return 1
        return 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["failed_jobs"] = [j.id for j in self.failed_jobs]
        d["exit_code"] = self.exit_code()
        return d


def _ids(text: Any) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in re.split(r"[,;\s]+", str(text or "")) if v.isdigit()}))


def job_from(row: dict) -> BackupJob:
    all_ = bool(int(row.get("all") or 0))
    vmids, exclude = _ids(row.get("vmid")), _ids(row.get("exclude"))
    if all_:
        sel = "all" + (f" except {','.join(map(str, exclude))}" if exclude else "")
    elif row.get("pool"):
        sel = f"pool {inert(row['pool'])}"
    else:
        sel = ",".join(map(str, vmids))
    return BackupJob(id=inert(row.get("id", "")), schedule=inert(row.get("schedule", row.get("starttime", ""))),
                     storage=inert(row.get("storage", "")), selection=sel,
                     enabled=bool(int(row.get("enabled", 1) or 0)), mode=inert(row.get("mode", "snapshot")),
                     comment=inert(row.get("comment", "")), vmids=vmids, all=all_, exclude=exclude)


def _run_matches(job: BackupJob, first_line: str) -> bool:
    """Does a vzdump task's first line ("INFO: starting new backup job: vzdump 101 102 --storage pbs ...")
    belong to this job?"""
    m = re.search(r"starting new backup job: vzdump\s+(.*)$", first_line)
    if not m:
        return False
    args = m.group(1)
    st = re.search(r"--storage\s+(\S+)", args)
    if st is None or st.group(1) != job.storage:
        return False
    if job.all:
        return "--all 1" in args
    ids = _ids(args.split("--")[0])
    return bool(ids) and set(ids) <= set(job.vmids)


async def _last_runs(ops: Any, jobs: list[BackupJob], tasks: list[dict]) -> None:
    runs = [t for t in tasks if t.get("type") == "vzdump" and not t.get("id")]  # job runs (backup-now has an id)
    runs.sort(key=lambda t: int(t.get("starttime") or 0), reverse=True)
    for t in runs[:JOB_RUNS_READ]:
        if all(j.last_run is not None and int(t.get("starttime") or 0) < j.last_run.start - RUN_WINDOW for j in jobs):
            break
        node, upid = str(t.get("node", "")), str(t.get("upid", ""))
        try:
            first = (await ops.task_log(node, upid, start=0))[:1]
        except ConsoleError:
            continue
        if not first:
            continue
        start = int(t.get("starttime") or 0)
        running = "endtime" not in t and not t.get("status")
        status = "running" if running else inert(t.get("status", "unknown"))
        for j in jobs:
            if not _run_matches(j, inert(first[0])):
                continue
            if j.last_run is None:
                j.last_run = JobRun(start, status in ("OK", "running"), status, [upid])
            elif start >= j.last_run.start - RUN_WINDOW:  # another node's part of the same run
                j.last_run.upids.append(upid)
                if status not in ("OK", "running"):
                    j.last_run.ok, j.last_run.status = False, status


@dataclass
class _Read:
    """What reading the backup storages gave: the copies, and what could not be read."""

    copies: list[BackupCopy] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # storage -> type
    local: set[str] = field(default_factory=set)  # the node-local backup storages seen
    errors: dict[str, list[str]] = field(default_factory=dict)  # node -> what could not be read there
    unread_shared: set[str] = field(default_factory=set)  # shared storages no node could read

    def failed(self, node: str, what: str) -> None:
        self.errors.setdefault(node, []).append(what)


async def _copies(ops: Any, nodes: list[str]) -> _Read:
    """Every backup on every backup storage: shared ones read once (through the next node when
    one node cannot read them), node-local ones on each node."""
    out = _Read()
    seen_shared: set[str] = set()
    shared_failed: dict[str, tuple[str, str]] = {}  # storage -> (node, error) while no node read it
    for node in nodes:
        try:
            storages = await ops.storages(node, content="backup")
        except ConsoleError as exc:
            out.failed(node, exc.message)
            continue
        for st in storages:
            name = inert(st.get("storage", ""))
            shared = bool(int(st.get("shared") or 0))
            if shared and name in seen_shared:
                continue
            if not shared:
                out.local.add(name)
            out.kinds[name] = inert(st.get("type", ""))
            try:
                rows = await ops.storage_content(node, name, "backup")
            except ConsoleError as exc:
                if shared:
                    shared_failed[name] = (node, exc.message)
                else:
                    out.failed(node, f"{name}: {exc.message}")
                continue
            if shared:
                seen_shared.add(name)
                shared_failed.pop(name, None)
            for r in rows:
                if r.get("vmid") is None:
                    continue
                out.copies.append(BackupCopy(int(r["vmid"]), name, out.kinds[name], inert(r.get("volid", "")),
                                             int(r.get("ctime") or 0), int(r.get("size") or 0)))
    for name, (node, message) in shared_failed.items():
        out.failed(node, f"{name}: {message}")
        out.unread_shared.add(name)
    return out


async def backup_report(sources: Any, max_age_days: float = 7.0, now: float | None = None) -> BackupReport:
    ops = pve(sources)
    now = time.time() if now is None else now
    jobs = [job_from(r) for r in await ops.backup_jobs()]
    not_covered = [int(r["vmid"]) for r in await ops.not_backed_up() if r.get("vmid") is not None]
    await _last_runs(ops, jobs, await ops.cluster_tasks())
    guests = await list_guests(sources)
    nodes = await list_nodes(sources)
    online = [n.name for n in nodes if n.online]
    unread = sorted(n.name for n in nodes if not n.online)
    read = await _copies(ops, online)
    # a node whose backup storages could not all be read (going down, its API failing) is unread too
    blind = set(unread) | set(read.errors)
    newest: dict[int, BackupCopy] = {}
    for c in read.copies:
        if c.vmid not in newest or c.time > newest[c.vmid].time:
            newest[c.vmid] = c
    max_age = max_age_days * DAY
    rows = []
    for g in guests:
        last = newest.get(g.vmid)
        age = now - last.time if last else None
        state = "never" if age is None else ("stale" if age > max_age else "fresh")
        covering = [j for j in jobs if j.enabled and j.selects(g.vmid)]
        # its newer copy may be on an unread node's own storage: its node's, or (it migrated) where a job
        # wrote it; or on a shared storage no node could read
        elsewhere = g.node in blind or any((blind and j.storage in read.local) or j.storage in read.unread_shared
                                           for j in covering)
        if state != "fresh" and elsewhere:
            state = "unknown"
        rows.append(GuestBackup(g.vmid, g.name, g.type, g.node, [j.id for j in covering], last, age, state))
    return BackupReport(now, max_age, jobs, rows, not_covered, read.kinds, read.errors, unread)


def backup_sentence(g: GuestRef, storage: str, mode: str) -> str:
    how = {"snapshot": "while it runs (snapshot mode)", "suspend": "suspending it meanwhile",
           "stop": "stopping it meanwhile"}.get(mode, mode)
    return f"Back up {g.label} now to storage {storage}, {how}."


async def backup_storages(sources: Any, node: str) -> list[str]:
    return [inert(s.get("storage", "")) for s in await pve(sources).storages(node, content="backup")]


async def backup_now(sources: Any, vmid: int, storage: str | None = None, mode: str = "snapshot",
                     progress: Progress | None = None, follow_timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    t0 = time.monotonic()
    g = await find_guest(sources, vmid)
    avail = await backup_storages(sources, g.node)
    chosen = storage or (next((s for s in avail if s == "pbs"), None) or (avail[0] if avail else ""))
    res = ActionResult("backup", str(vmid), backup_sentence(g, chosen, mode))
    guard(sources, f"back up {g.label}")
    try:
        if chosen not in avail:
            raise ConsoleError("backup", f"{inert(chosen) or 'no storage'} is not a backup storage on {g.node} "
                               f"(backup storages: {', '.join(avail) or 'none'})")
        ops = pve(sources)
        upid = await ops.vzdump(g.node, vmid, chosen, mode)
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)


async def preflight_warnings(sources: Any, node: str, max_age_days: float = 7.0) -> list[str]:
    """For the maintenance preflight: guests on `node` without a recent backup (a warning, never a block)."""
    report = await backup_report(sources, max_age_days)
    out = []
    for g in report.guests:
        if g.node != node or g.state == "fresh":
            continue
        if g.state == "never":
            out.append(f"{g.name} ({g.vmid}) has never been backed up")
        elif g.state == "unknown":
            out.append(f"{g.name} ({g.vmid}): its backups are not known ({g.node} is down)")
        else:
            out.append(f"{g.name} ({g.vmid}): last backup {(g.age_s or 0.0) / DAY:.1f} days ago")
    return out


async def preflight_note(sources: Any, node: str, max_age_days: float, progress: Progress) -> None:
    """The maintenance preflight's backup warning: said through `progress`; a read failure is said, not raised."""
    try:
        warnings = await preflight_warnings(sources, node, max_age_days)
    except ConsoleError as exc:
        progress(f"warning: backups not checked: {exc.message}")
        return
    for w in warnings:
        progress(f"warning: {w} (maintenance goes ahead)")
