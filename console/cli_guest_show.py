"""`labconsole guest show VMID [--json]`: what the guest detail pane shows, headless:
the guest's state, disks, NICs, addresses, snapshot count and newest backup. Parts that
could not be read are named, the rest is printed (exit 0); an unknown guest is exit 2."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from console.cli_ops import console, emit_json


async def show(sources: Any, args: Any) -> int:
    from console.ops.guest_detail import guest_detail
    from console.ops.guests import find_guest

    g = await find_guest(sources, args.vmid)
    d = await guest_detail(sources, g.vmid, g.node, g.type)
    if args.json:
        emit_json({"guest": asdict(g), "detail": asdict(d)})
        return 0
    _print(g, d)
    return 0


def _print(g: Any, d: Any) -> None:
    from rich.text import Text

    con = console()
    mem = f"{g.mem / 1024**3:.1f}/{g.maxmem / 1024**3:.1f} GiB" if g.maxmem else "-"
    con.print(Text.assemble((g.label, "bold"), f" on {g.node}: {g.status}",
                            ", template" if g.template else "", f", lock {g.lock}" if g.lock else ""))
    con.print(Text(f"  memory {mem}, HA {g.ha_state or 'not managed'}"
                   + (f", tags {', '.join(g.tags)}" if g.tags else "")))
    for disk in d.disks:
        con.print(Text(f"  disk {disk.key:9} {disk.storage:14} {disk.size or '?':>6}  {disk.volume}"))
    for nic in d.nics:
        vlan = f" vlan {nic.vlan}" if nic.vlan else ""
        extra = f" {nic.ip}" if nic.ip else ""
        con.print(Text(f"  nic  {nic.key:9} {nic.bridge}{vlan} {nic.model} {nic.mac}{extra}".rstrip()))
    for addr in d.addresses:
        con.print(Text(f"  address {addr}"))
    if d.snapshots is not None:
        con.print(Text(f"  snapshots {d.snapshots}"))
    b = d.last_backup
    if b is not None:
        age = (time.time() - b.time) / 86400
        con.print(Text(f"  last backup {time.strftime('%Y-%m-%d %H:%M', time.localtime(b.time))} "
                       f"({age:.1f} days ago) on {b.storage} ({b.storage_type})"))
    elif not any(m.startswith("backups:") for m in d.missing):
        con.print(Text("  last backup: none on the storages its node sees", style="yellow"))
    for m in d.missing:
        con.print(Text(f"  not read: {m}", style="yellow"))
