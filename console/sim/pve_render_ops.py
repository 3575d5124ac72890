"""World state -> PVE shapes for apt, Ceph OSDs/flags and tasks (pure functions)."""

from __future__ import annotations

import hashlib
from typing import Any

from console.sim.pve_render import CEPH_FLAGS, IMPORTANT_PACKAGES, repoid

TiB = 1024**4

_TITLES = {
    "proxmox-ve": "Proxmox Virtual Environment",
    "pve-manager": "Proxmox Virtual Environment Management Tools",
    "proxmox-kernel-helper": "Function for various kernel maintenance tasks.",
    "pve-qemu-kvm": "Full virtualization on x86 hardware",
    "qemu-server": "Qemu Server Tools",
    "ceph": "distributed storage and file system",
    "ceph-common": "common utilities to mount and interact with a ceph storage cluster",
    "corosync": "cluster engine daemon and utilities",
    "pve-ha-manager": "Proxmox VE HA Manager",
    "zfsutils-linux": "command-line tools to manage OpenZFS filesystems",
    "lxc-pve": "Linux containers userspace tools",
}


def _is_kernel(name: str) -> bool:
    return name.startswith(("proxmox-kernel-", "pve-kernel-")) and name != "proxmox-kernel-helper"


def _origin(name: str) -> str:
    proxmox = ("pve", "proxmox", "libpve", "libproxmox", "qemu-server", "lxc-pve", "lxcfs", "ceph",
               "librados", "librbd", "libcephfs", "python3-ceph", "novnc-pve", "spiceterm", "vncterm",
               "zfs", "libzfs", "libnvpair", "libuutil", "libzpool", "corosync", "libknet")
    return "Proxmox" if name.startswith(proxmox) else "Debian"


def package_info(name: str) -> dict[str, Any]:
    kernel = _is_kernel(name)
    title = _TITLES.get(name) or ("Proxmox Kernel Image" if kernel else f"{name} package")
    return {
        "Package": name,
        "Title": title,
        "Description": f"{title}.",
        "Arch": "all" if name.startswith(("libpve", "pve-docs", "pve-i18n", "proxmox-widget")) else "amd64",
        "Origin": _origin(name),
        "Priority": "optional",
        "Section": "kernel" if kernel else ("admin" if _origin(name) == "Proxmox" else "utils"),
    }


def apt_update_list(n) -> list[dict[str, Any]]:
    """GET /nodes/{n}/apt/update: what `apt-get update` found upgradable."""
    rows = []
    for name in sorted(n.upgradable):
        row = package_info(name) | {"Version": n.upgradable[name]}
        if name in n.packages:
            row["OldVersion"] = n.packages[name]
        rows.append(row)
    return rows


def apt_versions(n) -> list[dict[str, Any]]:
    """GET /nodes/{n}/apt/versions: installed packages; PVE fills Version and OldVersion
    both with the installed version here (APT.pm assemble_pkginfo(current, current))."""
    kernels = sorted((p for p in n.packages if _is_kernel(p)), reverse=True)
    order = list(IMPORTANT_PACKAGES[:3]) + kernels + list(IMPORTANT_PACKAGES[3:])
    rows = []
    for name in order:
        if name not in n.packages:
            continue
        installed = n.packages[name]
        row = package_info(name) | {
            "Version": installed,
            "OldVersion": installed,
            "CurrentState": "Installed",
        }
        if name == "proxmox-ve":
            row["RunningKernel"] = n.kernel
        if name == "pve-manager":
            # PVE <= 7 put RunningKernel here too; kept for clients written against either.
            row["ManagerVersion"] = f"{n.pve_version}/{repoid(n.pve_version)}"
            row["RunningKernel"] = n.kernel
        rows.append(row)
    return rows


# -- Ceph ------------------------------------------------------------------


def ceph_flag_list(world) -> list[dict[str, Any]]:
    return [{"name": f, "description": d, "value": int(f in world.ceph.flags)} for f, d in CEPH_FLAGS.items()]


def ceph_version(n) -> tuple[str, str]:
    """(short, long) Ceph version of the packages installed on node n."""
    short = n.packages.get("ceph", "18.2.4").split("-")[0]
    sha = hashlib.sha1(f"ceph {short}".encode()).hexdigest()
    return short, f"ceph version {short} ({sha}) reef (stable)"


def _osd_entry(o, host: str, version: tuple[str, str]) -> dict[str, Any]:
    total = max(o.size, 1)
    entry: dict[str, Any] = {
        "id": o.id, "name": f"osd.{o.id}", "type": "osd", "leaf": 1, "host": host,
        "status": "up" if o.up else "down", "in": int(o.in_),
        "crush_weight": round(o.size / TiB, 5), "reweight": 1 if o.in_ else 0,
        "device_class": o.device_class, "pgs": o.pgs,
        "total_space": total, "bytes_used": o.used, "percent_used": round(o.used * 100 / total, 4),
        "commit_latency_ms": 1 if o.up else 0, "apply_latency_ms": 1 if o.up else 0,
        "osdtype": "bluestore", "blfsdev": "/dev/sdb",
        "ceph_version": version[1], "ceph_version_short": version[0],
    }
    return entry


def ceph_osd_tree(world) -> dict[str, Any]:
    """GET /nodes/{n}/ceph/osd: PVE's CRUSH tree {"root": {"leaf": 0, "children": [...]}, "flags": "..."}."""
    hosts = []
    for i, name in enumerate(world.nodes, start=2):
        osds = sorted((o for o in world.osds.values() if o.host == name), key=lambda o: o.id)
        if not osds:
            continue
        version = ceph_version(world.nodes[name])
        hosts.append({
            "id": -i, "name": name, "type": "host", "leaf": 0, "version": version[0],
            "crush_weight": round(sum(o.size for o in osds) / TiB, 5),
            "children": [_osd_entry(o, name, version) for o in osds],
        })
    default = {"id": -1, "name": "default", "type": "root", "leaf": 0, "children": hosts}
    return {"root": {"leaf": 0, "children": [default]}, "flags": ",".join(sorted(world.ceph.flags))}


# -- tasks -----------------------------------------------------------------


def task_status_word(t) -> str:
    """The `status` of a finished task in task lists: "OK", "WARNINGS: n" or the error text."""
    return t.exitstatus or "unknown"


def task_status_type(t) -> str:
    if t.running:
        return "running"
    if t.exitstatus == "OK":
        return "ok"
    if (t.exitstatus or "").startswith("WARNINGS"):
        return "warning"
    return "error" if t.exitstatus else "unknown"


def task_base(t) -> dict[str, Any]:
    return {
        "upid": t.upid, "node": t.node, "pid": t.pid, "pstart": t.pstart, "starttime": int(t.starttime),
        "type": t.type, "id": t.id, "user": t.user,
    }


def task_list_entry(t) -> dict[str, Any]:
    entry = task_base(t)
    if not t.running:
        entry["endtime"] = int(t.endtime)
        entry["status"] = task_status_word(t)
    return entry


def task_status(t) -> dict[str, Any]:
    entry = task_base(t) | {"status": "running" if t.running else "stopped"}
    if not t.running:
        entry["exitstatus"] = task_status_word(t)
    return entry


def task_log_lines(t) -> list[str]:
    lines = list(t.log)
    if not t.running and not (lines and lines[-1].startswith("TASK ")):
        lines.append("TASK OK" if t.exitstatus == "OK" else f"TASK ERROR: {t.exitstatus}")
    return lines
