"""The end of a rolling run: where the guests are, against where they ran before it.

A rolling run parks each node's guests on upgraded nodes and leaves them there
(plan_park.py). By default they stay: moving them home would restart every
moved container once more; the layout the run left fits in memory and respects
the HA rules. One thing it may not keep is the Swarm's fault tolerance: while
the last node was down, two manager VMs had to share a node, and left there a
single node's loss would take the majority; so manager VMs that share a node go
home again (live: no service lost). `--return-guests` moves them
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
    spread: list[str] = []
    try:
        if go_home:
            await _go_home(ctx, services, homes)
        else:
            spread = await spread_managers(ctx, services, homes)
    except ConsoleError as exc:
        ctx.progress(f"guests not all home: {exc}")
    _, away = await _away(services, homes)
    early = [str(m) for r in journal.records() if r.get("event") == "apply-done" and r.get("step") == "R2"
             for m in (r.get("undo") or {}).get("spread") or []]
    journal.append(PARKED, returned=go_home, spread=early + spread,
                   away=[[g.vmid, g.name, "CT" if g.type == "lxc" else "VM", homes[g.vmid], g.node] for g in away])


async def spread_managers(ctx: StepContext, services: Any, homes: dict[int, str]) -> list[str]:
    """Swarm manager VMs sharing a node: all but one live-migrate home (where no other manager
    runs). Returns what moved, as words. The run's last node does it in its R2, with "home" the
    node itself for the guests it moved away (steps_verify.py); here it is what is left."""
    if not services.has("swarm") or services.cluster.swarm is None:
        return []
    swarm, pve = await services.swarm(), await services.pve()
    vm_of = dict(services.cluster.swarm.node_vms)
    by_id, by_name = {g.vmid: g for g in pve.guests}, {g.name: g for g in pve.guests}
    managers = [by_id.get(vm_of[n.hostname]) if n.hostname in vm_of else by_name.get(n.hostname)
                for n in swarm.nodes if n.role == "manager"]
    vms = [g for g in managers if g is not None and g.type == "qemu" and g.status == "running"]
    online = {n.name for n in pve.nodes if n.status == "online"}
    taken = {g.node for g in vms}
    moved = []
    for node in sorted(taken):
        here = [g for g in vms if g.node == node]
        left = len(here)
        for g in sorted(here, key=lambda g: (homes.get(g.vmid) == node, g.vmid)):  # those away from home first
            home = homes.get(g.vmid)
            if left == 1:
                break
            if home is None or home == g.node or home not in online or home in taken:
                continue  # its home has a manager already (or is down): it stays, another may go
            left -= 1
            ctx.progress(f"Swarm managers {', '.join(h.name for h in here)} share {node}: {g.name} goes to "
                         f"{home} (live)")
            upid = await services.src("proxmox").migrate(g.node, g.vmid, g.type, home, online=True, restart=False)
            await services.wait_task(ctx, g.node, upid, f"migrate {g.vmid} home", services.limit("migrate"))
            taken.add(home)
            moved.append(f"{g.name} {node} -> {home}")
    return moved


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
    spread = [str(x) for x in rec.get("spread") or []]
    lines = [f"Swarm manager VMs that shared a node went home (live): {', '.join(spread)}"] if spread else []
    if not away:
        return [*lines, "every guest runs where it ran before the run"]
    return [*lines, "guests left where the run placed them (moving them home would restart each container once "
            "more; --return-guests does): " + ", ".join(f"{k} {v} {n} {home} -> {now}" for v, n, k, home, now in away)]
