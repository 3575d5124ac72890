"""The sim's operations state machine on a manual clock (no HTTP): snapshots,
rollback, reboot, vzdump, job runs and the three faults."""

from __future__ import annotations

import pytest

from console.sim.ops_state import ops_of
from console.sim.sim_errors import SimError
from console.sim.world import World


@pytest.fixture
def w():
    return World("seed", manual_clock=True)


def run(w, upid, limit=60.0):
    while w.pve_tasks[upid].running and limit > 0:
        w.advance(0.5)
        limit -= 0.5
    return w.pve_tasks[upid].exitstatus


def test_snapshot_delete_moves_children_up(w):
    from console.sim import dynamics_ops as D

    g = w.guests[201]
    assert run(w, D.snapshot_create(w, g, "third")) == "OK"
    snaps = ops_of(w).snapshots[201]
    assert snaps["third"].parent == "weekly" and ops_of(w).current[201] == "third"
    assert run(w, D.snapshot_delete(w, g, "weekly")) == "OK"
    assert snaps["third"].parent == "before-upgrade" and "weekly" not in snaps
    assert run(w, D.snapshot_delete(w, g, "weekly")) == "snapshot 'weekly' does not exist"


def test_rollback_with_ram_runs_again_without_stays_stopped(w):
    from console.sim import dynamics_ops as D

    assert run(w, D.snapshot_rollback(w, w.guests[110], "ha-2024-11")) == "OK"
    assert w.guests[110].status == "running" and w.guests[110].lock is None
    assert run(w, D.snapshot_rollback(w, w.guests[201], "before-upgrade")) == "OK"
    assert w.guests[201].status == "stopped" and 201 not in w.desired_running


def test_reboot_goes_down_and_up(w):
    from console.sim import dynamics_ops as D

    upid = D.guest_reboot(w, w.guests[112])
    w.advance(w.duration("guest_shutdown") + 0.1)
    assert w.guests[112].status == "stopped"
    assert run(w, upid) == "OK" and w.guests[112].status == "running"
    w.guests[113].status = "stopped"
    with pytest.raises(SimError, match="not running"):
        D.guest_reboot(w, w.guests[113])


def test_vzdump_skips_guests_elsewhere_and_locks_while_it_runs(w):
    from console.sim import dynamics_ops as D

    before = len(ops_of(w).backups)
    upid = D.vzdump(w, "pve2", [112, 110], "pbs")
    assert w.guests[112].lock == "backup"
    assert run(w, upid) == "OK" and w.guests[112].lock is None
    assert "INFO: skip external VMs: 110" in w.pve_tasks[upid].log
    assert len(ops_of(w).backups) == before + 1
    with pytest.raises(SimError, match="does not support backups"):
        D.vzdump(w, "pve2", [112], "ceph-vm")


def test_faults_backup_fail_local_resource_guest_lock(w):
    w.inject("backup-fail", "weekly-local")
    runs = [t for t in w.pve_tasks.values() if t.running and t.type == "vzdump"]
    assert len(runs) == 3  # one per node with a swarm manager
    for t in runs:
        assert run(w, t.upid) == "job errors"
    w.inject("local-resource", "112")
    with pytest.raises(SimError, match="local devices: hostpci0"):
        w.migrate("pve2", 112, "pve1", online=True)
    w.clear("local-resource", "112")
    assert w.guests[112].local_resources == []
    w.inject("guest-lock", "201")
    assert w.guests[201].lock == "backup" and w.faults_dict()["guest_lock"] == [201]
    w.clear()
    assert w.guests[201].lock is None and w.faults_dict()["backup_fail"] == []
    with pytest.raises(SimError):
        w.inject("local-resource", "201")  # a container has no PCI passthrough


def test_large_scenario_has_a_job_and_backups():
    w = World("large", speed=50)
    lab = ops_of(w)
    assert list(lab.jobs) == ["daily-pbs"] and len(lab.backups) > 1000
