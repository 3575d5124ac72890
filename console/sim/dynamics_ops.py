"""What the operations of issue 11 do to the simulated lab, over time:
snapshots (create, delete, rollback), guest reboot, vzdump backups and
backup-job runs. Each returns the UPID of a task that runs for a while.

PVE checks a guest's lock and a snapshot's existence inside the worker, so
those failures end the task with PVE's message (the POST still answers a
UPID); parameter and existence checks that pveproxy does first raise SimError.
"""

from __future__ import annotations

import re

from console.sim import guest_pkgs
from console.sim.ops_state import SimSnapshot, add_backup, job_command, ops_of
from console.sim.sim_errors import SimError

SNAPSHOT_SECONDS = 1.5
VMSTATE_SECONDS = 4.0
ROLLBACK_SECONDS = 2.0
BACKUP_SECONDS = 3.0  # per guest
CONFIGID = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-]+$")  # PVE's pve-configid format
RESERVED = ("current", "vzdump", "pending")


def _what(g) -> str:
    return "VM" if g.type == "qemu" else "CT"


def check_snapname(name: str) -> None:
    """The schema check pveproxy does before any worker starts (400)."""
    if len(name) > 40:
        raise SimError(400, "Parameter verification failed.", {"snapname": "value may only be 40 characters long"})
    if not CONFIGID.match(name):
        raise SimError(400, "Parameter verification failed.", {"snapname": f"invalid configuration ID '{name}'"})


def _finish_later(world, task, seconds: float, fn=None) -> None:
    def done():
        err = fn() if fn else None
        world.finish_task(task, err or "OK")

    world.schedule(seconds, done)


def snapshot_create(world, g, name: str, description: str = "", vmstate: bool = False) -> str:
    world.tick()
    check_snapname(name)
    lab = ops_of(world)
    task = world.new_task(g.node, "qmsnapshot" if g.type == "qemu" else "vzsnapshot", str(g.vmid))
    if name in RESERVED:
        world.finish_task(task, f"unable to use snapshot name '{name}' (reserved name)")
        return task.upid
    if g.lock:
        world.finish_task(task, f"{_what(g)} is locked ({g.lock})")
        return task.upid
    if name in lab.snapshots.get(g.vmid, {}):
        world.finish_task(task, f"snapshot name '{name}' already used")
        return task.upid
    refused = guest_pkgs.snapshot_error(world, g)  # h-upgguest: fault snapshot-fails
    if refused:
        world.finish_task(task, refused)
        return task.upid
    vmstate = bool(vmstate) and g.type == "qemu" and g.status == "running"
    g.lock = "snapshot"
    task.log.append(f"snapshotting '{name}' ({'with' if vmstate else 'without'} RAM)")

    def done():
        g.lock = None
        lab.snapshots.setdefault(g.vmid, {})[name] = SimSnapshot(name, lab.current.get(g.vmid), int(world._t),
                                                                description, vmstate)
        lab.current[g.vmid] = name
        guest_pkgs.capture(world, g, name)  # h-upgguest: the guest's packages as they are now
        return None

    _finish_later(world, task, VMSTATE_SECONDS if vmstate else SNAPSHOT_SECONDS, done)
    return task.upid


def snapshot_delete(world, g, name: str) -> str:
    world.tick()
    lab = ops_of(world)
    task = world.new_task(g.node, "qmdelsnapshot" if g.type == "qemu" else "vzdelsnapshot", str(g.vmid))
    snaps = lab.snapshots.get(g.vmid, {})
    if name not in snaps:
        world.finish_task(task, f"snapshot '{name}' does not exist")
        return task.upid
    if g.lock:
        world.finish_task(task, f"{_what(g)} is locked ({g.lock})")
        return task.upid
    g.lock = "snapshot-delete"
    task.log.append(f"delete snapshot '{name}'")

    def done():
        g.lock = None
        gone = snaps.pop(name, None)
        guest_pkgs.forget(world, g, name)  # h-upgguest
        parent = gone.parent if gone else None
        for s in snaps.values():  # children move up to the deleted one's parent, as in PVE
            if s.parent == name:
                s.parent = parent
        if lab.current.get(g.vmid) == name:
            lab.current[g.vmid] = parent
        return None

    _finish_later(world, task, SNAPSHOT_SECONDS, done)
    return task.upid


def snapshot_rollback(world, g, name: str, start: bool = False) -> str:
    """Stop the guest, restore; a VM snapshot with RAM resumes running, otherwise `start` decides."""
    world.tick()
    lab = ops_of(world)
    task = world.new_task(g.node, "qmrollback" if g.type == "qemu" else "vzrollback", str(g.vmid))
    snap = lab.snapshots.get(g.vmid, {}).get(name)
    if snap is None:
        world.finish_task(task, f"snapshot '{name}' does not exist")
        return task.upid
    if g.lock:
        world.finish_task(task, f"{_what(g)} is locked ({g.lock})")
        return task.upid
    g.lock = "rollback"
    if g.status == "running":
        task.log.append(f"stopping {_what(g)} {g.vmid}")
        g.status = "stopped"
    run_after = snap.vmstate or bool(start)

    def done():
        g.lock = None
        lab.current[g.vmid] = name
        guest_pkgs.restore(world, g, name)  # h-upgguest: the packages as the snapshot has them
        if run_after:
            task.log.append(f"starting {_what(g)} {g.vmid}")
            world.desired_running.add(g.vmid)
            g.status = "running"
            g.started_at = world._t
        else:
            world.desired_running.discard(g.vmid)
            if g.ha:
                g.ha_state = "stopped"
        return None

    _finish_later(world, task, ROLLBACK_SECONDS, done)
    return task.upid


def guest_reboot(world, g) -> str:
    world.tick()
    if g.status != "running":
        raise SimError(500, f"{_what(g)} {g.vmid} not running")
    if g.lock:
        raise SimError(500, f"{_what(g)} is locked ({g.lock})")
    task = world.new_task(g.node, "qmreboot" if g.type == "qemu" else "vzreboot", str(g.vmid))

    def down():
        g.status = "stopped"

    def up():
        if world.node_online(g.node):
            g.status = "running"
            g.started_at = world._t
            guest_pkgs.booted(world, g)  # h-upgguest: a VM comes up on its newest kernel
        world.finish_task(task)

    world.schedule(world.duration("guest_shutdown"), down)
    world.schedule(world.duration("guest_shutdown") + world.duration("guest_start"), up)
    return task.upid


def vzdump(world, node: str, vmids: list[int] | None, storage: str, mode: str = "snapshot",
           job_id: str | None = None, command: str | None = None, user: str | None = None) -> str:
    """One vzdump task on `node`: guests elsewhere are skipped, each guest in turn, BACKUP_SECONDS each."""
    world.tick()
    lab = ops_of(world)
    st = lab.storages.get(storage)
    if st is None:
        raise SimError(500, f"storage '{storage}' does not exist")
    if "backup" not in st.content.split(","):
        raise SimError(500, f"storage '{storage}' does not support backups")
    wanted = sorted(vmids) if vmids is not None else sorted(g.vmid for g in world.guests.values() if g.node == node)
    for vmid in wanted:
        if vmid not in world.guests:
            raise SimError(500, f"unable to find VM {vmid}")
    mine = [world.guests[v] for v in wanted if world.guests[v].node == node]
    task = world.new_task(node, "vzdump", str(wanted[0]) if vmids is not None and len(wanted) == 1 else "")
    if user:
        task.user = user
    sel = " ".join(map(str, wanted)) if vmids is not None else "--all 1"
    task.log.append(f"INFO: starting new backup job: {command or f'vzdump {sel} --mode {mode} --storage {storage}'}")
    skipped = [v for v in wanted if world.guests[v].node != node]
    if skipped:
        task.log.append(f"INFO: skip external VMs: {' '.join(map(str, skipped))}")
    errors: list[int] = []

    def one(i: int):
        if i >= len(mine):
            task.log.append("INFO: Backup job finished with errors" if errors
                            else "INFO: Backup job finished successfully")
            world.finish_task(task, "job errors" if errors else "OK")
            return
        g = mine[i]
        what = _what(g)
        task.log.append(f"INFO: Starting Backup of {what} {g.vmid} ({g.type})")
        failing = str(g.vmid) in lab.backup_fail or (job_id is not None and job_id in lab.backup_fail)
        if g.lock:
            task.log.append(f"ERROR: Backup of {what} {g.vmid} failed - {what} is locked ({g.lock})")
            errors.append(g.vmid)
            world.schedule(0.2, one, i + 1)
            return
        g.lock = "backup"

        def finished():
            if g.lock == "backup":
                g.lock = None
            if failing:
                task.log.append(f"ERROR: Backup of {what} {g.vmid} failed - "
                                "job failed with err -5 - Input/output error")
                errors.append(g.vmid)
            else:
                add_backup(world, st, g, world._t, node)
                task.log.append(f"INFO: Finished Backup of {what} {g.vmid} (00:00:{int(BACKUP_SECONDS):02d})")
            one(i + 1)

        world.schedule(BACKUP_SECONDS, finished)

    if not mine:
        task.log.append("INFO: no guests to back up on this node")
    one(0)
    return task.upid


def run_job(world, job_id: str) -> list[str]:
    """What the scheduler does when a job is due: a vzdump task per node with selected guests."""
    lab = ops_of(world)
    job = lab.jobs[job_id]
    nodes = sorted({g.node for g in world.guests.values() if job.selects(g.vmid) and world.node_online(g.node)})
    upids = []
    for node in nodes:
        vmids = [g.vmid for g in world.guests.values() if job.selects(g.vmid) and g.node == node]
        upids.append(vzdump(world, node, vmids, job.storage, job.mode, job_id=job.id, command=job_command(job),
                            user="root@pam"))
    return upids
