"""Verify V1-V6 (the gate for rejoin) and rejoin R1-R4.

Verify steps only read. Rejoin steps undo the drain; their own undo drains
again, so a rollback that reaches the upgrade steps always finds the node
drained.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from console.inert import cap
from console.maintenance.ceph_recovery import next_node, wait_recovered
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.maintenance.events import names
from console.maintenance.steps_drain import (
    D1Vip,
    D2SwarmDrain,
    D3HaMaintenance,
    D4Migrate,
    ha_maintenance_off,
    migrate_back,
    set_noout,
)
from console.maintenance.steps_upgrade import kernel_key, parse_dpkg, parse_kernels

if TYPE_CHECKING:
    pass


class V1Online(BaseStep):
    id, title, phase = "V1", "Node online, cluster quorate with every vote", "verify"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)

        async def ok() -> str | None:
            pve = await svc.pve()
            me = next((n for n in pve.nodes if n.name == ctx.node), None)
            if me is None or me.status != "online":
                return f"{ctx.node} is {me.status if me else 'missing'}"
            if not pve.quorate or pve.votes != pve.expected_votes:
                return f"votes {pve.votes}/{pve.expected_votes}"
            return None

        await svc.wait_for(ctx, f"{ctx.node} online and quorate", ok, svc.limit("node_online"))
        return {}


class V2Versions(BaseStep):
    id, title, phase = "V2", "New kernel running, nothing pending, pve-manager running = installed", "verify"
    together = True  # once V1 saw the node up, reads and waits independent of each other: at once (Engine)

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        pve = svc.src("proxmox")
        # every read at once (they are independent); judged in the order below
        uname, klist, pending, versions, dpkg = await asyncio.gather(
            svc.sh(ctx.node, "uname -r"), svc.sh(ctx.node, "proxmox-boot-tool kernel list"),
            pve.apt_pending(ctx.node), pve.apt_versions(ctx.node),
            svc.sh(ctx.node, "dpkg-query -W -f '${Package} ${Version}\\n' pve-manager"))
        running = uname.stdout.strip()
        kernels = parse_kernels(klist.stdout)
        newest = max(kernels, key=kernel_key) if kernels else running
        if running != newest:
            raise StepFailed(self.id, f"running kernel {running}, but {newest} is installed")
        if pending:
            raise StepFailed(self.id, f"{len(pending)} packages still pending: "
                             + ", ".join(p.get("Package", "?") for p in pending[:5]))
        mgr: dict = next((v for v in versions if v.get("Package") == "pve-manager"), {})
        installed = parse_dpkg(dpkg.stdout)
        want = installed.get("pve-manager")
        have = mgr.get("ManagerVersion") or mgr.get("Version")
        if want and have and not str(have).startswith(want.split("~")[0]) and want not in str(have):
            raise StepFailed(self.id, f"pve-manager running {have}, installed {want}: restart pveproxy/pvedaemon")
        ctx.progress(f"kernel {running}, pve-manager {have}, nothing pending")
        return {}


class V3Lrm(BaseStep):
    id, title, phase = "V3", "The node's HA services show no errors", "verify"
    together = True  # once V1 saw the node up, reads and waits independent of each other: at once (Engine)

    async def apply(self, ctx: StepContext) -> dict:
        pve = await self.svc(ctx).pve()
        bad = [s.sid for s in (pve.ha.services if pve.ha else ()) if s.state in ("error", "fence")]
        if bad:
            raise StepFailed(self.id, f"HA services in error: {', '.join(bad)}")
        return {}


class V4Ceph(BaseStep):
    id, title, phase = "V4", "The node's OSDs up and in, its mon in quorum, only noout left", "verify"
    together = True  # once V1 saw the node up, reads and waits independent of each other: at once (Engine)

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if not svc.has("ceph"):
            return {}
        plan = svc.plan(ctx.node)

        async def ok() -> str | None:
            c = await svc.ceph()
            down = [o.name for o in c.osds if o.id in plan.osds and not (o.up and o.in_)]
            if down:
                return f"{', '.join(down)} not up/in"
            out = [m for m in plan.mons if m not in c.quorum]
            if out:
                return f"mon {', '.join(out)} not in quorum"
            other = [k.code for k in c.checks
                     if k.code not in ("OSDMAP_FLAGS", "OSD_FLAGS", "PG_DEGRADED", "PG_AVAILABILITY",
                                                                  "OBJECT_DEGRADED")]
            return f"Ceph warnings: {', '.join(other)}" if other else None

        await svc.wait_for(ctx, "the node's Ceph daemons back", ok, svc.limit("ceph_up"))
        return {}


class V6Traefik(BaseStep):
    id, title, phase = "V6", "Traefik: no router errors, every server UP", "verify"
    together = True  # once V1 saw the node up, reads and waits independent of each other: at once (Engine)

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if not svc.has("traefik"):
            return {}

        async def ok() -> str | None:
            t = await svc.src("traefik").fetch()
            errs = [r.name for r in t.routers if r.errors]
            down = [s.name for s in t.services if any(x.status == "DOWN" for x in s.servers)]
            if errs or down:
                return (f"routers with errors: {names(cap(n, 60) for n in errs[:3])}; "
                        f"services with servers down: {names(cap(n, 60) for n in down[:3])}")
            return None

        await svc.wait_for(ctx, "Traefik healthy", ok, svc.limit("traefik"))
        return {}


class R1Unset(BaseStep):
    """Ceph recovers from here on; V5, the run's last step of the node, waits for it (or, in a
    rolling run with a node still to come, that node's D5: ceph_recovery.py)."""

    id, title, phase = "R1", "Unset noout (the node's group, or global)", "rejoin"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if svc.has("ceph"):
            await set_noout(ctx, svc, False)
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = self.svc(ctx)
        if svc.has("ceph"):
            await set_noout(ctx, svc, True)


class V5Clean(BaseStep):
    """Last, so that the rejoin (guests back, Swarm, VIP) goes on while Ceph recovers: none of it
    touches an OSD. In a rolling run with a node still to come, that node's D5 waits instead and
    its preflight and drain go on meanwhile (ceph_recovery.py)."""

    id, title, phase = "V5", "Ceph recovered: every PG active+clean", "rejoin"

    @property
    def read_only(self) -> bool:
        return True  # a wait: nothing to undo

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if not svc.has("ceph"):
            return {}
        later = next_node(svc, ctx.node)
        if later is not None:
            ctx.facts["recovery_waited_by"] = later
            ctx.progress(f"Ceph recovers while {later}'s preflight and drain go on; {later}'s D5 waits for every PG "
                         "active+clean before any of its OSDs may stop")
            return {}
        await wait_recovered(ctx, svc, ctx.node)
        return {}


class R2Guests(BaseStep):
    id, title, phase = ("R2", "HA maintenance off; guests back (in a rolling run only those whose HA rules prefer "
                        "this node)", "rejoin")

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)

        async def guests_back() -> None:
            await ha_maintenance_off(ctx, svc, everyone=False)
            await migrate_back(ctx, svc, ctx.facts.get("moved") or {}, everyone=False)

        if not (plan.park and next_node(svc, ctx.node) is None):
            await guests_back()
            return {}
        # the run's last node: Swarm manager VMs that had to share a node while it was down come
        # back to it now, with the guests that return and while Ceph recovers (V5), rather than
        # after (return_guests.py)
        from console.maintenance.return_guests import spread_managers

        back, spread = await asyncio.gather(guests_back(), spread_managers(
            ctx, svc, {m.vmid: ctx.node for m in plan.moves if m.type == "qemu" and m.target}),
            return_exceptions=True)  # both end before a failure of either is the step's
        for outcome in (back, spread):
            if isinstance(outcome, BaseException):
                raise outcome
        return {"spread": spread} if spread else {}

    async def undo(self, ctx: StepContext, data: dict) -> None:  # drain again before anything below is undone
        await D3HaMaintenance().apply(ctx)
        await D4Migrate().apply(ctx)


class R3SwarmActive(BaseStep):
    id, title, phase = "R3", "Swarm node active again", "rejoin"

    async def apply(self, ctx: StepContext) -> dict:
        await D2SwarmDrain().undo(ctx, {})
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        await D2SwarmDrain().apply(ctx)


class R4Vip(BaseStep):
    id, title, phase = "R4", "Restore the firewall's track file (VIP stays on the peer: nopreempt)", "rejoin"

    async def apply(self, ctx: StepContext) -> dict:
        await D1Vip().undo(ctx, {})
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        await D1Vip().apply(ctx)


VERIFY = (V1Online, V2Versions, V3Lrm, V4Ceph, V6Traefik)
REJOIN = (R1Unset, R2Guests, R3SwarmActive, R4Vip, V5Clean)
