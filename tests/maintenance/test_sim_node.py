"""A full maintenance of each seed node against the simulated lab: drain, upgrade,
reboot, verify, rejoin, with the lab's own record of what it cost."""

from __future__ import annotations

import pytest

from console.maintenance.apt_download import DOWNLOAD
from console.sim.scenarios import SEED_SERVICES
from console.sim.world_core import DURATIONS
from tests.maintenance.conftest import Maint, guests_by_vmid, problems_after, upgraded

CT_MOVE = DURATIONS["ct_shutdown"] + DURATIONS["ct_move"] + DURATIONS["ct_start"]  # a restart-migration
MULTI_REPLICA = {name for name, _, mode, replicas, _ in SEED_SERVICES if mode == "global" or replicas >= 2}

# guests that cannot move (PCI passthrough): they go down with their node's reboot
STAYS = {"pve3": {111}}


@pytest.mark.parametrize("node", ["pve1", "pve2", "pve3"])
async def test_full_maintenance_of_one_node(lab, node):
    before = await guests_by_vmid(lab)
    lab.reset_availability()
    async with Maint(lab) as m:
        run = m.start([node])
        state = await run.run()
        assert state == "done", f"{node}: {state}; failures {m.failures()}\n{m.transcript()}"
    assert upgraded(lab, node), lab.state()["nodes"][node]
    others = [n for n in ("pve1", "pve2", "pve3") if n != node]
    assert not any(upgraded(lab, n) for n in others)
    assert await problems_after(lab, before) == []

    steps = [e.step for e in m.events if e.kind == "step-done"]
    assert steps[0] == "P0" and steps[-1] == "V5" and len(steps) == len(set(steps))
    # every mutating remote call is journaled before and after, inside its step
    recs = list(run.journal.records())
    calls = [(r["event"], r["step"], r["call"]) for r in recs if r["event"].startswith("call-")]
    starts = [c for c in calls if c[0] == "call-start"]
    assert len(starts) == len([c for c in calls
                               if c[0] == "call-done"]) and not any(c[0] == "call-failed" for c in calls)
    assert ("call-start", "D3", f"ssh {node}: ha-manager crm-command node-maintenance enable {node}") in starts
    # noout for this node's OSDs only, through `ceph` on another node (this one reboots)
    [noout] = [c for _, s, c in starts if s == "D5"]
    assert noout.endswith(f": ceph osd set-group noout {node}") and not noout.startswith(f"ssh {node}:")
    assert not any("set_flag" in c for _, _, c in starts)
    assert any(s == "U1" and c.startswith(f"ssh {node}: DEBIAN_FRONTEND=noninteractive apt-get -y ")
               for _, s, c in starts)
    assert any(s == "P8" and c == f"ssh {node}: {DOWNLOAD}" for _, s, c in starts)  # fetched while it drains
    assert not any("uname" in c or "dpkg-query" in c for _, _, c in starts)  # reads are not journaled
    # where a guest could move, it did not lose a second; the VIP moved inside two adverts
    av = lab.availability()
    lost = {int(k): v for k, v in av["guests"].items()}
    for vmid, g in before.items():
        if g["status"] != "running" or g["node"] != node:
            assert vmid not in lost, f"guest {vmid} on another node lost {lost.get(vmid)} s"
        elif g["type"] == "qemu" and vmid not in STAYS.get(node, ()):
            assert vmid not in lost, f"VM {vmid} lost {lost[vmid]} s although it live-migrates"
        elif g["type"] == "lxc":  # out and back: two restart-migrations at most
            assert lost.get(vmid, 0) <= 2 * CT_MOVE, f"CT {vmid} lost {lost[vmid]} s"
    for vmid in STAYS.get(node, ()):
        assert lost.get(vmid, 0) > 0, "a guest that cannot move goes down with its node's reboot"
    assert av["service_seconds_total"] == 0, av["services"]
    assert av["vip_longest_gap"] <= 2.0, av
    # the run's last step: the seed's sync group VG_1 is back on its preferred fw1
    [fb] = [r["failback"] for r in recs if r["event"] == "vip-failback"]
    assert lab.state()["vrrp"]["vip_holder"] == ["fw1"]
    if node == "pve1":  # fw1 runs here: D1 moved VG_1 to fw2, the fail-back brought it home
        [moved] = fb["moved"]
        assert (moved["units"], moved["from"], moved["to"]) == (["VG_1 (WAN, LAN, IOT)"], "fw2", "fw1"), fb
        assert 0 <= moved["gap_s"] <= 2.0, fb  # at most two adverts without a MASTER
        assert moved["by"] == "vip failback action"  # console/ops/firewall.py did the hand-over
        # its track-file writes are journaled like any step's
        assert ("call-start", "VIP", "vrrp.set_track(fw2, 1)") in [
            (r["event"], r.get("step"), r.get("call")) for r in recs], [r for r in recs if r.get("step") == "VIP"]
        from console.maintenance.end_report import end_report

        assert "VIP fail-back: VG_1 (WAN, LAN, IOT) fw2 -> fw1, no MASTER for" in end_report(run, state)
    else:
        assert fb == {"moved": [], "skipped": ["every VIP is already on its preferred firewall"]}, fb


async def test_plan_is_readable_before_anything_runs(lab):
    from console.maintenance.runner import build_plan

    async with Maint(lab) as m:
        plan = await build_plan(m.svc, "pve3")
    text = plan.text()
    assert plan.ok, plan.problems
    assert "111 jellyfin" in text and "stays: local resources (hostpci0)" in text
    assert "osd.2" in text and "mon.pve3" in text
    by_vmid = {mv.vmid: mv for mv in plan.moves}
    assert by_vmid[123].method == "live" and by_vmid[123].target in ("pve1", "pve2")
    assert lab.state()["nodes"]["pve3"]["upgradable"] == 12  # planning changed nothing


async def test_swarm_node_drained_and_activated_when_its_vm_would_stop(lab):
    """The seed's swarm VMs live-migrate, so no drain is planned; force the plan to treat
    swarm1 as stopping (as for a VM that cannot move) and check D2/R3 on the sim's swarm."""
    before = await guests_by_vmid(lab)
    lab.reset_availability()
    seen = {}

    async with Maint(lab) as m:
        def force_drain():
            plan = m.svc.plans["pve1"]
            assert plan.swarm_node == "swarm1" and not plan.swarm_drain
            plan.swarm_drain = True

        def look():
            seen["swarm1"] = lab.state()["swarm"]["nodes"]["swarm1"]

        m.on("step-done", "P0", force_drain)
        m.on("step-done", "D2", look)
        assert await m.start(["pve1"]).run() == "done", m.transcript()
    assert seen["swarm1"]["availability"] == "drain"
    assert any("drain swarm1" in (e.text or "") for e in m.events if e.step == "D2")
    assert await problems_after(lab, before) == []  # swarm1 active again, every service converged
    av = lab.availability()
    assert not {s: v for s, v in av["services"].items() if s in MULTI_REPLICA}, av
