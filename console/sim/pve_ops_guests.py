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


def _mac(g) -> str:
    return f"BC:24:11:{g.vmid % 256:02X}:00:01"  # as net0 in config()


def _address(g) -> str:
    return f"10.0.{100 + g.vmid // 256 % 100}.{g.vmid % 254 + 1}"


async def agent_interfaces(ctx, p):
    """GET .../qemu/{vmid}/agent/network-get-interfaces: the guest agent's answer (PVE passes it through)."""
    g = guest(ctx, p["node"], p["vmid"], "qemu")
    if not R.guest_running(ctx.world, g):
        raise PveError(500, f"VM {g.vmid} is not running")
    six = f"fe80::be24:11ff:fe{g.vmid % 256:02x}:1"
    return {"result": [
        {"name": "lo", "hardware-address": "00:00:00:00:00:00",
         "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
        {"name": "ens18", "hardware-address": _mac(g).lower(),
         "ip-addresses": [{"ip-address": _address(g), "ip-address-type": "ipv4", "prefix": 24},
                          {"ip-address": six, "ip-address-type": "ipv6", "prefix": 64}]}]}


async def lxc_interfaces(ctx, p):
    """GET .../lxc/{vmid}/interfaces: the running container's interfaces."""
    g = guest(ctx, p["node"], p["vmid"], "lxc")
    if not R.guest_running(ctx.world, g):
        raise PveError(500, f"CT {g.vmid} not running")
    mac = _mac(g).lower()
    return [{"name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
             "inet": "127.0.0.1/8", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "inet",
                                                       "prefix": 8}]},
            {"name": "eth0", "hwaddr": mac, "hardware-address": mac, "inet": f"{_address(g)}/24",
             "ip-addresses": [{"ip-address": _address(g), "ip-address-type": "inet", "prefix": 24}]}]


async def lxc_migrate_precondition(ctx, p):
    world, node = ctx.world, p["node"]
    g = guest(ctx, node, p["vmid"], "lxc")
    if "target" in p and p["target"] not in world.nodes:
        raise PveError(500, f"no such cluster node '{p['target']}'")
    return {"running": int(R.guest_running(world, g)),
            "allowed-nodes": [n for n in world.nodes if n != node], "not-allowed-nodes": {}}
