"""The end of a rolling run: where the guests are, against where they ran before it.

A rolling run parks each node's guests on upgraded nodes and leaves them there
(plan_park.py). By default they stay: moving them home would restart every
moved container once more, for a layout that is no safer than the one the run
left (it fits in memory and respects the HA rules). `--return-guests` moves them
home at the end: HA guests by HA request (one at a time, each only once its
node's negative-affinity partners have left it), the others VMs live and
containers with a restart. Both outcomes are journaled for the end report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.errors import ConsoleError
from console.ha_rules import placement, sid_of
from console.maintenance.engine import Event, StepContext

HOMES = "homes"  # journal record: vmid -> node of every running guest when the run began
PARKED = "guests-parked"  # journal record: where they ended, and whether they went home


async def record_homes(services: Any, journal: Any) -> None:
    if any(r.get("event") == HOMES for r in journal.records()):
        return
    pve = await services.pve()
    journal.append(HOMES, homes={str(g.vmid): g.node for g in pve.guests if g.status == "running" and not g.template})


def _homes(journal: Any) -> dict[int, str]:
    rec = next((r for r in journal.records() if r.get("event") == HOMES), None)
    homes = rec.get("homes") if rec else None
    return {int(k): v for k, v in homes.items() if str(k).isdigit() and isinstance(v, str)} \
        if isinstance(homes, dict) else {}


async def _away(services: Any, homes: dict[int, str]) -> tuple[Any, list[Any]]:
    pve = await services.pve()
    online = {n.name for n in pve.nodes if n.status == "online"}
    return pve, [g for g in pve.guests if g.vmid in homes and g.node != homes[g.vmid] and homes[g.vmid] in online
                 and g.status == "running"]


async def settle_guests(services: Any, journal: Any, node: str, go_home: bool,
                        on_event: Callable[[Event], None]) -> None:
    """Once, at the end of a rolling run: record where the guests are; with go_home, move them home first."""
    if any(r.get("event") == PARKED for r in journal.records()):
        return
    homes = _homes(journal)
    if not homes:
        return
    ctx = StepContext(node, services, emit=on_event, step_id="HOME")
    if go_home:
        try:
            await _go_home(ctx, services, homes)
        except ConsoleError as exc:
            ctx.progress(f"guests not all home: {exc}")
    _, away = await _away(services, homes)
    journal.append(PARKED, returned=go_home,
                   away=[[g.vmid, g.name, "CT" if g.type == "lxc" else "VM", homes[g.vmid], g.node] for g in away])


async def _go_home(ctx: StepContext, services: Any, homes: dict[int, str]) -> None:
    from console.maintenance.steps_drain import ha_move, unlocked_guest

    for _ in range(len(homes) + 1):  # a pass per HA guest at most: each waits for its partners to leave
        pve, away = await _away(services, homes)
        if not away:
            return
        ha_sids = {s.sid for s in (pve.ha.services if pve.ha else ())}
        where = {sid_of(g): g.node for g in pve.guests if sid_of(g) in ha_sids}
        moved = False
        for g in sorted(away, key=lambda g: g.vmid):
            home, sid = homes[g.vmid], sid_of(g)
            if sid in ha_sids:
                others = {s: n for s, n in where.items() if s != sid}
                if home not in placement(sid, pve.ha_rules, [home], others).nodes:
                    continue  # a partner its rules keep it apart from is still there: next pass
                await ha_move(ctx, services, {g.vmid: home})  # one at a time, each until it runs there
                where[sid] = home
            else:
                ctx.progress(f"migrate {g.vmid} {g.name} back {g.node} -> {home}")
                upid = await services.src("proxmox").migrate(g.node, g.vmid, g.type, home, online=g.type == "qemu",
                                                             restart=g.type == "lxc")
                await services.wait_task(ctx, g.node, upid, f"migrate {g.vmid} back", services.limit("migrate"))
            await unlocked_guest(ctx, services, g.vmid)
            moved = True
        if not moved:
            raise ConsoleError("maintenance", "the HA rules keep "
                               + ", ".join(f"{g.vmid} {g.name}" for g in away) + " from going home")


def report_lines(records: list[dict]) -> list[str]:
    rec = next((r for r in reversed(records) if r.get("event") == PARKED), None)
    if rec is None:
        return []
    away = [a for a in rec.get("away") or [] if isinstance(a, list) and len(a) == 5]
    if rec.get("returned"):
        return ["guests moved back home (--return-guests)" + (
            ": not home yet: " + ", ".join(f"{k} {v} {n} on {now}" for v, n, k, _, now in away) if away else "")]
    if not away:
        return ["every guest runs where it ran before the run"]
    return ["guests left where the run placed them (moving them home would restart each container once more; "
            "--return-guests does): " + ", ".join(f"{k} {v} {n} {home} -> {now}" for v, n, k, home, now in away)]
