"""Glue: the steps of a node, the plan before it, the order of a rolling run."""

from __future__ import annotations

import asyncio
from typing import Any

from console.errors import ConsoleError
from console.inert import cap
from console.maintenance.engine import BaseStep, StepContext
from console.maintenance.plan_park import rolling_spot
from console.maintenance.planner import Plan, make_plan
from console.maintenance.rolling import StepsFactory
from console.maintenance.services import MaintenanceServices
from console.maintenance.steps_drain import DRAIN
from console.maintenance.steps_preflight import PREFLIGHT
from console.maintenance.steps_upgrade import UPGRADE
from console.maintenance.steps_verify import REJOIN, VERIFY
from console.model import ProxmoxState


async def build_plan(svc: MaintenanceServices, node: str) -> Plan:
    """Read every layer now and plan `node`; ask Proxmox and Ceph the questions the plan needs.
    These reads open the node's preflight snapshot: its checks judge the cluster the plan saw."""
    svc.open_snapshot(node)
    svc.read_early(node, "backups", lambda: svc.read_backup_warnings(node))  # for P4, read meanwhile
    pve = await svc.pve_snap(node)
    reads: dict[str, Any] = {}
    for name in ("ceph", "swarm", "vrrp"):
        if svc.has(name):
            try:
                reads[name] = await svc.snap(node, name, svc.src(name).fetch)
            except Exception:  # noqa: BLE001 - the plan says what it could not read; preflight gates it
                reads[name] = None
    local: dict[int, list[str]] = {}
    running_vms = [g for g in pve.guests if g.node == node and g.type == "qemu" and g.status == "running"]
    pre = await asyncio.gather(*(svc.migrate_preconditions(node, g.vmid) for g in running_vms),
                               return_exceptions=True)
    for g, p in zip(running_vms, pre, strict=True):
        if isinstance(p, dict) and p.get("local_resources"):
            local[g.vmid] = [str(x) for x in p["local_resources"]]
    run = getattr(svc, "rolling_run", None)
    rolling = rolling_spot(run[0], run[1], node, [n.name for n in pve.nodes]) if run else None
    plan = make_plan(node, pve, svc.cluster, reads.get("ceph"), reads.get("swarm"), reads.get("vrrp"), local,
                     accept_downtime=frozenset(getattr(svc, "accept_downtime", ())), rolling=rolling)
    await _plan_packages(svc, plan)
    if plan.osds:
        plan.noout = "group" if await svc.ceph_over_ssh(node) else "global"
    plan.force_reboot = node in getattr(svc, "force_reboot", ())
    plan.drain_only = node in getattr(svc, "drain_only", ())
    return plan


async def _plan_packages(svc: MaintenanceServices, plan: Plan) -> None:
    """The packages apt would upgrade, from PVE's own list (the last `apt update`)."""
    try:
        rows = await svc.src("proxmox").apt_pending(plan.node)
    except ConsoleError:
        return  # the count from the node list stays; P8 refreshes and records the list
    plan.packages = [[cap(r.get("Package"), 80), cap(r.get("OldVersion") or "", 60), cap(r.get("Version"), 60)]
                     for r in rows if isinstance(r, dict) and r.get("Package")]
    plan.pending_updates = len(plan.packages)


class P0Plan(BaseStep):
    id, title = "P0", "Plan: where every guest goes, what stops"

    async def apply(self, ctx: StepContext) -> dict:
        svc: MaintenanceServices = ctx.services
        plan = svc.plans.get(ctx.node) if svc.fresh_snapshot(ctx.node) is not None else None
        if plan is None:
            plan = await build_plan(svc, ctx.node)
        else:  # `run --yes`: the review planned it a moment ago, with the reads the checks share
            ctx.progress(f"the plan the review made {svc.snapshot_age():.0f} s ago, from the same reads:")
        svc.plans[ctx.node] = plan
        ctx.facts["plan"] = plan.to_dict()
        for line in plan.text().splitlines():
            ctx.progress(line)
        if plan.problems:
            from console.maintenance.engine import StepFailed

            raise StepFailed(self.id, "; ".join(plan.problems))
        return {}


class DrainPlan(P0Plan):
    """P0 of a drain-only run (console/maintenance/drain_only.py): the plan says so."""

    async def apply(self, ctx: StepContext) -> dict:
        ctx.services.drain_only.add(ctx.node)
        return await super().apply(ctx)


def steps_for(node: str) -> list[BaseStep]:
    classes = (P0Plan, *PREFLIGHT, *DRAIN, *UPGRADE, *VERIFY, *REJOIN)
    return [c() for c in classes]


def steps_for_kind(kind: str | None) -> StepsFactory:
    """The steps of a run of this kind (the journal header's "kind"): drain-only or upgrade."""
    from console.maintenance.drain_only import drain_steps_for

    return drain_steps_for if kind == "drain" else steps_for


def restore_plan(svc: MaintenanceServices, node: str, facts: dict) -> None:
    if node not in svc.plans and facts.get("plan"):
        svc.plans[node] = Plan.from_dict(facts["plan"])


def rolling_order(pve: ProxmoxState, order: list[str] | None = None) -> list[str]:
    """Given order, else: nodes with pending updates (unknown counts as pending), fewest running
    containers first (the first node's guests find no upgraded node to stay on: they move twice,
    plan_park.py), then fewest running guests."""
    if order:
        known = {n.name for n in pve.nodes}
        unknown = [n for n in order if n not in known]
        if unknown:
            raise ConsoleError("maintenance",
                               f"unknown node(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return order
    running = {n.name: 0 for n in pve.nodes}
    cts = dict(running)
    for g in pve.guests:
        if g.status == "running" and g.node in running:
            running[g.node] += 1
            cts[g.node] += g.type == "lxc"
    todo = [n for n in pve.nodes if n.pending_updates is None or n.pending_updates > 0]
    return [n.name for n in sorted(todo, key=lambda n: (cts[n.name], running[n.name], n.name))]
