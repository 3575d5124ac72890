"""Preflight P1-P8 (maintenance-procedure.md): read-only gates, each with a reason.

A preflight step's check is the gate; its apply only records the baseline.
"""

from __future__ import annotations

from console.maintenance.ceph_recovery import catching_up, not_clean, previous_node
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.maintenance.events import names
from console.maintenance.plan_ha import not_accepted
from console.maintenance.services import MaintenanceServices
from console.model import CephState


class PreflightCheck(BaseStep):
    """A preflight gate that judges the preflight's snapshot of the cluster (services.py: the
    plan and every check share one read of each layer). A check that fails closes the snapshot:
    the next check, or a retry, reads the cluster again."""

    async def check(self, ctx: StepContext) -> str | None:
        try:
            reason = await self.gate(ctx)
        except BaseException:
            self.svc(ctx).close_snapshot()
            raise
        if reason:
            self.svc(ctx).close_snapshot()
        return reason

    async def gate(self, ctx: StepContext) -> str | None:
        return None


class P1Quorum(PreflightCheck):
    id, title = "P1", "Cluster quorate, every node online, quorum survives one node"

    async def gate(self, ctx: StepContext) -> str | None:
        pve = await self.svc(ctx).pve_snap(ctx.node)
        if not pve.quorate:
            return "the cluster is not quorate"
        down = [n.name for n in pve.nodes if n.status != "online"]
        if down:
            return f"node(s) not online: {', '.join(down)}"
        if pve.votes - 1 <= pve.expected_votes // 2:
            return f"{pve.votes}/{pve.expected_votes} votes: quorum would not survive losing {ctx.node}"
        ctx.progress(f"quorate, {pve.votes}/{pve.expected_votes} votes, all {len(pve.nodes)} nodes online")
        return None


class P2Ha(PreflightCheck):
    id, title = "P2", "HA manager active, no service in error, no other node in maintenance"

    async def gate(self, ctx: StepContext) -> str | None:
        pve = await self.svc(ctx).pve_snap(ctx.node)
        ha = pve.ha
        if ha is None:
            return None
        if not ha.quorate:
            return "HA manager reports no quorum"
        if not ha.master:
            return "HA has no active master"
        bad = [f"{s.sid} ({s.state})" for s in ha.services
               if s.state in ("error", "fence", "recovery", "migrate", "relocate")]
        if bad:
            return f"HA services not settled: {', '.join(bad)}"
        others = [n for n, st in ha.lrm if n != ctx.node and "maintenance" in st]
        if others:
            return f"other node(s) already in HA maintenance: {', '.join(others)}"
        return None


class P2bHaRules(PreflightCheck):
    id, title = "P2b", "HA rules leave every HA guest a node to go to (or its downtime is accepted)"

    async def gate(self, ctx: StepContext) -> str | None:
        plan = self.svc(ctx).plan(ctx.node)
        for e in plan.ha_stuck:
            if e["accepted"]:
                ctx.progress(f"{e['sid']} {e['name']}: stays and stops with the reboot (rule {e['rule']}): accepted")
        refused = not_accepted(plan.ha_stuck)
        if refused:
            return ("HA rules leave no node for " + "; ".join(f"{e['sid']} {e['name']} (rule {e['rule']}: {e['why']})"
                                                               for e in refused)
                    + f": PVE would keep them on {ctx.node} and stop them with its reboot; accept that downtime with "
                    + " ".join(f"--accept-downtime {e['vmid']}" for e in refused))
        return None


class P3Memory(PreflightCheck):
    id, title = "P3", "The node's running guests fit in the free memory of the others"

    async def gate(self, ctx: StepContext) -> str | None:
        plan = self.svc(ctx).plan(ctx.node)
        fit = [p for p in plan.problems if "does not fit" in p or "no other online node" in p]
        if fit:
            return "; ".join(fit)
        moves = [m for m in plan.moves if m.target]
        ctx.progress(f"{len(moves)} guests placed: " + ", ".join(f"{m.vmid}->{m.target}" for m in moves))
        return None


class P4Guests(PreflightCheck):
    id, title = "P4", "Every guest can migrate (no lock, no local resources unaccounted for)"

    async def gate(self, ctx: StepContext) -> str | None:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        pve = await svc.pve_snap(ctx.node)
        locked = [f"{g.name} ({g.vmid}: {g.lock})" for g in pve.guests
                  if g.node == ctx.node and g.status == "running" and g.lock]
        if locked:
            return f"locked guests: {', '.join(locked)}"
        for m in plan.moves:
            if m.type == "qemu" and m.target:
                pre = await svc.migrate_preconditions(ctx.node, m.vmid)
                local = pre.get("local_resources") or []
                if local:
                    return f"{m.name} ({m.vmid}) has local resources {names(local)}: cannot migrate"
                not_allowed = {n["node"] if isinstance(n, dict) else n for n in pre.get("not_allowed_nodes") or []}
                if m.target in not_allowed:
                    return f"{m.name} ({m.vmid}) may not migrate to {m.target}"
        stays = [m for m in plan.moves if m.method == "stays"]
        for m in stays:
            ctx.progress(f"{m.name} ({m.vmid}) stays: {m.note}")
        for line in await svc.backup_warnings(ctx.node):  # h-operate: warns, never blocks
            ctx.progress(line)
        return None


class P5Ceph(PreflightCheck):
    id, title = "P5", "Ceph HEALTH_OK, all PGs active+clean, the node's daemons ok-to-stop"

    async def gate(self, ctx: StepContext) -> str | None:
        svc = self.svc(ctx)
        if not svc.has("ceph"):
            return None
        ceph = await svc.ceph_snap(ctx.node)
        before, left = previous_node(svc, ctx.node), not_clean(ceph)
        if before is not None and left is not None and catching_up(ceph):  # ceph_recovery.py
            ctx.progress(f"Ceph still recovers after {before} ({left}): D5 waits until it is done, then checks "
                         f"ok-to-stop before any of {ctx.node}'s daemons stop")
            return None
        return await ceph_can_spare(ctx, svc, ceph=ceph)


async def ceph_can_spare(ctx: StepContext, svc: MaintenanceServices, allow_noout: bool = False,
                         ceph: CephState | None = None) -> str | None:
    """Health, PGs and ok-to-stop of the node's daemons; `ceph` the status to judge (P5: the
    preflight's snapshot), else read now (D5's check right before noout)."""
    ceph = ceph if ceph is not None else await svc.ceph()
    checks = [c.code for c in ceph.checks if not (allow_noout and c.code in ("OSDMAP_FLAGS", "OSD_FLAGS"))]
    if ceph.health != "HEALTH_OK" and checks:
        return f"Ceph is {ceph.health}: {', '.join(checks)}"
    if ceph.num_pgs and ceph.clean_pgs != ceph.num_pgs:
        return f"{ceph.num_pgs - ceph.clean_pgs}/{ceph.num_pgs} PGs not active+clean"
    plan = svc.plan(ctx.node)
    src = svc.src("ceph")
    if plan.osds:
        ok, detail = await src.ok_to_stop("osd", plan.osds)
        if not ok:
            return f"ceph osd ok-to-stop {' '.join(map(str, plan.osds))}: not safe ({_why(detail)})"
    for mon in plan.mons:
        ok, detail = await src.ok_to_stop("mon", [mon])
        if not ok:
            return f"ceph mon ok-to-stop {mon}: not safe ({_why(detail)})"
    for mds in plan.mds:
        ok, detail = await src.ok_to_stop("mds", [mds])
        if not ok:
            return f"ceph mds ok-to-stop {mds}: not safe ({_why(detail)})"
    if plan.mgrs and not [m for m in (ceph.mgr_active, *ceph.mgr_standbys) if m and m not in plan.mgrs]:
        return "no standby mgr on another node"
    daemons = [f"osd.{i}" for i in plan.osds] + [f"mon.{m}" for m in plan.mons] + [f"mds.{m}" for m in plan.mds] \
        + [f"mgr.{m}" for m in plan.mgrs]
    ctx.progress(f"Ceph can spare {names(daemons)}")
    return None


def _why(detail: object) -> str:
    if isinstance(detail, dict):
        bad = detail.get("bad_become_inactive") or detail.get("osds")
        return f"PGs would become inactive: {names(bad) if isinstance(bad, list) else bad}" if bad else "refused"
    return str(detail).strip().splitlines()[-1] if detail else "refused"


class P6Swarm(PreflightCheck):
    id, title = "P6", "Swarm keeps a manager majority"

    async def gate(self, ctx: StepContext) -> str | None:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        if not svc.has("swarm") or not plan.swarm_drain:
            return None
        sw = await svc.swarm_snap(ctx.node)
        managers = [n for n in sw.nodes if n.role == "manager"]
        left = [n for n in managers if n.hostname != plan.swarm_node and n.state == "ready"]
        if len(left) <= len(managers) // 2:
            return f"only {len(left)}/{len(managers)} managers would remain"
        return None


class P7Vrrp(PreflightCheck):
    id, title = "P7", "The peer firewall is a healthy BACKUP on another node"

    async def gate(self, ctx: StepContext) -> str | None:
        svc = self.svc(ctx)
        plan = svc.plan(ctx.node)
        if not svc.has("vrrp") or not plan.firewall:
            return None
        state = await svc.vrrp_snap(ctx.node)
        peer = next((f for f in state.firewalls if f.name == plan.peer_firewall), None)
        if peer is None or not peer.answering:
            return f"peer firewall {plan.peer_firewall} is not answering"
        if plan.vip_move and not any(i.state == "BACKUP" for i in peer.instances):
            return f"peer firewall {peer.name} is not BACKUP"
        pve = await svc.pve_snap(ctx.node)
        vmid = next((f.vmid for f in svc.cluster.vrrp.firewalls if f.name == peer.name), None)
        host = next((g.node for g in pve.guests if g.vmid == vmid), None)
        if host == ctx.node:
            return f"peer firewall {peer.name} runs on {ctx.node} too"
        return None


class P8Baseline(BaseStep):
    """The apt update runs in the background (apt_download.py: for every node when a rolling run
    begins, else from here) with the package download after it; P8 waits for the lists only."""

    id, title = "P8", "Package lists refreshed; record pending updates and the running kernel"
    skippable = False

    # h-operate2: the enterprise repository without a subscription
    async def check(self, ctx: StepContext) -> str | None:
        from console.ops.node_detail import repo_preflight

        svc = self.svc(ctx)
        return await repo_preflight(svc.src("proxmox"), ctx.node) if svc.has("proxmox") else None

    async def apply(self, ctx: StepContext) -> dict:
        from console.maintenance.apt_download import lists_refreshed

        svc = self.svc(ctx)
        svc.close_snapshot()  # the checks are over: every step from here reads the cluster as it is
        pve = svc.src("proxmox")
        await lists_refreshed(ctx, svc)
        pending = await pve.apt_pending(ctx.node)
        versions = await pve.apt_versions(ctx.node)
        mgr: dict = next((v for v in versions if v.get("Package") == "pve-manager"), {})
        ctx.facts["pending"] = {p["Package"]: p.get("Version") for p in pending}
        ctx.facts["running_kernel_api"] = mgr.get("RunningKernel")
        ctx.progress(f"{len(pending)} packages to upgrade; running kernel {mgr.get('RunningKernel')}"
                     + ("; their download runs while the node drains" if pending else ""))
        if not pending:
            ctx.progress("nothing to upgrade: the node will still be drained, rebooted only if needed")
        return {}


PREFLIGHT = (P1Quorum, P2Ha, P2bHaRules, P3Memory, P4Guests, P5Ceph, P6Swarm, P7Vrrp, P8Baseline)


def require(condition: bool, step: str, message: str) -> None:
    if not condition:
        raise StepFailed(step, message)
