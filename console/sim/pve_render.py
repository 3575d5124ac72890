"""World state -> the JSON shapes Proxmox VE returns (pure functions, no I/O).

Booleans are 0/1 integers where PVE's Perl JSON encoder emits them that way
(cluster/status "online", "quorate", migrate "running", ceph flag values).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from console.sim.pve_ha_rules import group_of

GiB = 1024**3
CPU_MODEL = "Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz"
ROOTFS_TOTAL = 94 * GiB

CEPH_FLAGS: dict[str, str] = {
    "nobackfill": "Backfilling of PGs is suspended.",
    "nodeep-scrub": "Deep Scrubbing is disabled.",
    "nodown": "OSD failure reports are being ignored, such that the monitors will not mark OSDs down.",
    "noin": "OSDs that were previously marked out will not be marked back in when they start.",
    "noout": "OSDs will not automatically be marked out after the configured interval.",
    "norebalance": "Rebalancing of PGs is suspended.",
    "norecover": "Recovery of PGs is suspended.",
    "noscrub": "Scrubbing is disabled.",
    "notieragent": "Cache tiering activity is suspended.",
    "noup": "OSDs are not allowed to start.",
    "pause": "Pauses read and writes.",
}

# Packages `pveversion -v` / apt/versions reports, in PVE's order (kernels go after the helper).
IMPORTANT_PACKAGES = (
    "proxmox-ve", "pve-manager", "proxmox-kernel-helper", "ceph", "ceph-fuse", "corosync", "criu",
    "ifupdown2", "ksm-control-daemon", "libjs-extjs", "libknet1", "libproxmox-acme-perl",
    "libpve-access-control", "libpve-cluster-api-perl", "libpve-cluster-perl", "libpve-common-perl",
    "libpve-guest-common-perl", "libpve-network-perl", "libpve-rs-perl", "libpve-storage-perl",
    "lvm2", "lxc-pve", "lxcfs", "novnc-pve", "proxmox-backup-client", "proxmox-firewall",
    "proxmox-widget-toolkit", "pve-cluster", "pve-container", "pve-docs", "pve-edk2-firmware",
    "pve-firewall", "pve-firmware", "pve-ha-manager", "pve-i18n", "pve-qemu-kvm", "qemu-server",
    "smartmontools", "spiceterm", "swtpm", "vncterm", "zfsutils-linux",
)


def repoid(version: str) -> str:
    return hashlib.sha1(f"pve-manager {version}".encode()).hexdigest()[:16]


def release(version: str) -> str:
    return ".".join(version.split(".")[:2])


def ctime(ts: float) -> str:
    """Perl's scalar localtime format (UTC here): 'Wed Nov 25 08:40:00 2026'."""
    t = time.gmtime(ts)
    return f"{time.strftime('%a %b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S %Y', t)}"


def kernel_build(kernel: str) -> str:
    base = kernel.removesuffix("-pve")
    return f"#1 SMP PREEMPT_DYNAMIC PMX {base} (2024-11-06T15:04Z)"


def _node_online(world, name: str) -> bool:
    return world.node_online(name)


def _uptime(world, since: float) -> int:
    return max(0, int(world.now() - since))


# -- guests ----------------------------------------------------------------


def guest_running(world, g) -> bool:
    return g.status == "running" and _node_online(world, g.node)


def guest_fields(world, g) -> dict[str, Any]:
    """Fields shared by /nodes/{n}/qemu, status/current and /cluster/resources."""
    running = guest_running(world, g)
    uptime = _uptime(world, g.started_at) if running else 0
    traffic = uptime * (g.vmid % 7 + 1)
    out: dict[str, Any] = {
        "vmid": g.vmid,
        "name": g.name,
        "status": "running" if running else "stopped",
        "cpus": g.cpus,
        "cpu": round(g.cpu, 4) if running else 0,
        "maxmem": g.maxmem,
        "mem": int(g.maxmem * g.mem_fraction) if running else 0,
        "maxdisk": g.maxdisk,
        "disk": int(g.maxdisk * 0.3) if g.type == "lxc" else 0,
        "uptime": uptime,
        "netin": traffic * 5200,
        "netout": traffic * 3100,
        "diskread": traffic * 900,
        "diskwrite": traffic * 1400,
    }
    if g.tags:
        out["tags"] = ";".join(g.tags)
    if g.lock:
        out["lock"] = g.lock
    if g.type == "qemu":
        out["qmpstatus"] = out["status"]
        if running:
            out["pid"] = 1000 + g.vmid
    else:
        out["type"] = "lxc"
        out["maxswap"] = 512 * 1024**2
    return out


def guest_list_entry(world, g) -> dict[str, Any]:
    entry = guest_fields(world, g)
    if g.type == "qemu":
        entry.pop("disk", None)
    return entry


def guest_current(world, g) -> dict[str, Any]:
    entry = guest_fields(world, g)
    if g.ha:
        entry["ha"] = {"managed": 1, "state": ha_state(g)}
    else:
        entry["ha"] = {"managed": 0}
    if g.type == "qemu":
        entry["agent"] = 1
        if entry["status"] == "running":
            entry["running-machine"] = "pc-i440fx-9.0+pve0"
            entry["running-qemu"] = "9.0.2"
    return entry


def ha_state(g) -> str:
    """The HA manager's state for an HA guest: "migrate" while its migration runs."""
    if g.lock == "migrate" and g.ha_state == "started":
        return "migrate"
    return g.ha_state


def ha_sid(g) -> str:
    return f"{'vm' if g.type == 'qemu' else 'ct'}:{g.vmid}"


# -- nodes -----------------------------------------------------------------


def node_usage(world, n) -> tuple[float, int]:
    return round(world.node_cpu(n.name), 4), world.node_mem_used(n.name)


def nodes_entry(world, n) -> dict[str, Any]:
    """One element of GET /nodes (also the base of a node resource)."""
    if not _node_online(world, n.name):
        return {"node": n.name, "status": "offline", "id": f"node/{n.name}", "type": "node"}
    cpu, mem = node_usage(world, n)
    return {
        "node": n.name,
        "status": "online",
        "id": f"node/{n.name}",
        "type": "node",
        "cpu": cpu,
        "maxcpu": n.maxcpu,
        "mem": mem,
        "maxmem": n.maxmem,
        "disk": int(ROOTFS_TOTAL * 0.12),
        "maxdisk": ROOTFS_TOTAL,
        "uptime": _uptime(world, n.boot_time),
        "level": "",
    }


def node_status(world, n) -> dict[str, Any]:
    cpu, mem = node_usage(world, n)
    load = cpu * n.maxcpu
    rootfs_used = int(ROOTFS_TOTAL * 0.12)
    return {
        "uptime": _uptime(world, n.boot_time),
        "idle": 0,
        "wait": 0.0012,
        "cpu": cpu,
        "loadavg": [f"{load:.2f}", f"{load * 0.9:.2f}", f"{load * 0.8:.2f}"],
        "cpuinfo": {
            "model": CPU_MODEL,
            "cpus": n.maxcpu,
            "cores": max(1, n.maxcpu // 2),
            "sockets": 1,
            "mhz": "2711.998",
            "hvm": "1",
            "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr vmx",
        },
        "memory": {"total": n.maxmem, "used": mem, "free": n.maxmem - mem, "available": n.maxmem - mem},
        "swap": {"total": 8 * GiB, "used": 0, "free": 8 * GiB},
        "ksm": {"shared": 0},
        "rootfs": {"total": ROOTFS_TOTAL, "used": rootfs_used, "free": ROOTFS_TOTAL - rootfs_used,
                   "avail": ROOTFS_TOTAL - rootfs_used},
        "kversion": f"Linux {n.kernel} {kernel_build(n.kernel)} x86_64",
        "current-kernel": {"sysname": "Linux", "release": n.kernel, "version": kernel_build(n.kernel),
                           "machine": "x86_64"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "pveversion": f"pve-manager/{n.pve_version}/{repoid(n.pve_version)}",
    }


def cluster_status(world, local: str) -> list[dict[str, Any]]:
    names = list(world.nodes)
    online = [nm for nm in names if _node_online(world, nm)]
    rows: list[dict[str, Any]] = [{
        "type": "cluster", "id": "cluster", "name": world.cluster_name, "nodes": len(names),
        "quorate": int(quorate(world)), "version": len(names),
    }]
    for i, nm in enumerate(names, start=1):
        rows.append({
            "type": "node", "id": f"node/{nm}", "name": nm, "ip": world.nodes[nm].ip, "nodeid": i,
            "online": int(nm in online), "local": int(nm == local), "level": "",
        })
    return rows


def quorate(world) -> bool:
    return sum(1 for nm in world.nodes if _node_online(world, nm)) * 2 > len(world.nodes)


# -- storage & cluster resources ------------------------------------------


def storage_entries(world, n) -> list[dict[str, Any]]:
    online = _node_online(world, n.name)
    raw_total = sum(o.size for o in world.osds.values())
    raw_used = sum(o.used for o in world.osds.values())
    size = max((p.size for p in world.pools), default=3)
    defs = [
        ("local", "dir", "iso,vztmpl,backup", 0, ROOTFS_TOTAL, int(ROOTFS_TOTAL * 0.12)),
        ("ceph-vm", "rbd", "images,rootdir", 1, raw_total // size, raw_used // size),
        ("cephfs", "cephfs", "vztmpl,iso,backup", 1, raw_total // size, raw_used // size // 8),
        ("pbs", "pbs", "backup", 1, 2048 * GiB, 300 * GiB),  # h-operate: the backup server (console/sim/ops_state.py)
    ]
    out = []
    for sid, plugin, content, shared, total, used in defs:
        e: dict[str, Any] = {"id": f"storage/{n.name}/{sid}", "type": "storage", "storage": sid,
                             "node": n.name, "status": "available" if online else "unknown"}
        if online:
            e.update({"plugintype": plugin, "content": content, "shared": shared,
                      "disk": int(used), "maxdisk": int(total)})
        out.append(e)
    return out


def cluster_resources(world, rtype: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if rtype in (None, "vm"):
        for g in sorted(world.guests.values(), key=lambda g: g.vmid):
            e = guest_list_entry(world, g)
            e.pop("qmpstatus", None)
            e.pop("pid", None)
            e.pop("maxswap", None)
            e["maxcpu"] = e.pop("cpus")
            e.update({"id": f"{g.type}/{g.vmid}", "type": g.type, "node": g.node, "template": 0})
            e.setdefault("disk", 0)
            if not _node_online(world, g.node):
                e["status"] = "unknown"
            if g.ha:
                e["hastate"] = ha_state(g)
            rows.append(e)
    if rtype in (None, "node"):
        for n in world.nodes.values():
            e = nodes_entry(world, n)
            if e["status"] == "online":
                e["cgroup-mode"] = 2
            rows.append(e)
    if rtype in (None, "storage"):
        for n in world.nodes.values():
            rows.extend(storage_entries(world, n))
    if rtype in (None, "sdn"):
        for n in world.nodes.values():
            rows.append({"id": f"sdn/{n.name}/localnetwork", "type": "sdn", "sdn": "localnetwork",
                         "node": n.name, "status": "ok" if _node_online(world, n.name) else "unknown"})
    return rows


# -- HA --------------------------------------------------------------------


def ha_master(world) -> str | None:
    return next((nm for nm in world.nodes if _node_online(world, nm)), None)


def ha_status_current(world, local: str) -> list[dict[str, Any]]:
    now = int(world.now())
    stamp = ctime(now)
    q = quorate(world)
    rows: list[dict[str, Any]] = [{
        "id": "quorum", "type": "quorum", "node": local, "quorate": int(q),
        "status": "OK" if q else f"No quorum on node '{local}'!",
    }]
    master = ha_master(world)
    if master:
        rows.append({"id": "master", "type": "master", "node": master,
                     "status": f"{master} (active, {stamp})", "timestamp": now})
    for n in world.nodes.values():
        ts = now if _node_online(world, n.name) else int(n.boot_time)
        rows.append({"id": f"lrm:{n.name}", "type": "lrm", "node": n.name,
                     "status": f"{n.name} ({world.ha_lrm_state(n.name)}, {ctime(ts)})", "timestamp": ts})
    for g in sorted((g for g in world.guests.values() if g.ha), key=lambda g: g.vmid):
        sid, state = ha_sid(g), ha_state(g)
        request = "stopped" if state == "stopped" else "started"
        rows.append({
            "id": f"service:{sid}", "type": "service", "sid": sid, "node": g.node,
            "crm_state": state, "request_state": request, "state": state,
            "status": state, "max_relocate": 1, "max_restart": 1, "failback": int(g.ha_failback),
        })
    return rows


def ha_resources(world, rtype: str | None) -> list[dict[str, Any]]:
    rows = []
    for g in sorted((g for g in world.guests.values() if g.ha), key=lambda g: g.vmid):
        kind = "vm" if g.type == "qemu" else "ct"
        if rtype and kind != rtype:
            continue
        state = "stopped" if g.ha_state == "stopped" else "started"
        row = {"sid": ha_sid(g), "type": kind, "state": state, "max_restart": 1, "max_relocate": 1,
               "failback": int(g.ha_failback), "digest": hashlib.sha1(ha_sid(g).encode()).hexdigest()[:40]}
        group = group_of(world, ha_sid(g))  # PVE 8 only: the HA group it belongs to
        if group:
            row["group"] = group
        rows.append(row)
    return rows
