"""Snapshots of a guest: the tree (parent, date, description, RAM), create,
roll back (PVE stops the guest; with RAM, or asked to, it runs again after),
delete. Names are checked as PVE checks them before anything is sent."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import DEFAULT_TIMEOUT, ActionResult, Progress, failed, follow, guard, pve
from console.ops.guests import GuestRef, find_guest

NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-]+$")  # PVE's pve-configid
RESERVED = ("current", "vzdump", "pending")
MAX_NAME = 40


@dataclass(frozen=True)
class Snapshot:
    name: str
    parent: str | None
    time: int | None
    description: str
    vmstate: bool


@dataclass
class SnapshotList:
    guest: GuestRef
    snapshots: list[Snapshot]
    current_parent: str | None  # the snapshot the running state derives from ("You are here")

    def tree(self) -> list[tuple[int, Snapshot]]:
        """(depth, snapshot), parents before children, siblings by time."""
        kids: dict[str | None, list[Snapshot]] = {}
        names = {s.name for s in self.snapshots}
        for s in self.snapshots:
            kids.setdefault(s.parent if s.parent in names else None, []).append(s)
        out: list[tuple[int, Snapshot]] = []

        def walk(parent: str | None, depth: int) -> None:
            for s in sorted(kids.get(parent, []), key=lambda s: (s.time or 0, s.name)):
                out.append((depth, s))
                walk(s.name, depth + 1)

        walk(None, 0)
        return out


def check_name(name: str) -> None:
    if not name:
        raise ConsoleError("snapshot", "a snapshot needs a name")
    if len(name) > MAX_NAME:
        raise ConsoleError("snapshot", f"name {inert(name)!r} is {len(name)} characters; PVE allows {MAX_NAME}")
    if name in RESERVED:
        raise ConsoleError("snapshot", f"{name!r} is a reserved name in PVE", "choose another name")
    if not NAME_RE.match(name):
        raise ConsoleError("snapshot", f"PVE refuses the name {inert(name)!r}: it must start with a letter and "
                           "contain only letters, digits, '-' and '_' (at least 2 characters)")


async def list_snapshots(sources: Any, vmid: int, guest: GuestRef | None = None) -> SnapshotList:
    g = guest or await find_guest(sources, vmid)
    rows = await pve(sources).snapshots(g.node, g.type, vmid)
    snaps, current = [], None
    for r in rows:
        name = inert(r.get("name", ""))
        parent = inert(r["parent"]) if r.get("parent") else None
        if name == "current":
            current = parent
            continue
        t = r.get("snaptime")
        snaps.append(Snapshot(name, parent, int(t) if isinstance(t, (int, float)) else None,
                              inert(r.get("description", "")), bool(r.get("vmstate"))))
    return SnapshotList(g, snaps, current)


def create_sentence(g: GuestRef, name: str, description: str, vmstate: bool) -> str:
    ram = " including its RAM" if vmstate and g.type == "qemu" else ""
    desc = f" ({description})" if description else ""
    return f"Take snapshot {name!r}{desc} of {g.label}{ram}."


async def create(sources: Any, vmid: int, name: str, description: str = "", vmstate: bool = False,
                 progress: Progress | None = None, follow_timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    t0 = time.monotonic()
    g = await find_guest(sources, vmid)
    res = ActionResult("snapshot", str(vmid), create_sentence(g, name, description, vmstate))
    guard(sources, f"snapshot {g.label}")
    try:
        check_name(name)
        if vmstate and g.type != "qemu":
            raise ConsoleError("snapshot", f"{g.label} is a container: only VMs can save their RAM")
        ops = pve(sources)
        upid = await ops.snapshot_create(g.node, g.type, vmid, name, description, vmstate)
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)


def rollback_sentence(g: GuestRef, snap: Snapshot | None, name: str, start: bool) -> str:
    after = "it runs again after (the snapshot has its RAM)" if snap and snap.vmstate else (
        "then start it" if start else "it stays stopped after")
    stop = "stop it (PVE does), " if g.status == "running" else ""
    return f"Roll {g.label} back to snapshot {name!r}: {stop}discard everything since, {after}."


async def rollback(sources: Any, vmid: int, name: str, start: bool = False, progress: Progress | None = None,
                   follow_timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    t0 = time.monotonic()
    lst = await list_snapshots(sources, vmid)
    g = lst.guest
    snap = next((s for s in lst.snapshots if s.name == name), None)
    res = ActionResult("rollback", str(vmid), rollback_sentence(g, snap, name, start))
    guard(sources, f"roll {g.label} back to {name}")
    try:
        if snap is None:
            have = ", ".join(s.name for s in lst.snapshots) or "none"
            raise ConsoleError("rollback", f"{g.label} has no snapshot {inert(name)!r} (it has: {have})")
        ops = pve(sources)
        upid = await ops.snapshot_rollback(g.node, g.type, vmid, name, start=start)
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)


def delete_sentence(g: GuestRef, name: str) -> str:
    return f"Delete snapshot {name!r} of {g.label} (the guest keeps running)."


async def delete(sources: Any, vmid: int, name: str, progress: Progress | None = None,
                 follow_timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    t0 = time.monotonic()
    lst = await list_snapshots(sources, vmid)
    g = lst.guest
    res = ActionResult("delete-snapshot", str(vmid), delete_sentence(g, name))
    guard(sources, f"delete snapshot {name} of {g.label}")
    try:
        if not any(s.name == name for s in lst.snapshots):
            have = ", ".join(s.name for s in lst.snapshots) or "none"
            raise ConsoleError("snapshot", f"{g.label} has no snapshot {inert(name)!r} (it has: {have})")
        ops = pve(sources)
        upid = await ops.snapshot_delete(g.node, g.type, vmid, name)
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)
