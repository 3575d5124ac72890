"""A Swarm node VM's upgrade drains its Swarm node before the reboot, or before the
dist-upgrade itself when docker-ce/containerd are pending (their upgrade restarts dockerd:
the sim stops the node's tasks then), and makes it active again after verify (node
maintenance's D2/R3), also when the upgrade is rolled back, and a manager is not
restarted while another manager is down (P6)."""

from __future__ import annotations

import asyncio

import pytest

from console.config_model import GuestProbe
from console.sim.scenarios import SEED_SERVICES
from tests.maintenance.conftest import cluster_of, guests_by_vmid, problems_after, spawn_and_kill_at
from tests.upgrade.conftest import (
    cluster_for,
    guests,
    journal_records,
    probe_url,
    upgrade,
    upgrade_cli,
    upgrade_cmd,
)

MULTI_REPLICA = {name for name, _, mode, replicas, _ in SEED_SERVICES if mode == "global" or replicas >= 2}


def swarm_calls(state_dir) -> list[tuple[str, str]]:
    """(step, call) of every journaled write that changes swarm2's availability."""
    return [(r["step"], r["call"]) for r in journal_records(state_dir) if r["event"] == "call-start"
            and "swarm2" in r["call"]]


def power_of(lab, vmid: int, action: str) -> None:
    """Stop or start a guest through the sim's Proxmox API."""
    from console.ops.guests import power
    from console.sources import build_sources

    async def go() -> None:
        sources = build_sources(cluster_of(lab))
        try:
            assert (await power(sources, vmid, action)).ok
        finally:
            await sources.close()

    asyncio.run(go())


def spy_on_reboots(lab, monkeypatch) -> list[tuple[str, int, int]]:
    """The real reboot call, with swarm2's availability and the services converged (of all)
    read from the sim at the moment each reboot is sent."""
    from console.ops import guests as ops_guests

    real, seen = ops_guests.power, []

    async def power(sources, vmid, action, *a, **kw):
        if action == "reboot":
            sw = (await asyncio.to_thread(lab.state))["swarm"]
            seen.append((sw["nodes"]["swarm2"]["availability"], sw["services_converged"], sw["services"]))
        return await real(sources, vmid, action, *a, **kw)

    monkeypatch.setattr(ops_guests, "power", power)
    return seen


def dockerd_kills(lab) -> list[str]:
    """The Swarm tasks a dockerd restart stopped (a docker package upgraded on an undrained node)."""
    from console.sources.swarm import SwarmSource

    async def go() -> list[str]:
        src = SwarmSource(cluster_of(lab).swarm)
        try:
            state = await src.fetch()
        finally:
            await src.close()
        return [t.id for t in state.tasks if "dockerd restarted" in (t.error or "")]

    return asyncio.run(go())


def test_a_swarm_vm_is_drained_before_its_reboot_and_active_after(lab, state_dir, monkeypatch):
    before = asyncio.run(guests_by_vmid(lab))
    reboots = spy_on_reboots(lab, monkeypatch)
    lab.reset_availability()
    code, out = upgrade(cluster_for(lab, grace=0), "run", "swarm2", "--yes")
    assert code == 0, out[-3000:]
    assert guests(lab)["122"]["kernel"] == "6.1.0-28-amd64"  # it did reboot
    # when the reboot was sent swarm2 was drained and every service had its replicas elsewhere
    assert len(reboots) == 1 and reboots[0][0] == "drain" and reboots[0][1] == reboots[0][2], reboots
    calls = swarm_calls(state_dir)
    # docker-ce is pending in the Swarm VMs: drained before the dist-upgrade (G2), not again for G3
    assert [(step, "drain" in c) for step, c in calls] == [("G2", True), ("G4", False)], calls  # active after
    assert "the upgrade restarts dockerd (docker-ce): draining swarm2 first" in out, out[-3000:]
    assert dockerd_kills(lab) == []  # no task was running on swarm2 when its dockerd restarted
    assert asyncio.run(problems_after(lab, before)) == []  # swarm2 active, every service converged
    lost = lab.availability()["services"]
    assert not {s: v for s, v in lost.items() if s in MULTI_REPLICA}, lost


def test_without_the_drain_before_the_upgrade_its_dockerd_restart_stops_the_nodes_tasks(lab, state_dir,
                                                                                       monkeypatch):
    """The control: the same upgrade with G2's drain left out; what the drain prevents is real."""
    from console.upgrade import steps_swarm_vm

    async def no_drain(ctx, f) -> None:
        return None

    monkeypatch.setattr(steps_swarm_vm, "drain_before_upgrade", no_drain)
    code, out = upgrade(cluster_for(lab, grace=0), "run", "swarm2", "--yes")
    assert code == 0, out[-3000:]
    assert dockerd_kills(lab), "the sim's dockerd restart stopped no task"
    assert [(step, "drain" in c) for step, c in swarm_calls(state_dir)] == [("G3", True), ("G4", False)]


def test_a_failed_swarm_vm_upgrade_is_rolled_back_with_its_node_active(lab, state_dir):
    lab.control("guest-upgrade-breaks-service", 122)
    before = asyncio.run(guests_by_vmid(lab))
    code, out = upgrade(cluster_for(lab, (GuestProbe("122", http=(probe_url(lab, 122),)),)), "run", "swarm2",
                        "--yes")
    assert code == 1, out[-3000:]
    assert "checks fail after the upgrade" in out
    recs = journal_records(state_dir)
    assert recs[-1]["state"] == "rolled_back"
    calls = swarm_calls(state_dir)
    # drained before the dist-upgrade (G2: docker-ce restarts dockerd), drained (still) for the rollback to
    # the snapshot and active after it (G2's undo)
    assert [(step, "drain" in c) for step, c in calls] == [("G2", True), ("G2", True), ("G2", False)], calls
    assert dockerd_kills(lab) == []
    assert guests(lab)["122"]["pending"] > 0  # the packages before the upgrade
    assert asyncio.run(problems_after(lab, before)) == []


@pytest.mark.slow
def test_a_swarm_vm_upgrade_killed_after_its_reboot_rolls_back_to_an_active_node(lab, state_dir):
    before = asyncio.run(guests_by_vmid(lab))
    spawn_and_kill_at(lab, state_dir, "swarm2", "G4", cmd=upgrade_cmd(lab, "run", "swarm2", "--yes"))
    assert lab.state()["swarm"]["nodes"]["swarm2"]["availability"] == "drain"  # killed while drained
    r = upgrade_cli(lab, state_dir, "rollback")
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]  # 1: stopped and safe (rolled back)
    assert journal_records(state_dir)[-1]["state"] == "rolled_back"
    assert asyncio.run(problems_after(lab, before)) == []  # swarm2 active again, services converged


def test_a_manager_is_not_upgraded_while_another_manager_is_down(lab, state_dir):
    power_of(lab, 121, "stop")
    lab.wait_until(lambda s: s["swarm"]["nodes"]["swarm1"]["state"] != "ready", timeout=10)
    code, out = upgrade(cluster_for(lab), "run", "swarm2", "--yes")
    assert code == 1, out[-3000:]
    assert "only 1/3 managers would remain" in out, out[-3000:]
    assert guests(lab)["122"]["pending"] > 0  # nothing was changed
    assert not swarm_calls(state_dir)  # no drain, no reboot


def test_a_manager_is_not_rolled_back_while_another_manager_is_down(lab, state_dir, monkeypatch):
    """swarm1 stops while swarm2 reboots and swarm2's upgrade then fails: its rollback (which
    stops swarm2 again) waits, and goes through once swarm1 is back."""
    from console.ops import guests as ops_guests

    real = ops_guests.power

    async def power(sources, vmid, action, *a, **kw):
        if (vmid, action) == (122, "reboot"):
            assert (await real(sources, 121, "stop")).ok
        return await real(sources, vmid, action, *a, **kw)

    monkeypatch.setattr(ops_guests, "power", power)
    lab.control("guest-upgrade-breaks-service", 122)
    cluster = cluster_for(lab, (GuestProbe("122", http=(probe_url(lab, 122),)),))
    code, out = upgrade(cluster, "run", "swarm2", "--yes")
    assert code != 0 and "not rolled back now: Swarm: only 1/3 managers would remain" in out, out[-3000:]
    assert journal_records(state_dir)[-1]["state"] == "rollback_failed"
    assert guests(lab)["122"]["pending"] == 0  # still the upgraded packages: not rolled back
    monkeypatch.setattr(ops_guests, "power", real)
    power_of(lab, 121, "start")
    lab.wait_until(lambda s: s["swarm"]["nodes"]["swarm1"]["state"] == "ready", timeout=10)
    code, out = upgrade(cluster, "rollback")
    assert code == 1, out[-3000:]  # 1: stopped and safe (rolled back)
    assert journal_records(state_dir)[-1]["state"] == "rolled_back"
    assert guests(lab)["122"]["pending"] > 0
    assert lab.wait_until(lambda s: s["swarm"]["nodes"]["swarm2"]["availability"] == "active", timeout=5)
