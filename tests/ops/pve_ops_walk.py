"""The operations endpoints (issue 11) for the PVE conformance walk in
tests/sim/test_pve_conformance.py: reads for every node/guest/storage, and one
of each write, every answer checked against apidata.json by the Recorder."""

from __future__ import annotations

import asyncio
from typing import Any

# Fields real PVE sends that its schema does not list (the task list entries
# are those of /nodes/{node}/tasks; config keys with an index are "net[n]" there).
OPS_KNOWN_UNDOCUMENTED: dict[str, set[str]] = {
    "GET /cluster/tasks": {"node", "pid", "pstart", "starttime", "type", "id", "user", "endtime", "status"},
    "GET /cluster/backup": {"type"},
    "GET /nodes/{node}/qemu/{vmid}/snapshot": {"running"},
    "GET /nodes/{node}/lxc/{vmid}/snapshot": {"running"},
    "GET /nodes/{node}/qemu/{vmid}/config": {"scsi0", "net0", "hostpci0"},
    "GET /nodes/{node}/lxc/{vmid}/config": {"net0", "parent"},
}


async def walk_ops_reads(rec: Any, world: Any) -> None:
    await rec.call("GET", "/cluster/backup", "/cluster/backup")
    await rec.call("GET", "/cluster/backup-info/not-backed-up", "/cluster/backup-info/not-backed-up")
    await rec.call("GET", "/cluster/tasks", "/cluster/tasks")
    await rec.call("GET", "/cluster/log", "/cluster/log")
    await rec.call("GET", "/cluster/log", "/cluster/log", max=5)
    await rec.call("GET", "/cluster/replication", "/cluster/replication")
    for n in [n for n in world.nodes if world.node_online(n)]:
        for st in await rec.call("GET", "/nodes/{node}/storage", f"/nodes/{n}/storage"):
            for content in (None, "backup"):
                await rec.call("GET", "/nodes/{node}/storage/{storage}/content",
                               f"/nodes/{n}/storage/{st['storage']}/content",
                               **({"content": content} if content else {}))
        await rec.call("GET", "/nodes/{node}/storage", f"/nodes/{n}/storage", content="backup")
        await rec.call("GET", "/nodes/{node}/subscription", f"/nodes/{n}/subscription")  # h-operate2
        await rec.call("GET", "/nodes/{node}/apt/repositories", f"/nodes/{n}/apt/repositories")  # h-operate2
        for g in [g for g in world.guests.values() if g.node == n]:
            base = f"/nodes/{n}/{g.type}/{g.vmid}"
            await rec.call("GET", f"/nodes/{{node}}/{g.type}/{{vmid}}/snapshot", f"{base}/snapshot")
            await rec.call("GET", f"/nodes/{{node}}/{g.type}/{{vmid}}/config", f"{base}/config")
            if g.type == "lxc":
                await rec.call("GET", "/nodes/{node}/lxc/{vmid}/migrate", f"{base}/migrate")
            if g.status == "running":  # h-guestui: the detail pane's addresses
                path = "agent/network-get-interfaces" if g.type == "qemu" else "interfaces"
                await rec.call("GET", f"/nodes/{{node}}/{g.type}/{{vmid}}/{path}", f"{base}/{path}")


async def walk_ops_writes(rec: Any, world: Any) -> None:
    """One of each write, on guests nothing else is doing something to."""
    def free(kind: str, running: bool = True):
        return next(g for g in sorted(world.guests.values(), key=lambda g: g.vmid)
                    if g.type == kind and not g.lock and world.node_online(g.node)
                    and (g.status == "running") == running and g.vmid not in (101, 102))

    seeded = {"qemu": (110, "ha-2024-11"), "lxc": (201, "weekly")}  # console/sim/ops_state.py seed_ops
    for kind in ("qemu", "lxc"):
        t = f"/nodes/{{node}}/{kind}/{{vmid}}"
        vmid, snap = seeded[kind]
        g = world.guests[vmid]
        base = f"/nodes/{g.node}/{kind}/{vmid}"
        if g.status != "running":  # an earlier write of the walk stopped it
            await rec.call("POST", f"{t}/status/start", f"{base}/status/start")
            await asyncio.sleep(world.real_seconds(world.duration("guest_start") + 1))
        await rec.call("POST", f"{t}/status/reboot", f"{base}/status/reboot", timeout=30)
        extra = {"vmstate": 1} if kind == "qemu" else {}
        await rec.call("POST", f"{t}/snapshot", f"{base}/snapshot", snapname="conformance", description="walk", **extra)
        await asyncio.sleep(world.real_seconds(5.0))  # the snapshot is taken
        await rec.call("POST", f"{t}/snapshot/{{snapname}}/rollback", f"{base}/snapshot/{snap}/rollback", start=1)
        await rec.call("DELETE", f"{t}/snapshot/{{snapname}}", f"{base}/snapshot/nothing-here")
    world.inject("enterprise-repo", "pve1")  # h-operate2: the repositories of a trapped node are read from here on
    g = free("qemu")
    await rec.call("POST", "/nodes/{node}/vzdump", f"/nodes/{g.node}/vzdump", vmid=str(g.vmid), storage="pbs",
                   mode="snapshot")
