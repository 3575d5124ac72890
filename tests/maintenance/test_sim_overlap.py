"""A rolling run overlaps the next node's preflight and drain with Ceph's recovery after the
previous node (console/maintenance/ceph_recovery.py). What makes it safe, against the sim's
truth: no host's OSDs go down (U1 may restart them, U2 reboots the host) before every PG is
active+clean again after the node before it; P5 accepts Ceph still catching up on the run's
previous node and nothing worse; D5 waits for the recovery before ok-to-stop and noout."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from console.maintenance.engine import StepContext
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.runner import build_plan, steps_for
from console.maintenance.steps_drain import D5Noout
from console.maintenance.steps_preflight import P5Ceph
from console.model import CephCheck
from tests.maintenance.conftest import Maint, noout_on, upgraded

ORDER = ["pve3", "pve1", "pve2"]


@pytest.mark.slow
async def test_no_host_goes_down_before_ceph_recovered_from_the_one_before(lab):
    seen: list[tuple[str, str, dict, bool]] = []  # (node, step, PG states, every OSD up) as each step starts
    async with Maint(lab) as m:
        told = m._event

        def event(e):
            told(e)
            if e.kind == "step-started" and e.step in ("P0", "D5", "U1", "U2"):
                ceph = lab.state()["ceph"]  # the sim's truth, read before the step acts
                seen.append((e.node, e.step, ceph["pg_states"], ceph["osds_up"] == ceph["osds"]))

        run = MaintenanceRun.start(m.cluster.name, ORDER, steps_for, m.svc, event, kind="rolling")
        state = await run.run()
        assert state == "done", f"{state}; {m.failures()}\n{m.transcript()}"
    assert all(upgraded(lab, n) for n in ORDER)
    # the steps that may take a host's OSDs down start only with Ceph whole again
    for node, step, pgs, all_up in seen:
        if step in ("U1", "U2"):
            assert set(pgs) == {"active+clean"} and all_up, (node, step, pgs, all_up)
    assert [(n, s) for n, s, _, _ in seen if s == "U2"] == [(n, "U2") for n in ORDER]
    # the overlap: each node but the last left the wait to the next node's D5, the last waited itself
    recs = list(run.journal.records())
    v5 = {r["node"]: r["facts"].get("recovery_waited_by") for r in recs
          if r["event"] == "apply-done" and r.get("step") == "V5"}
    assert v5 == {"pve3": "pve1", "pve1": "pve2", "pve2": None}, v5
    # one node at a time all the same: a node's steps start after the one before it is done
    starts = [(r["node"], r["step"]) for r in recs if r["event"] == "apply-start"]
    done_at = [next(i for i, r in enumerate(recs) if r["event"] == "node-done" and r["node"] == n) for n in ORDER]
    first = [next(i for i, r in enumerate(recs) if r["event"] == "apply-start" and r["node"] == n) for n in ORDER]
    assert first[1] > done_at[0] and first[2] > done_at[1], starts


def recovering(state, behind: int = 17):
    """`state` as Ceph reports it catching up on a node's OSDs: all up, some PGs active+degraded."""
    return dataclasses.replace(
        state, health="HEALTH_WARN",
        checks=(CephCheck("PG_DEGRADED", "HEALTH_WARN", f"Degraded data redundancy: {behind} pgs degraded"),),
        pg_states=(("active+clean", state.num_pgs - behind), ("active+recovering+degraded", behind)))


async def test_p5_accepts_recovery_after_the_previous_node_and_d5_waits_for_it(lab):
    async with Maint(lab) as m:
        ceph = m.sources.get("ceph")
        real_fetch = ceph.fetch
        mode = {"now": "recovering"}

        async def fetch():
            st = await real_fetch()
            if mode["now"] == "recovering":
                return recovering(st)
            if mode["now"] == "osd down":
                osds = tuple(dataclasses.replace(o, up=False) if o.id == 2 else o for o in st.osds)
                return dataclasses.replace(recovering(st), osds=osds)
            return st
        ceph.fetch = fetch
        m.svc.rolling_run = (["pve3", "pve1"], ["pve3"])
        m.svc.plans["pve1"] = await build_plan(m.svc, "pve1")
        said: list[str] = []
        ctx = StepContext("pve1", m.svc, emit=lambda e: said.append(e.text or ""), step_id="P5")
        assert await P5Ceph().check(ctx) is None
        assert any("Ceph still recovers after pve3" in s and "D5 waits" in s for s in said), said

        mode["now"] = "osd down"  # not recovery: an OSD is down, P5 refuses
        m.svc.close_snapshot()
        assert "Ceph is HEALTH_WARN" in (await P5Ceph().check(ctx) or "")
        mode["now"] = "recovering"
        m.svc.rolling_run = None  # no node of this run before it: the plain check, which refuses
        assert "Ceph is HEALTH_WARN" in (await P5Ceph().check(ctx) or "")

        m.svc.rolling_run = (["pve3", "pve1"], ["pve3"])
        ctx.step_id = "D5"
        d5 = asyncio.create_task(D5Noout().apply(ctx))
        await asyncio.sleep(0.5)
        assert not d5.done() and not noout_on(lab, "pve1")  # waits; nothing set while Ceph recovers
        assert any("Ceph recovered after pve3" in s for s in said), said
        mode["now"] = "clean"
        assert await asyncio.wait_for(d5, 10) == {"noout": "group"}
        assert noout_on(lab, "pve1")
