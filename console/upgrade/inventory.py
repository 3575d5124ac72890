"""What is pending where: every node, firewall, CT and VM (and, through the
`service_updates` hook, every Swarm service), one row each.

Nodes are read through the API (`apt/update`, `apt/versions`); guests from
inside (console/upgrade/guest_access.py) with one script (apt_text.INSPECT).
A guest that cannot be read is a row saying why ("not inspectable: ..."),
never an error that hides the others. No Textual here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.inert import cap, inert
from console.model import Guest
from console.upgrade import apt_text as A
from console.upgrade.guest_access import GuestShell, GuestTarget, agent_enabled, target_for

PARALLEL = 4  # guests read at the same time
NAME_CAP = 60  # characters of a name in a text line (a hostile name may be thousands)
KINDS_ORDER = {"node": 0, "firewall": 1, "ct": 2, "vm": 3, "service": 4}


@dataclass
class UpdateRow:
    kind: str  # node | firewall | ct | vm | service
    name: str
    vmid: int | None = None
    where: str = ""  # the node it runs on
    pending: int | None = None  # None: unknown (see note)
    packages: list[dict] = field(default_factory=list)  # Pending.to_dict()
    security: int = 0
    kernel: str | None = None  # running kernel
    reboot: bool | None = None  # a reboot will be needed (kernel or libc), or already is
    inspectable: bool = True
    note: str = ""  # "not inspectable: ..." or what could not be read
    via: str = ""  # api | pct | ssh | agent | registry

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        head = f"{self.kind:<8} {cap(self.name, NAME_CAP)}" + (f" ({self.vmid})" if self.vmid is not None else "")
        head += f" on {self.where}" if self.where and self.kind != "node" else ""
        if not self.inspectable or self.pending is None:
            return f"{head}: {self.note}"
        if self.pending == 0:
            return f"{head}: up to date" + (" (reboot required)" if self.reboot else "")
        sec = f", {self.security} security" if self.security else ""
        rb = "; reboot needed" if self.reboot else ""
        return f"{head}: {self.pending} pending{sec}{rb}"


# The Swarm helper registers a coroutine function here: (sources, cluster) -> list of UpdateRow
# (kind "service"). Called when present; its rows are added after the guests'.
service_updates: Callable[[Any, ClusterConfig], Awaitable[list[UpdateRow]]] | None = None


async def inventory(sources: Any, cluster: ClusterConfig, guests_only: bool = False) -> list[UpdateRow]:
    """Every row, nodes first; a layer that cannot be read is a row with a note."""
    pve = sources.get("proxmox")
    if pve is None:
        raise ConsoleError("upgrade", "no [proxmox] in this cluster's config: nothing to inventory")
    state = await pve.fetch()
    rows: list[UpdateRow] = []
    if not guests_only:
        rows += await asyncio.gather(*(node_row(pve, n.name, n.status) for n in state.nodes))
    shell = GuestShell(sources)
    sem = asyncio.Semaphore(PARALLEL)

    async def one(g: Guest) -> UpdateRow:
        async with sem:
            return await guest_row(sources, shell, cluster, g)

    guests = [g for g in state.guests if not g.template]
    rows += await asyncio.gather(*(one(g) for g in guests))
    if service_updates is not None and not guests_only:
        try:
            rows += await service_updates(sources, cluster)
        except ConsoleError as exc:
            rows.append(UpdateRow("service", "swarm", inspectable=False, note=f"cannot check: {exc.message}"))
    rows.sort(key=lambda r: (KINDS_ORDER.get(r.kind, 9), r.vmid or 0, r.name))
    return rows


async def node_row(pve: Any, node: str, status: str) -> UpdateRow:
    row = UpdateRow("node", node, where=node, via="api")
    if status != "online":
        row.inspectable, row.note = False, f"not inspectable: node is {status}"
        return row
    try:
        pending = await pve.apt_pending(node)
        versions = await pve.apt_versions(node)
    except ConsoleError as exc:
        row.pending, row.note = None, f"cannot read: {exc.message}"
        return row
    pk = [A.Pending(cap(inert(r.get("Package")), 80), cap(inert(r.get("OldVersion") or ""), 60),
                    cap(inert(r.get("Version")), 60), "security" in str(r.get("Origin", "")).lower())
          for r in pending if isinstance(r, dict) and r.get("Package")]
    row.packages = [p.to_dict() for p in pk]
    row.pending, row.security = len(pk), sum(p.security for p in pk)
    row.kernel = next((cap(inert(v["RunningKernel"]), 60) for v in versions
                       if isinstance(v, dict) and v.get("RunningKernel")), None)
    row.reboot = A.needs_reboot(pk)
    return row


async def guest_target(sources: Any, cluster: ClusterConfig, g: Guest) -> GuestTarget:
    agent = None
    if g.type == "qemu" and target_for(g, cluster).via == "agent":
        try:
            agent = await agent_enabled(sources, g)
        except ConsoleError:
            agent = None  # the config could not be read: try the agent and say what it answers
    return target_for(g, cluster, agent)


async def guest_row(sources: Any, shell: GuestShell, cluster: ClusterConfig, g: Guest) -> UpdateRow:
    t = await guest_target(sources, cluster, g)
    kind = "firewall" if t.firewall else ("ct" if g.type == "lxc" else "vm")
    row = UpdateRow(kind, t.firewall or g.name, g.vmid, g.node, via=t.via)
    if g.status != "running":
        row.inspectable, row.note = False, f"not inspectable: {g.status}"
        return row
    if not t.via:
        row.inspectable, row.note = False, f"not inspectable: {t.why_not}"
        return row
    try:
        facts = await inspect(shell, t)
    except ConsoleError as exc:
        row.inspectable, row.note = False, f"not inspectable: {exc.message}"
        return row
    if facts.get("why_not"):
        row.inspectable, row.note = False, f"not inspectable: {facts['why_not']}"
        return row
    pk: list[A.Pending] = facts["pending"]
    row.packages = [p.to_dict() for p in pk]
    row.pending, row.security = len(pk), sum(p.security for p in pk)
    row.kernel = facts["kernel"]
    row.reboot = facts["reboot_required"] or (A.needs_reboot(pk) if g.type == "qemu" else False)
    return row


async def inspect(shell: GuestShell, t: GuestTarget) -> dict:
    """One round trip into the guest: OS, running kernel, what apt would upgrade, free space."""
    r = await shell.run(t, A.INSPECT, timeout=120)
    rel_text, kernel, sim, reboot, df = A.sections(r.stdout, 5)
    rel = A.os_release(rel_text)
    if not rel:
        return {"why_not": "no /etc/os-release answered" + (f" (exit {r.exit_status})" if r.exit_status else "")}
    if not A.is_debian(rel):
        return {"why_not": f"not Debian ({A.os_name(rel)})"}
    exit_line = next((ln for ln in sim.splitlines() if ln.startswith("exit=")), "exit=?")
    if exit_line != "exit=0":
        last = [ln for ln in sim.splitlines() if ln.strip() and not ln.startswith("exit=")]
        return {"why_not": f"apt-get -s dist-upgrade failed: {cap(inert(last[-1] if last else exit_line), 160)}"}
    return {"pending": A.parse_simulate(sim), "kernel": cap(inert(kernel.strip()), 60) or None,
            "reboot_required": A.restart_asked(reboot), "free_kb": A.df_free_kb(df),
            "os": A.os_name(rel)}


def text(rows: list[UpdateRow], verbose: bool = False) -> str:
    lines = [r.line() for r in rows]
    if verbose:
        out = []
        for r in rows:
            out.append(r.line())
            out.extend(f"    {p['name']} {p['old'] or '(new)'} -> {p['new']}" + (" [security]" if p["security"]
                                                                                   else "")
                       for p in r.packages)
        lines = out
    total = sum(r.pending or 0 for r in rows)
    blind = sum(1 for r in rows if not r.inspectable or r.pending is None)
    lines.append(f"{total} updates pending in {sum(1 for r in rows if r.pending)} of {len(rows)} items"
                 + (f"; {blind} not inspectable" if blind else ""))
    return "\n".join(lines)
