"""One preflight, one read of the cluster: the plan and the checks P1-P7 share the reads the
plan made (services.py PreflightSnapshot); a failed check, the end of the preflight and every
step after it read the cluster afresh (D5 asks Ceph again right before noout)."""

from __future__ import annotations

from collections import Counter

from console.maintenance.engine import StepContext
from console.maintenance.preflight_run import run_preflight
from console.maintenance.runner import build_plan, steps_for
from console.maintenance.steps_preflight import P3Memory, P4Guests, P5Ceph, ceph_can_spare
from tests.maintenance.conftest import Maint


def count_reads(m: Maint) -> Counter:
    """Counts every fetch of the Proxmox and Ceph sources and every migrate-preconditions call."""
    calls: Counter = Counter()
    for name in ("proxmox", "ceph"):
        src = m.sources.get(name)
        fetch = src.fetch

        async def counted(fetch=fetch, name=name):
            calls[name] += 1
            return await fetch()
        src.fetch = counted
    pve = m.sources.get("proxmox")
    pre = pve.migrate_preconditions

    async def counted_pre(node, vmid):
        calls[f"migrate/{vmid}"] += 1
        return await pre(node, vmid)
    pve.migrate_preconditions = counted_pre
    return calls


async def test_plan_and_checks_share_one_read_of_each_layer(lab):
    async with Maint(lab) as m:
        calls = count_reads(m)
        plan = await build_plan(m.svc, "pve3")
        m.svc.plans["pve3"] = plan
        checks = await run_preflight(m.svc, "pve3", plan, steps_for)
        assert all(c.ok for c in checks), [(c.id, c.reason) for c in checks if not c.ok]
        assert {c.id for c in checks} >= {"P1", "P2", "P2b", "P3", "P4", "P5", "P6", "P7"}
        assert calls["proxmox"] == 1 and calls["ceph"] == 1, calls
        vm_reads = {k: v for k, v in calls.items() if k.startswith("migrate/")}
        assert vm_reads and set(vm_reads.values()) == {1}, vm_reads  # the plan asked, P4 reused the answer
        assert m.svc.snapshot is None  # the preflight is over: what runs next reads afresh
        before = calls["ceph"]
        ctx = StepContext("pve3", m.svc)
        assert await ceph_can_spare(ctx, m.svc, allow_noout=True) is None  # D5's re-check
        assert calls["ceph"] == before + 1


async def test_a_failed_check_makes_the_next_read_fresh(lab):
    async with Maint(lab) as m:
        calls = count_reads(m)
        plan = await build_plan(m.svc, "pve3")
        m.svc.plans["pve3"] = plan
        ctx = StepContext("pve3", m.svc)
        assert await P5Ceph().check(ctx) is None
        assert calls["ceph"] == 1  # the plan's read
        plan.problems.append("guest 999 does not fit anywhere")  # what P3 refuses
        assert "does not fit" in (await P3Memory().check(ctx) or "")
        assert m.svc.snapshot is None
        assert await P4Guests().check(ctx) is None
        assert await P5Ceph().check(ctx) is None  # a retry judges the cluster as it is now
        assert calls["proxmox"] == 2 and calls["ceph"] == 2, calls
