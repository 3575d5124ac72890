"""The simulated lab's operations state: snapshots, backup storages and their
content, backup jobs, cluster log entries (what issue 11 reads and writes).

Kept beside the World (``world.ops``), built once by ``seed_ops`` after the
scenario, so the rest of the sim's state stays as it was. Times are sim-clock
epoch seconds like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.sim.state import GiB, PveTask

DAY = 86400.0


@dataclass
class SimSnapshot:
    name: str
    parent: str | None
    snaptime: int
    description: str = ""
    vmstate: bool = False  # VM RAM included (VMs only)


@dataclass
class SimStorage:
    name: str
    type: str  # "dir" | "rbd" | "cephfs" | "pbs"
    content: str  # "iso,vztmpl,backup"
    shared: bool
    total: int


@dataclass
class SimBackup:
    storage: str
    volid: str
    vmid: int
    kind: str  # "qemu" | "lxc"
    ctime: int
    size: int
    node: str  # where a backup on a node-local storage lives
    notes: str = ""


@dataclass
class SimBackupJob:
    id: str
    schedule: str
    storage: str
    vmid: str | None = None  # "101,102" or None with all=True
    all: bool = False
    exclude: str | None = None
    mode: str = "snapshot"
    enabled: bool = True
    comment: str = ""
    node: str | None = None

    def selects(self, vmid: int) -> bool:
        if self.all:
            return vmid not in _ids(self.exclude)
        return vmid in _ids(self.vmid)


def _ids(text: str | None) -> set[int]:
    return {int(v) for v in (text or "").replace(";", ",").replace(" ", ",").split(",") if v.strip().isdigit()}


@dataclass
class OpsLab:
    snapshots: dict[int, dict[str, SimSnapshot]] = field(default_factory=dict)  # vmid -> name -> snapshot
    current: dict[int, str | None] = field(default_factory=dict)  # vmid -> the snapshot "current" derives from
    storages: dict[str, SimStorage] = field(default_factory=dict)
    backups: list[SimBackup] = field(default_factory=list)
    jobs: dict[str, SimBackupJob] = field(default_factory=dict)
    backup_fail: set[str] = field(default_factory=set)  # fault backup-fail: job ids and vmids (as text)
    injected_local: set[int] = field(default_factory=set)  # fault local-resource
    injected_locks: set[int] = field(default_factory=set)  # fault guest-lock
    log_seed: list[dict] = field(default_factory=list)  # cluster log lines besides the task start/end lines


def ops_of(world) -> OpsLab:
    lab = getattr(world, "ops", None)
    if lab is None:
        lab = world.ops = OpsLab()
    return lab


def past_task(world, node: str, type_: str, id_: str, start: float, seconds: float, log: list[str],
              status: str = "OK", user: str = "root@pam") -> PveTask:
    """A task that ran before the sim started (scheduled backups of the last days)."""
    pid = next(world._pid)
    pstart = 1_000_000 - int(world._t - start)
    upid = f"UPID:{node}:{pid:08X}:{max(pstart, 1):08X}:{int(start):08X}:{type_}:{id_}:{user}:"
    t = PveTask(upid=upid, node=node, type=type_, id=id_, user=user, starttime=start, pid=pid,
                pstart=max(pstart, 1), endtime=start + seconds, exitstatus=status,
                log=[*log, "TASK OK" if status == "OK" else f"TASK ERROR: {status}"])
    world.pve_tasks[upid] = t
    return t


def backup_volid(world, storage: SimStorage, g, ctime: float) -> str:
    import time as _time

    stamp = _time.strftime("%Y_%m_%d-%H_%M_%S", _time.gmtime(ctime))
    if storage.type == "pbs":
        iso = _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(ctime))
        return f"{storage.name}:backup/{'vm' if g.type == 'qemu' else 'ct'}/{g.vmid}/{iso}"
    ext = "vma.zst" if g.type == "qemu" else "tar.zst"
    return f"{storage.name}:backup/vzdump-{g.type}-{g.vmid}-{stamp}.{ext}"


def add_backup(world, storage: SimStorage, g, ctime: float, node: str) -> SimBackup:
    b = SimBackup(storage=storage.name, volid=backup_volid(world, storage, g, ctime), vmid=g.vmid, kind=g.type,
                  ctime=int(ctime), size=int(g.maxdisk * 0.18) + g.vmid * 1024, node=node, notes=g.name)
    ops_of(world).backups.append(b)
    return b


def job_command(job: SimBackupJob) -> str:
    sel = "--all 1" + (f" --exclude {job.exclude}" if job.exclude else "") if job.all else (job.vmid or "").replace(",", " ")
    return f"vzdump {sel} --mode {job.mode} --storage {job.storage} --compress zstd --quiet 1"


def _job_run_in_past(world, job: SimBackupJob, start: float, fail: set[int] = frozenset()) -> None:
    """The record a scheduled run left: one vzdump task per node, backups for those that worked."""
    lab = ops_of(world)
    storage = lab.storages[job.storage]
    by_node: dict[str, list] = {}
    for g in sorted(world.guests.values(), key=lambda g: g.vmid):
        if job.selects(g.vmid):
            by_node.setdefault(g.node, []).append(g)
    for node, guests in sorted(by_node.items()):
        log = [f"INFO: starting new backup job: {job_command(job)}"]
        errors = 0
        for i, g in enumerate(guests):
            what = "VM" if g.type == "qemu" else "CT"
            log.append(f"INFO: Starting Backup of {what} {g.vmid} ({g.type})")
            if g.vmid in fail:
                log.append(f"ERROR: Backup of {what} {g.vmid} failed - job failed with err -5 - Input/output error")
                errors += 1
                continue
            add_backup(world, storage, g, start + 30 * i, node)
            log.append(f"INFO: Finished Backup of {what} {g.vmid} (00:00:30)")
        log.append("INFO: Backup job finished with errors" if errors else "INFO: Backup job finished successfully")
        past_task(world, node, "vzdump", "", start, 30.0 * len(guests) + 5, log,
                  status="job errors" if errors else "OK")


def seed_ops(world) -> None:
    """Snapshots, storages, jobs and the backups of the last days, for any scenario."""
    lab = ops_of(world)
    now = world._t
    lab.storages = {s.name: s for s in (
        SimStorage("local", "dir", "iso,vztmpl,backup", False, 94 * GiB),
        SimStorage("ceph-vm", "rbd", "images,rootdir", True, 900 * GiB),
        SimStorage("cephfs", "cephfs", "vztmpl,iso,backup", True, 900 * GiB),
        SimStorage("pbs", "pbs", "backup", True, 2048 * GiB),
    )}
    guests = world.guests
    if getattr(world, "scenario", None) == "large" or len(guests) > 40:
        lab.jobs = {"daily-pbs": SimBackupJob("daily-pbs", "21:00", "pbs", all=True, exclude="101,102",
                                              comment="every guest, nightly")}
        _job_run_in_past(world, lab.jobs["daily-pbs"], now - 0.9 * DAY)
        return
    lab.jobs = {
        "daily-pbs": SimBackupJob("daily-pbs", "21:00", "pbs", vmid="101,102,110,112,200,201",
                                  comment="services, nightly to the backup server"),
        "weekly-local": SimBackupJob("weekly-local", "sun 02:00", "local", vmid="121,122,123",
                                     comment="swarm managers"),
    }
    for days in (2, 1):
        _job_run_in_past(world, lab.jobs["daily-pbs"], now - days * DAY + 3600)
    _job_run_in_past(world, lab.jobs["weekly-local"], now - 3 * DAY)
    if 111 in guests:  # one manual backup, long ago, of a guest no job covers
        add_backup(world, lab.storages["local"], guests[111], now - 20 * DAY, guests[111].node)
    snaps = {201: [("before-upgrade", "before the PostgreSQL 16 upgrade", False, 12),
                   ("weekly", "weekly checkpoint", False, 4)],
             110: [("ha-2024-11", "Home Assistant 2024.11 working", True, 9)]}
    for vmid, rows in snaps.items():
        if vmid not in guests:
            continue
        parent = None
        for name, desc, vmstate, age in rows:
            lab.snapshots.setdefault(vmid, {})[name] = SimSnapshot(name, parent, int(now - age * DAY), desc,
                                                                  vmstate and guests[vmid].type == "qemu")
            parent = name
        lab.current[vmid] = parent
    lab.log_seed = [
        {"time": int(now - 2 * DAY), "pri": 6, "tag": "pvedaemon", "node": "pve1", "user": "root@pam",
         "msg": "<root@pam> successful auth for user 'root@pam'"},
        {"time": int(now - 3600), "pri": 5, "tag": "pmxcfs", "node": "pve2", "user": "root@pam",
         "msg": "[status] notice: received log"},
    ]
