"""Node power in the World: clean shutdown, power-on with the boot time, the sim clock's epoch,
and the public task/schedule API the PVE front uses."""

from __future__ import annotations

import time

import pytest

from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def test_clock_starts_at_the_real_time():
    before = time.time()
    w = World("seed", manual_clock=True)
    after = time.time()
    assert before <= w.now() <= after  # clients print ages against their own clock
    assert World("seed", manual_clock=True, epoch=1_700_000_000.0).now() == 1_700_000_000.0


def test_shutdown_stops_guests_cleanly_and_the_node_stays_off(w):
    running = {g.vmid for g in w.guest_running_on("pve2")}
    non_ha = {v for v in running if not w.guests[v].ha}
    assert running and non_ha
    upid = w.shutdown_node("pve2")
    task = w.pve_tasks[upid]
    assert task.type == "srvshutdown" and task.running
    assert not w.node_online("pve2")  # shutting down: no new work accepted
    with pytest.raises(SimError) as err:
        w.guest_power("pve2", next(iter(non_ha)), "start")
    assert err.value.status == 595
    w.advance(w.duration("node_shutdown"))
    assert w.nodes["pve2"].status == "offline" and task.exitstatus == "OK"
    assert all(w.guests[v].status == "stopped" for v in running)
    assert "pve2" not in w.faults_dict()["nodes_down"]  # a shutdown is not a crash fault
    assert w.faults_dict()["nodes_shut_down"] == ["pve2"]
    w.advance(3600)  # no boot by itself, unlike a reboot
    assert w.nodes["pve2"].status == "offline"
    assert all(w.guests[v].node == "pve2" and w.guests[v].status == "stopped" for v in non_ha)


def test_shutdown_fails_over_ha_guests_after_the_fence_delay(w):
    ha = [g.vmid for g in w.guest_running_on("pve2") if g.ha]
    assert ha
    w.shutdown_node("pve2")
    w.advance(w.duration("node_shutdown") + 1)
    assert all(w.guests[v].node == "pve2" and w.guests[v].status == "stopped" for v in ha)
    w.advance(w.duration("ha_fence") + w.duration("guest_start"))
    for v in ha:
        g = w.guests[v]
        assert g.node != "pve2" and g.status == "running" and g.ha_state == "started"


def test_node_up_boots_with_the_reboot_time_and_starts_its_guests(w):
    w.shutdown_node("pve3")
    w.advance(w.duration("node_shutdown") + 1)
    desired = [g.vmid for g in w.guests.values() if g.node == "pve3" and g.vmid in w.desired_running]
    w.inject("node-up", "pve3")
    assert w.faults_dict()["nodes_shut_down"] == []
    w.advance(w.duration("reboot") - 1)
    assert w.nodes["pve3"].status == "offline"  # still booting
    w.advance(1)
    assert w.nodes["pve3"].status == "online"
    w.advance(10)
    assert desired and all(w.guests[v].status == "running" for v in desired)


def test_a_crash_while_booting_cancels_the_boot(w):
    w.inject("node-down", "pve1")
    w.inject("node-up", "pve1")
    w.advance(5)
    w.inject("node-down", "pve1")  # power lost again before it came up
    w.advance(w.duration("reboot") * 3)
    assert w.nodes["pve1"].status == "offline"
    w.clear("node-down", "pve1")
    w.advance(w.duration("reboot"))
    assert w.nodes["pve1"].status == "online"


def test_shutdown_of_an_offline_or_unknown_node_is_refused(w):
    w.inject("node-down", "pve1")
    with pytest.raises(SimError) as err:
        w.shutdown_node("pve1")
    assert err.value.status == 595
    with pytest.raises(SimError) as err:
        w.shutdown_node("pve9")
    assert err.value.status == 400 and "pve9" in str(err.value.errors)


def test_public_task_and_schedule_api(w):
    task = w.new_task("pve1", "demo", "", "started by a test")
    assert task.upid in w.pve_tasks and task.running and task.log == ["started by a test"]
    fired = []
    w.schedule(2.0, fired.append, "later")
    w.advance(1.9)
    assert fired == []
    w.advance(0.2)
    assert fired == ["later"]
    w.finish_task(task, "something broke")
    assert task.exitstatus == "something broke" and task.log[-1] == "TASK ERROR: something broke"
    w.finish_task(task)  # idempotent: the first end stands
    assert task.exitstatus == "something broke"
