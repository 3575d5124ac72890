"""World dynamics on the Proxmox side: migrations, power, reboot, HA maintenance (manual clock)."""

from __future__ import annotations

import pytest

from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def run_task(w: World, upid: str, step: float = 0.5, limit: float = 120.0) -> str:
    waited = 0.0
    while w.pve_tasks[upid].running and waited < limit:
        w.advance(step)
        waited += step
    return w.pve_tasks[upid].exitstatus


def test_seed_is_converged(w):
    assert set(w.nodes) == {"pve1", "pve2", "pve3"}
    assert all(n.maxcpu == 4 and n.maxmem == 16 * 1024**3 for n in w.nodes.values())
    assert w.ceph_health() == ("HEALTH_OK", [])
    assert w.pg_states() == [("active+clean", w.num_pgs())]
    assert w.vip_holder() == ["fw1"]
    assert all(w.service_running_tasks(sid) == w.service_desired(s) for sid, s in w.services.items())
    assert w.guests[101].node != w.guests[102].node
    assert w.nodes["pve1"].upgradable["pve-manager"] == "8.2.5"
    assert "proxmox-kernel-6.8.12-5-pve-signed" in w.nodes["pve1"].upgradable


def test_live_migration_keeps_vm_running(w):
    upid = w.migrate("pve2", 112, "pve3", online=True)
    assert upid.startswith("UPID:pve2:") and ":qmigrate:112:" in upid
    assert w.guests[112].lock == "migrate"
    assert run_task(w, upid) == "OK"
    g = w.guests[112]
    assert (g.node, g.status, g.lock) == ("pve3", "running", None)
    assert w.availability.guests.get(112, 0.0) == 0.0
    assert any("migration finished" in line for line in w.pve_tasks[upid].log)


def test_container_restart_migration_has_downtime(w):
    upid = w.migrate("pve2", 201, "pve3", restart=True)
    assert run_task(w, upid, step=0.25) == "OK"
    assert w.guests[201].node == "pve3" and w.guests[201].status == "running"
    lost = w.availability.guests[201]
    assert lost == pytest.approx(w.duration("ct_move") + w.duration("ct_start"))  # stopped, moved, started


@pytest.mark.parametrize(
    "args, status, text",
    [
        (("pve3", 111, "pve1", True, False), 500, "local devices: hostpci0"),
        (("pve2", 112, "pve3", False, False), 500, "without --online"),
        (("pve2", 201, "pve3", False, False), 500, "--restart"),
        (("pve2", 112, "pve2", True, False), 500, "local node"),
        (("pve2", 112, "pve9", True, False), 400, "Parameter verification failed"),
        (("pve1", 112, "pve3", True, False), 500, "does not exist"),
    ],
)
def test_migrate_refusals(w, args, status, text):
    with pytest.raises(SimError) as err:
        w.migrate(*args)
    assert err.value.status == status
    assert text in err.value.message + str(err.value.errors)


def test_migrate_to_offline_node_and_from_offline_node(w):
    w.inject("node-down", "pve3")
    with pytest.raises(SimError) as err:
        w.migrate("pve2", 112, "pve3", online=True)
    assert "not online" in err.value.message
    with pytest.raises(SimError) as err:
        w.migrate("pve3", 111, "pve1", online=True)
    assert err.value.status == 595


def test_guest_power_stop_and_start(w):
    upid = w.guest_power("pve2", 112, "shutdown")
    assert run_task(w, upid) == "OK"
    assert w.guests[112].status == "stopped"
    w.advance(10)
    assert 112 not in w.availability.guests  # stopped on purpose: not counted as lost
    assert run_task(w, w.guest_power("pve2", 112, "start")) == "OK"
    assert w.guests[112].status == "running"


def test_reboot_takes_guests_osd_mon_swarm_and_vip(w):
    upid = w.reboot_node("pve1")
    assert w.nodes["pve1"].status == "rebooting"
    w.advance(4)  # node_shutdown (3 s) is over
    assert w.nodes["pve1"].status == "offline"
    assert w.guest_running_on("pve1") == []
    assert w.pve_tasks[upid].exitstatus == "OK"
    assert not w.osds[0].up
    assert "pve1" not in w.mon_quorum()
    swarm1 = next(i for i, s in w.swarm_nodes.items() if s.hostname == "swarm1")
    assert not w.swarm_node_ready(swarm1)
    w.advance(5)  # > 3 adverts + skew: fw2 took the VIP; heartbeat noticed swarm1 down
    assert w.vip_holder() == ["fw2"]
    assert w.swarm_node_state(swarm1) == "down"
    w.advance(4)
    assert all(w.service_running_tasks(sid) >= 1 for sid in w.services)
    w.advance(w.duration("node_shutdown") + w.duration("reboot") + 10 - 13)  # 13 s passed above; guests start staggered
    assert w.nodes["pve1"].status == "online"
    assert {g.vmid for g in w.guest_running_on("pve1")} == {101, 110, 121, 200}
    assert w.vip_holder() == ["fw2"]  # nopreempt: fw1 comes back as BACKUP
    assert w.availability.guests[101] > w.duration("reboot")
    assert w.availability.vip_longest_gap > 3.0


def test_reboot_of_offline_node_is_595(w):
    w.inject("node-down", "pve2")
    with pytest.raises(SimError) as err:
        w.reboot_node("pve2")
    assert err.value.status == 595


def test_ha_maintenance_moves_ha_guests_and_back(w):
    w.ha_node_maintenance("pve1", True)
    assert w.ha_lrm_state("pve1") == "maintenance mode"  # at once, not when done
    assert w.guests[101].lock == "migrate"
    assert (w.guests[101].ha_state, w.guests[200].ha_state) == ("migrate", "relocate")
    w.advance(10)
    assert {w.guests[v].ha_state for v in (101, 110, 200)} == {"started"}
    moved = {v: w.guests[v].node for v in (101, 110, 200)}
    assert "pve1" not in moved.values()
    assert moved[101] != w.guests[102].node  # negative affinity
    assert w.guests[121].node == "pve1"  # not HA: stays
    assert w.guests[111].node == "pve3"
    lost = w.availability.guests
    assert lost.get(101, 0) == 0 and lost.get(110, 0) == 0  # VMs live-migrate
    assert lost[200] > 0  # the container restart-migrates
    w.ha_node_maintenance("pve1", False)
    w.advance(10)
    assert {w.guests[v].node for v in (101, 110, 200)} == {"pve1"}
    assert w.ha_lrm_state("pve1") == "active"


def test_ha_maintenance_survives_reboot(w):
    w.ha_node_maintenance("pve1", True)
    w.advance(10)
    w.reboot_node("pve1")
    w.advance(w.duration("node_shutdown") + w.duration("reboot") + 1)
    assert w.nodes["pve1"].status == "online"
    assert w.nodes["pve1"].ha_maintenance
    assert w.ha_lrm_state("pve1") == "maintenance mode"
    assert all(w.guests[v].node != "pve1" for v in (101, 110, 200))


def test_power_loss_fences_and_recovers_ha_guests(w):
    w.inject("node-down", "pve2")
    w.advance(30)
    assert w.guests[201].node == "pve2" and w.guests[201].status == "stopped"
    w.advance(40)  # ha_fence (60 s) + start
    assert w.guests[201].node != "pve2" and w.guests[201].status == "running"
    assert w.guests[102].node not in ("pve2", w.guests[101].node)
    assert w.guests[112].node == "pve2"  # not HA: waits for its node
    w.clear("node-down", "pve2")
    w.advance(w.duration("reboot") - 1)
    assert w.nodes["pve2"].status == "offline"  # powering on takes the boot time
    w.advance(6)
    assert w.nodes["pve2"].status == "online" and w.guests[112].status == "running"


def test_ha_error_guest_is_not_moved(w):
    w.inject("ha-error", "110")
    assert w.guests[110].ha_state == "error"
    w.ha_node_maintenance("pve1", True)
    w.advance(10)
    assert w.guests[110].node == "pve1"
    w.clear("ha-error")
    assert w.guests[110].ha_state == "started"


def test_migrate_fail_fault(w):
    w.inject("migrate-fail", "112")
    upid = w.migrate("pve2", 112, "pve3", online=True)
    status = run_task(w, upid)
    assert status != "OK" and "migration" in status
    assert w.guests[112].node == "pve2" and w.guests[112].lock is None and w.guests[112].status == "running"
