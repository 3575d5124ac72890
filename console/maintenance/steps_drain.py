"""Drain D1-D5: move the VIP, drain Swarm, HA maintenance, migrate the rest, noout.

Every apply is idempotent (it looks before it acts) and waits for its
condition; every undo puts back what its apply changed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from console.maintenance.ceph_recovery import previous_node, wait_recovered
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.maintenance.steps_preflight import ceph_can_spare

if TYPE_CHECKING:
    from console.maintenance.services import MaintenanceServices

MIGRATE_WORKERS = 4  # migrations at once (PVE's datacenter max_workers default)


class D1Vip(BaseStep):
    id, title, phase = "D1", "Move the VIP to the peer firewall", "drain"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        svc.close_snapshot()  # P8 closes the preflight's reads; a drain-only run has no P8: the drain reads afresh
        plan = svc.plan(ctx.node)
        if not plan.vip_move or not svc.has("vrrp"):
            ctx.progress("this node does not hold the VIP: nothing to move")
            return {}
        vrrp = svc.src("vrrp")
        # every instance the firewall holds moves (the track file puts all of them, and so their
        # sync groups, in FAULT); the wait is for all of them
        before = {f.name: f for f in (await svc.vrrp()).firewalls}.get(plan.firewall)
        held = [i.name for i in before.instances if i.state == "MASTER"] if before and before.answering else []
        what = f" ({', '.join(held)})" if held else ""
        ctx.progress(f"lowering {plan.firewall}: track file -> 1 (FAULT), {plan.peer_firewall} takes over{what}")
        await vrrp.set_track(plan.firewall, 1)

        async def peer_is_master() -> str | None:
            st = await svc.vrrp()
            fw = {f.name: f for f in st.firewalls}
            peer, mine = fw.get(plan.peer_firewall), fw.get(plan.firewall)
            theirs = {i.name for i in peer.instances if i.state == "MASTER"} if peer and peer.answering else set()
            still = [i.name for i in mine.instances if i.state == "MASTER"] if mine and mine.answering else []
            missing = [n for n in held if n not in theirs] if held else ([] if theirs else ["any instance"])
            if not missing and not still:
                return None
            return (f"{plan.peer_firewall} not yet MASTER of {', '.join(missing)}" if missing
                    else f"{plan.firewall} still MASTER of {', '.join(still)}")

        # a healthy peer takes over within about three advertisement intervals; waiting much
        # longer ("vip_move", 10 s) would only prolong the time without a VIP
        try:
            await svc.wait_for(ctx, f"{plan.peer_firewall} MASTER", peer_is_master, svc.limit("vip_move"))
        except StepFailed:
            # the peer did not take over: give the VIP back at once rather than leave it absent
            await vrrp.set_track(plan.firewall, 0)
            ctx.progress(f"{plan.peer_firewall} did not take over: {plan.firewall}'s track file restored")
            raise
        return {"firewall": plan.firewall, "instances": held}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = self.svc(ctx)
        fw = data.get("firewall") or svc.plan(ctx.node).firewall
        if fw and svc.has("vrrp") and svc.plan(ctx.node).vip_move:
            await svc.src("vrrp").set_track(fw, 0)
            ctx.progress(f"{fw}: track file restored; with nopreempt the VIP stays on the peer until the run's "
                         "last step fails it back to the preferred firewall")


class D2SwarmDrain(BaseStep):
    id, title, phase = "D2", "Drain the node's Swarm VM", "drain"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        if not plan.swarm_drain or not plan.swarm_node or not svc.has("swarm"):
            ctx.progress("no Swarm node stops with this node: no drain")
            return {}
        swarm = svc.src("swarm")
        await swarm.node_availability(plan.swarm_node, "drain")
        ctx.progress(f"docker node update --availability drain {plan.swarm_node}")

        async def drained() -> str | None:
            st = await svc.swarm()
            me = next((n for n in st.nodes if n.hostname == plan.swarm_node), None)
            left = [t for t in st.tasks if me and t.node_id == me.id and t.state == "running"]
            short = [s.name for s in st.services if s.replicas_running < s.replicas_desired]
            if left:
                return f"{len(left)} tasks still running on {plan.swarm_node}"
            if short:
                return f"not yet replaced elsewhere: {', '.join(short[:4])}"
            return None

        await svc.wait_for(ctx, f"{plan.swarm_node} drained", drained, svc.limit("swarm_drain"))
        return {"swarm_node": plan.swarm_node}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = self.svc(ctx)
        node = data.get("swarm_node") or svc.plan(ctx.node).swarm_node
        if node and svc.has("swarm") and svc.plan(ctx.node).swarm_drain:
            await svc.src("swarm").node_availability(node, "active")
            ctx.progress(f"docker node update --availability active {node}")

            async def converged() -> str | None:  # global services start their task on the node again
                st = await svc.swarm()
                short = [s.name for s in st.services if s.replicas_running < s.replicas_desired]
                return f"not converged: {', '.join(short[:4])}" if short else None

            await svc.wait_for(ctx, "every Swarm service converged", converged, svc.limit("swarm_drain"))


class D3HaMaintenance(BaseStep):
    """Requests only: HA maintenance (and, in a rolling run, HA migrations) start the HA guests
    moving; D4 migrates the others meanwhile and waits for both (wait_ha_gone), so that the two
    kinds of migration overlap instead of running one after the other."""

    id, title, phase = "D3", "HA node maintenance: HA guests start leaving the node", "drain"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        if plan.park:
            # a rolling run: the HA guests that stay away go there by request (HA maintenance would bring
            # them back); those whose rules prefer this node leave with HA maintenance, which brings them
            # back (asked to move elsewhere first, the CRM's failback would only return them at once)
            await ha_move(ctx, svc, {m.vmid: m.target for m in plan.moves
                                     if m.method == "ha" and m.target and not m.returns}, wait=False)
        await svc.sh(ctx.node, f"ha-manager crm-command node-maintenance enable {ctx.node}", privileged=True)
        ctx.progress(f"ha-manager crm-command node-maintenance enable {ctx.node}: the HA guests leave while "
                     "D4 migrates the others")
        return {"enabled": True}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        await ha_maintenance_off(ctx, self.svc(ctx))


async def wait_ha_gone(ctx: StepContext, svc: MaintenanceServices) -> None:
    """Until every HA guest of the plan runs, unlocked, on another node (D3's requests done)."""
    ha_ids = {m.vmid for m in svc.plan(ctx.node).moves if m.method == "ha"}

    async def gone() -> str | None:
        pve = await svc.pve()
        here = [g for g in pve.guests
                if g.vmid in ha_ids and (g.node == ctx.node or g.status != "running" or g.lock)]
        return f"{len(here)} HA guests still moving: " + ", ".join(str(g.vmid) for g in here) if here else None

    await svc.wait_for(ctx, "HA guests moved (D3)", gone, svc.limit("migrate"))


async def ha_move(ctx: StepContext, svc: MaintenanceServices, targets: dict[int, str], wait: bool = True) -> None:
    """HA-migrate guests (vmid -> node) and (unless `wait` is False) wait until each runs there.
    Idempotent: a guest there already is left alone; one still moving (a resumed run) is let
    finish first."""
    from console.ha_rules import sid_of

    async def ask(vmid: int, target: str) -> None:
        g = await unlocked_guest(ctx, svc, vmid)
        if g.node == target:
            return
        ctx.progress(f"HA-migrate {sid_of(g)} {g.name} {g.node} -> {target}"
                     + (" (restart)" if g.type == "lxc" else " (live)"))
        await svc.ha_migrate(sid_of(g), target)

    await asyncio.gather(*(ask(vmid, target) for vmid, target in targets.items()))  # the CRM takes them alike
    if not wait:
        return

    async def there() -> str | None:
        pve = await svc.pve()
        now = {g.vmid: g for g in pve.guests if g.vmid in targets}
        away = [v for v, t in targets.items() if v in now and (now[v].node != t or now[v].lock
                                                                or now[v].status != "running")]
        return f"{len(away)} HA guests still moving: {', '.join(map(str, away))}" if away else None

    await svc.wait_for(ctx, "HA guests moved", there, svc.limit("migrate"))


def returning_ha(svc: MaintenanceServices, node: str, everyone: bool) -> set[int]:
    """The HA guests that come back to `node`: all of them (HA maintenance brings them back, or a
    rollback), or in a rolling run's rejoin only those whose rules prefer it (plan_park.py)."""
    return {m.vmid for m in svc.plan(node).moves if m.method == "ha" and (everyone or m.returns)}


async def ha_maintenance_off(ctx: StepContext, svc: MaintenanceServices, everyone: bool = True) -> None:
    """Disable HA maintenance and wait for the HA guests to come back (in a rolling run's rejoin,
    only those that return: `everyone` False). Migrations still under way (a run interrupted
    mid-drain) are let finish first, so that no guest is caught between the two requests."""
    ha_ids = {m.vmid for m in svc.plan(ctx.node).moves if m.method == "ha"}

    async def settled() -> str | None:
        pve = await svc.pve()
        moving = [g.vmid for g in pve.guests if g.vmid in ha_ids and g.lock]
        return f"{len(moving)} HA guests still migrating: {moving}" if moving else None

    await svc.wait_for(ctx, "HA migrations under way to finish", settled, svc.limit("migrate"))
    await svc.sh(ctx.node, f"ha-manager crm-command node-maintenance disable {ctx.node}", privileged=True)
    plan = svc.plan(ctx.node)
    back = returning_ha(svc, ctx.node, everyone)
    if not plan.park:
        ctx.progress(f"ha-manager crm-command node-maintenance disable {ctx.node}: HA guests come back")
    else:  # they were moved by request: HA maintenance brings none back by itself
        ctx.progress(f"ha-manager crm-command node-maintenance disable {ctx.node}"
                     + ("" if back else ": the HA guests stay where they went"))
        if back:
            await ha_move(ctx, svc, dict.fromkeys(back, ctx.node))
    await wait_ha_back(ctx, svc, back)


async def wait_ha_back(ctx: StepContext, svc: MaintenanceServices, ha_ids: set[int] | None = None) -> None:
    ha_ids = returning_ha(svc, ctx.node, True) if ha_ids is None else ha_ids

    async def back() -> str | None:
        pve = await svc.pve()
        lrm = dict(pve.ha.lrm) if pve.ha else {}
        if "maintenance" in lrm.get(ctx.node, ""):
            return "LRM still in maintenance mode"
        away = [g.vmid for g in pve.guests if g.vmid in ha_ids and (g.node != ctx.node or g.status != "running")]
        return f"{len(away)} HA guests not back yet" if away else None

    await svc.wait_for(ctx, "HA guests back", back, svc.limit("migrate"))


class D4Migrate(BaseStep):
    id, title, phase = ("D4", "Migrate the non-HA guests (VMs live, containers restart); the HA guests gone",
                        "drain")

    async def apply(self, ctx: StepContext) -> dict:
        """Up to MIGRATE_WORKERS migrations at once (as PVE's migrateall with max_workers)."""
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        moved = dict(ctx.facts.get("moved", {}))
        ctx.facts["moved"] = moved
        pve_src = svc.src("proxmox")
        workers = asyncio.Semaphore(MIGRATE_WORKERS)

        async def one(m: Any) -> None:
            async with workers:
                g = await unlocked_guest(ctx, svc, m.vmid)  # a resumed run may find it mid-migration
                if g.node != ctx.node:  # already moved (a resumed run)
                    moved[str(m.vmid)] = {"from": ctx.node, "to": g.node, "type": m.type}
                    return
                how = "online" if m.method == "live" else f"restart (~{m.downtime_s} s down)"
                ctx.progress(f"migrate {m.kind_word} {m.vmid} {m.name} -> {m.target} ({how})")
                upid = await pve_src.migrate(ctx.node, m.vmid, m.type, m.target, online=m.method == "live",
                                             restart=m.method == "restart")
                moved[str(m.vmid)] = {"from": ctx.node, "to": m.target, "type": m.type}
                await svc.wait_task(ctx, ctx.node, upid, f"migrate {m.vmid}", svc.limit("migrate"))

        results = await asyncio.gather(*(one(m) for m in plan.moves if m.method in ("live", "restart")),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        await wait_ha_gone(ctx, svc)  # D3's HA guests left meanwhile
        return {"moved": moved}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        await migrate_back(ctx, self.svc(ctx), data.get("moved") or ctx.facts.get("moved") or {})


async def unlocked_guest(ctx: StepContext, svc: MaintenanceServices, vmid: int) -> Any:
    """The guest once no migration (or other lock) holds it."""
    found = {}

    async def free() -> str | None:
        pve = await svc.pve()
        g = next((x for x in pve.guests if x.vmid == vmid), None)
        if g is None:
            raise StepFailed(ctx.step_id or "?", f"guest {vmid} has disappeared")
        found["g"] = g
        return f"{vmid} is locked ({g.lock})" if g.lock else None

    await svc.wait_for(ctx, f"guest {vmid} unlocked", free, svc.limit("migrate"))
    return found["g"]


async def migrate_back(ctx: StepContext, svc: MaintenanceServices, moved: dict, everyone: bool = True) -> None:
    """Every non-HA guest of the plan (and any recorded as moved) back to the node it left;
    in a rolling run's rejoin (`everyone` False) only those the plan says return (none: they
    stay where they went). The plan counts too: a run killed mid-migration may not have
    recorded the move."""
    moves = [m for m in svc.plan(ctx.node).moves if m.method in ("live", "restart")]
    todo = {str(m.vmid): {"from": ctx.node, "type": m.type} for m in moves if everyone or m.returns}
    staying = {str(m.vmid) for m in moves if not (everyone or m.returns)}
    todo.update({v: info for v, info in moved.items() if v not in staying})
    pve_src = svc.src("proxmox")
    for vmid, info in todo.items():
        g = await unlocked_guest(ctx, svc, int(vmid))
        if g.node == info["from"]:
            continue
        live = info["type"] == "qemu" and g.status == "running"
        ctx.progress(f"migrate {vmid} back {g.node} -> {info['from']}")
        upid = await pve_src.migrate(g.node, int(vmid), info["type"], info["from"], online=live,
                                     restart=info["type"] == "lxc" and g.status == "running")
        await svc.wait_task(ctx, g.node, upid, f"migrate {vmid} back", svc.limit("migrate"))


class D5Noout(BaseStep):
    id, title, phase = ("D5", "Ceph: healthy again after the previous node, ok-to-stop again; noout for this node's "
                        "OSDs", "drain")

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if not svc.has("ceph"):
            return {}
        before = previous_node(svc, ctx.node)
        if before is not None:  # the gate that keeps OSDs of two hosts from being down at once (ceph_recovery.py)
            await wait_recovered(ctx, svc, before)
        reason = await ceph_can_spare(ctx, svc, allow_noout=True)
        if reason:
            raise StepFailed(self.id, reason)
        scope = await set_noout(ctx, svc, True)
        return {"noout": scope}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = self.svc(ctx)
        if svc.has("ceph"):
            await set_noout(ctx, svc, False)


async def set_noout(ctx: StepContext, svc: MaintenanceServices, on: bool) -> str:
    """noout for this node's OSDs only (`ceph osd set-group noout HOST`, as cephadm's host
    maintenance does: an OSD dying elsewhere meanwhile is still marked out and re-replicated),
    or cluster-wide through the API where `ceph` cannot be run over SSH (the plan says which).
    Returns the scope used; it is recorded so that the unset matches the set."""
    plan = svc.plan(ctx.node)
    scope = ctx.facts.get("noout_scope") or getattr(plan, "noout", "global")
    if scope == "group":
        verb = "set-group" if on else "unset-group"
        await svc.sh_cluster(f"ceph osd {verb} noout {ctx.node}", avoid=ctx.node, privileged=True)
        ctx.progress(f"ceph osd {verb} noout {ctx.node}")
    else:
        await svc.src("ceph").set_flag("noout", on)
        ctx.progress(f"ceph osd {'set' if on else 'unset'} noout (cluster-wide)")
    ctx.facts["noout_scope"] = scope
    return str(scope)


DRAIN = (D1Vip, D2SwarmDrain, D3HaMaintenance, D4Migrate, D5Noout)
