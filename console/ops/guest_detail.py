"""What the guest detail pane shows beyond the poll (issue 11 item 9): the
guest's disks (storage, size) and NICs (bridge, VLAN) from its config, its IP
addresses from the guest agent (VM) or its interfaces (CT), how many snapshots
it has, and its newest backup on the backup storages its node sees.

Each part is read on its own: one that cannot be read (no agent, a storage
offline) is named in `missing` and the rest is shown.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import pve

DISK_KEY = re.compile(r"^(ide|sata|scsi|virtio|efidisk|tpmstate|mp)\d+$|^rootfs$")
NIC_KEY = re.compile(r"^net\d+$")
QEMU_NIC_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")


@dataclass(frozen=True)
class Disk:
    key: str  # scsi0, rootfs, mp0
    storage: str
    volume: str
    size: str  # as PVE writes it: 32G


@dataclass(frozen=True)
class Nic:
    key: str  # net0
    bridge: str
    vlan: str  # "" when untagged
    mac: str
    model: str = ""  # virtio / eth0 (a CT's interface name)
    ip: str = ""  # a CT's configured address (ip=dhcp / 10.0.0.5/24)


@dataclass
class GuestDetail:
    vmid: int
    disks: list[Disk] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # "eth0 10.0.0.5/24"
    snapshots: int | None = None
    last_backup: Any = None  # console.ops.backups.BackupCopy
    missing: list[str] = field(default_factory=list)  # "addresses: the guest agent is not running"


def _options(value: str) -> tuple[str, dict[str, str]]:
    """'ceph-vm:vm-1-disk-0,size=32G,iothread=1' -> ('ceph-vm:vm-1-disk-0', {'size': '32G', ...})."""
    head, *rest = value.split(",")
    opts = dict(part.split("=", 1) for part in rest if "=" in part)
    return head, opts


def parse_config(cfg: dict) -> tuple[list[Disk], list[Nic]]:
    disks, nics = [], []
    for key in sorted(cfg, key=str):
        value = inert(cfg[key]) if isinstance(cfg[key], str) else ""
        if DISK_KEY.match(key) and value:
            head, opts = _options(value)
            if opts.get("media") == "cdrom" or head in ("none", "cdrom"):
                continue
            storage, _, volume = head.partition(":")
            disks.append(Disk(key, storage, volume, opts.get("size", "?")))
        elif NIC_KEY.match(key) and value:
            nics.append(_nic(key, value))
    return disks, nics


def _nic(key: str, value: str) -> Nic:
    opts = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    model = next((m for m in QEMU_NIC_MODELS if m in opts), "")
    mac = opts.get(model, "") if model else opts.get("hwaddr", "")
    return Nic(key, opts.get("bridge", "-"), opts.get("tag", ""), mac, model or opts.get("name", ""),
               opts.get("ip", ""))


def parse_addresses(kind: str, rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        name = inert(r.get("name", "?"))
        if name == "lo":
            continue
        listed = [a for a in r.get("ip-addresses") or [] if isinstance(a, dict) and a.get("ip-address")]
        if listed:  # the agent's answer, and a CT's on PVE 8.1+
            out += [f"{name} {inert(a['ip-address'])}/{inert(a.get('prefix', '?'))}" for a in listed
                    if not str(a["ip-address"]).startswith("fe80")]
        elif kind == "lxc":  # older PVE: inet/inet6 only
            out += [f"{name} {inert(r[k])}" for k in ("inet", "inet6") if r.get(k) and
                    not str(r[k]).startswith("fe80")]
    return out


async def _newest_backup(ops: Any, node: str, vmid: int):
    from console.ops.backups import BackupCopy

    newest = None
    for st in await ops.storages(node, content="backup"):
        name = inert(st.get("storage", ""))
        for r in await ops.storage_content(node, name, "backup"):
            if r.get("vmid") is not None and int(r["vmid"]) == vmid and (newest is None or
                                                                          int(r.get("ctime") or 0) > newest.time):
                newest = BackupCopy(vmid, name, inert(st.get("type", "")), inert(r.get("volid", "")),
                                    int(r.get("ctime") or 0), int(r.get("size") or 0))
    return newest


async def guest_detail(sources: Any, vmid: int, node: str, kind: str) -> GuestDetail:
    ops = pve(sources)
    out = GuestDetail(vmid)
    got: Any = await asyncio.gather(
        ops.guest_config(node, kind, vmid), ops.guest_interfaces(node, kind, vmid), ops.snapshots(node, kind, vmid),
        _newest_backup(ops, node, vmid), return_exceptions=True)
    config, ifaces, snaps, backup = got
    for what, got in (("config", config), ("addresses", ifaces), ("snapshots", snaps), ("backups", backup)):
        if isinstance(got, ConsoleError):
            out.missing.append(f"{what}: {got.message}")
        elif isinstance(got, BaseException):
            raise got
    if isinstance(config, dict):
        out.disks, out.nics = parse_config(config)
    if isinstance(ifaces, list):
        out.addresses = parse_addresses(kind, ifaces)
    if isinstance(snaps, list):
        out.snapshots = len([s for s in snaps if s.get("name") != "current"])
    if not isinstance(backup, BaseException):
        out.last_backup = backup
    return out
