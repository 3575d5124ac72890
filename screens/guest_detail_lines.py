"""The guest detail pane's second half (issue 11 item 9): disks, NICs,
addresses, snapshots and the last backup, read on demand (console/ops/
guest_detail.py through app.actions) and kept a little while per guest so the
pane does not re-read the cluster on every cursor move."""

from __future__ import annotations

import time
from typing import Any

from console.errors import ConsoleError
from console.inert import cap
from widgets.format import duration, size

KEEP_S = 15.0  # seconds a guest's detail is shown before it is read again
LINE_CAP = 120


class GuestDetailCache:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._got: dict[int, tuple[float, Any]] = {}  # vmid -> (when, GuestDetail | error text)
        self._loading: set[int] = set()

    def get(self, g) -> Any:
        got = self._got.get(g.vmid)
        return None if got is None else got[1]

    def due(self, g) -> bool:
        got = self._got.get(g.vmid)
        return g.vmid not in self._loading and (got is None or self.clock() - got[0] > KEEP_S)

    async def load(self, actions, g) -> None:
        self._loading.add(g.vmid)
        try:
            value: Any = await actions.guest_detail(g.vmid, g.node, g.type)
        except ConsoleError as exc:
            value = f"not read: {exc.message}"
        finally:
            self._loading.discard(g.vmid)
        self._got[g.vmid] = (self.clock(), value)


def detail_lines(d: Any, now: float | None = None) -> list[str]:
    if d is None:
        return ["", "config    reading…"]
    if isinstance(d, str):
        return ["", f"config    {d}"]
    out = [""]
    out.append("disks" + ("" if d.disks else "     none read"))
    out += [cap(f" {x.key} {x.storage}:{x.volume} {x.size}", LINE_CAP) for x in d.disks]
    out.append("NICs" + ("" if d.nics else "      none"))
    for n in d.nics:
        vlan = f" VLAN {n.vlan}" if n.vlan else " untagged"
        ip = f" ip={n.ip}" if n.ip else ""
        out.append(cap(f" {n.key} {n.bridge}{vlan} {n.model} {n.mac}{ip}".rstrip(), LINE_CAP))
    missing = {m.split(":", 1)[0]: m.split(":", 1)[1].strip() for m in d.missing}
    if d.addresses:
        out.append("addresses")
        out += [cap(f" {a}", LINE_CAP) for a in d.addresses]
    else:
        out.append("addresses " + ("not reported (" + missing["addresses"] + ")" if "addresses" in missing
                                   else "none reported"))
    out.append("snapshots " + (str(d.snapshots) if d.snapshots is not None else
                               "not read" + (f" ({missing['snapshots']})" if "snapshots" in missing else "")))
    b = d.last_backup
    if b is not None:
        when = duration((now if now is not None else time.time()) - b.time) + " ago" if b.time else "?"
        out.append(cap(f"backup    {when} on {b.storage} ({size(b.size)})", LINE_CAP))
    else:
        out.append("backup    " + (f"not read ({missing['backups']})" if "backups" in missing else "none found"))
    return out
