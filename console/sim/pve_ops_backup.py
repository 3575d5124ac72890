"""PVE API handlers for backups: storages and their content, backup jobs,
guests no job covers, and vzdump."""

from __future__ import annotations

import re
from typing import Any

from console.sim import dynamics_ops as D
from console.sim.ops_state import ops_of
from console.sim.pve_routes import PveError


def _storage_row(world, node: str, st) -> dict[str, Any]:
    lab = ops_of(world)
    used = sum(b.size for b in lab.backups if b.storage == st.name and (st.shared or b.node == node))
    if st.type in ("rbd", "cephfs"):
        used += int(st.total * 0.2)
    return {"storage": st.name, "type": st.type, "content": st.content, "shared": int(st.shared),
            "active": 1, "enabled": 1, "total": st.total, "used": used, "avail": st.total - used,
            "used_fraction": round(used / st.total, 6)}


async def node_storage(ctx, p):
    world = ctx.world
    rows = []
    for st in ops_of(world).storages.values():
        if "storage" in p and st.name != p["storage"]:
            continue
        if "content" in p and not set(p["content"].split(",")) & set(st.content.split(",")):
            continue
        rows.append(_storage_row(world, p["node"], st))
    return rows


async def storage_content(ctx, p):
    world, node = ctx.world, p["node"]
    lab = ops_of(world)
    st = lab.storages.get(p["storage"])
    if st is None:
        raise PveError(500, f"storage '{p['storage']}' does not exist")
    rows: list[dict[str, Any]] = []
    if "content" in p and p["content"] not in st.content.split(","):
        return rows
    if "content" in p and p["content"] != "backup":
        return rows
    for b in sorted(lab.backups, key=lambda b: (b.vmid, b.ctime)):
        if b.storage != st.name or (not st.shared and b.node != node):
            continue
        if "vmid" in p and b.vmid != p["vmid"]:
            continue
        e: dict[str, Any] = {"volid": b.volid, "format": "pbs-vm" if st.type == "pbs" and b.kind == "qemu"
                             else "pbs-ct" if st.type == "pbs" else ("vma.zst" if b.kind == "qemu" else "tar.zst"),
                             "size": b.size, "ctime": b.ctime, "vmid": b.vmid, "notes": b.notes}
        if st.type == "pbs":
            e["verification"] = {"state": "ok", "upid": f"UPID:pbs:0000{b.vmid:04X}:00000000:{b.ctime:08X}:verify::root@pam:"}
        rows.append(e)
    return rows


async def cluster_backup(ctx, p):
    rows = []
    for job in ops_of(ctx.world).jobs.values():
        e: dict[str, Any] = {"id": job.id, "type": "vzdump", "schedule": job.schedule, "storage": job.storage,
                             "mode": job.mode, "enabled": int(job.enabled), "compress": "zstd",
                             "comment": job.comment}
        if job.all:
            e["all"] = 1
            if job.exclude:
                e["exclude"] = job.exclude
        else:
            e["vmid"] = job.vmid
        if job.node:
            e["node"] = job.node
        e["next-run"] = int(ctx.world.now()) + 3600 * (1 + len(job.id) % 20)
        rows.append(e)
    return rows


async def not_backed_up(ctx, p):
    jobs = [j for j in ops_of(ctx.world).jobs.values() if j.enabled]
    out = []
    for g in sorted(ctx.world.guests.values(), key=lambda g: g.vmid):
        if not any(j.selects(g.vmid) for j in jobs):
            out.append({"vmid": g.vmid, "type": g.type, "name": g.name})
    return out


async def vzdump(ctx, p):
    node = p.get("node") or ctx.local
    if "vmid" not in p and not p.get("all"):
        raise PveError(400, "Parameter verification failed.", {"vmid": "property is missing and it is not optional"})
    vmids = None if p.get("all") else [int(v) for v in re.split(r"[,;\s]+", p["vmid"]) if v]
    storage = p.get("storage", "local")
    return D.vzdump(ctx.world, node, vmids, storage, p.get("mode", "snapshot"))
