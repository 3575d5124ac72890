"""PVE API handlers for guest operations: snapshots, reboot, config, the CT migrate preconditions."""

from __future__ import annotations

import hashlib
from typing import Any

from console.sim import dynamics_ops as D
from console.sim import guest_pkgs
from console.sim import pve_render as R
from console.sim.ops_state import ops_of
from console.sim.pve_routes import PveError


def guest(ctx, node: str, vmid: int, kind: str):
    g = ctx.world.guests.get(vmid)
    if g is None or g.node != node or g.type != kind:
        conf = "qemu-server" if kind == "qemu" else "lxc"
        raise PveError(500, f"Configuration file 'nodes/{node}/{conf}/{vmid}.conf' does not exist")
    return g


def snapshot_list(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        lab = ops_of(ctx.world)
        rows: list[dict[str, Any]] = []
        for s in sorted(lab.snapshots.get(g.vmid, {}).values(), key=lambda s: s.snaptime):
            e: dict[str, Any] = {"name": s.name, "description": s.description, "snaptime": s.snaptime}
            if s.parent:
                e["parent"] = s.parent
            if kind == "qemu":
                e["vmstate"] = int(s.vmstate)
            rows.append(e)
        now: dict[str, Any] = {"name": "current", "description": "You are here!",
                               "running": int(R.guest_running(ctx.world, g))}
        if lab.current.get(g.vmid):
            now["parent"] = lab.current[g.vmid]
        rows.append(now)
        return rows

    return handler


def snapshot_create(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        return D.snapshot_create(ctx.world, g, p["snapname"], p.get("description", ""),
                    bool(p.get("vmstate")))

    return handler


def snapshot_delete(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        return D.snapshot_delete(ctx.world, g, p["snapname"])

    return handler


def snapshot_rollback(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        return D.snapshot_rollback(ctx.world, g, p["snapname"], bool(p.get("start")))

    return handler


def reboot(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        return D.guest_reboot(ctx.world, g)

    return handler


def config(kind):
    async def handler(ctx, p):
        g = guest(ctx, p["node"], p["vmid"], kind)
        lab = ops_of(ctx.world)
        mem_mib = g.maxmem // 1024**2
        out: dict[str, Any] = {"cores": g.cpus, "onboot": int(g.vmid in ctx.world.desired_running)}
        if kind == "qemu":
            out.update({"name": g.name, "memory": str(mem_mib), "sockets": 1, "ostype": "l26",
                        "scsihw": "virtio-scsi-single", "boot": "order=scsi0;net0",
                        "agent": "1" if guest_pkgs.pkgs(ctx.world, g.vmid).agent else "0",  # h-upgguest
                        "scsi0": f"ceph-vm:vm-{g.vmid}-disk-0,iothread=1,size={g.maxdisk // 1024**3}G",
                        "net0": f"virtio=BC:24:11:{g.vmid % 256:02X}:00:01,bridge=vmbr0"})
            for i, _dev in enumerate(r for r in g.local_resources if r.startswith("hostpci")):
                out[f"hostpci{i}"] = f"0000:0{i}:00.0,pcie=1"
        else:
            out.update({"hostname": g.name, "memory": mem_mib, "swap": 512, "ostype": "debian", "arch": "amd64",
                        "unprivileged": 1, "rootfs": f"ceph-vm:vm-{g.vmid}-disk-0,size={g.maxdisk // 1024**3}G",
                        "net0": f"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:{g.vmid % 256:02X}:00:01,ip=dhcp"})
        if g.tags:
            out["tags"] = ";".join(g.tags)
        if g.lock:
            out["lock"] = g.lock
        if lab.current.get(g.vmid):
            out["parent"] = lab.current[g.vmid]
        out["digest"] = hashlib.sha1(repr(sorted(out.items())).encode()).hexdigest()
        return out

    return handler


async def lxc_migrate_precondition(ctx, p):
    world, node = ctx.world, p["node"]
    g = guest(ctx, node, p["vmid"], "lxc")
    if "target" in p and p["target"] not in world.nodes:
        raise PveError(500, f"no such cluster node '{p['target']}'")
    return {"running": int(R.guest_running(world, g)),
            "allowed-nodes": [n for n in world.nodes if n != node], "not-allowed-nodes": {}}
