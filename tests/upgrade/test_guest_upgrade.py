"""One guest's upgrade against the sim: snapshot, upgrade inside, restart when its kernel
or libc changed, verify; every fault ends rolled back to the snapshot (or untouched)."""

from __future__ import annotations

import pytest

from console.config_model import GuestProbe
from console.errors import ConsoleError
from tests.upgrade.conftest import cluster_for, guests, journal_records, probe_url, snapshots_of, upgrade


def test_a_container_is_upgraded_and_its_snapshot_kept(lab, state_dir):
    before = guests(lab)["200"]
    assert before["pending"] == 7
    cluster = cluster_for(lab, (GuestProbe("mail", http=(probe_url(lab, 200),), units=("postfix",)),))
    code, out = upgrade(cluster, "run", "mail", "--yes")
    assert code == 0, out[-3000:]
    after = guests(lab)["200"]
    assert after["pending"] == 0 and not after["broken"], after
    assert "libc changed: rebooting mail" in out  # a CT restarts for a new libc
    recs = journal_records(state_dir)
    run_id = recs[0]["run"]
    assert f"labconsole-{run_id}" in snapshots_of(lab, 200)  # kept for the grace period
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    assert [r["step"] for r in recs if r["event"] == "apply-done"] == ["G0", "G1", "G2", "G3", "G4", "G5"]


def test_a_vm_through_its_agent_reboots_into_its_new_kernel(lab):
    code, out = upgrade(cluster_for(lab, grace=0), "run", "swarm2", "--yes")
    assert code == 0, out[-3000:]
    g = guests(lab)["122"]
    assert g["pending"] == 0 and g["kernel"] == "6.1.0-28-amd64" and not g["reboot_required"], g
    assert "Setting up linux-image-6.1.0-28-amd64" in out  # the agent's output, line by line
    assert not [s for s in snapshots_of(lab, 122) if s.startswith("labconsole-")]  # grace 0: removed at once


def test_an_upgrade_that_breaks_the_service_is_rolled_back(lab, state_dir):
    lab.control("guest-upgrade-breaks-service", 201)
    cluster = cluster_for(lab, (GuestProbe("201", http=(probe_url(lab, 201),)),))
    code, out = upgrade(cluster, "run", "201", "--yes")
    assert code == 1, out[-3000:]
    assert "checks fail after the upgrade" in out and "503" in out
    g = guests(lab)["201"]
    assert g["pending"] == 7 and not g["broken"] and g["units_failed"] == [], g  # the old packages are back
    assert not [s for s in snapshots_of(lab, 201) if s.startswith("labconsole-")]
    recs = journal_records(state_dir)
    assert recs[-1]["state"] == "rolled_back"
    assert [r["step"] for r in recs if r["event"] == "undo-done"] == ["G3", "G2", "G1"]


def test_a_guest_whose_snapshot_fails_is_never_touched(lab, state_dir):
    lab.control("snapshot-fails", 200)
    code, out = upgrade(cluster_for(lab), "run", "200", "--yes")
    assert code == 1, out[-3000:]
    assert "snapshot feature is not available" in out and "the guest was not touched" in out
    assert guests(lab)["200"]["pending"] == 7
    calls = [r["call"] for r in journal_records(state_dir) if r["event"] == "call-start"]
    assert not any("DEBIAN_FRONTEND" in c for c in calls), calls  # no apt was run


def test_plan_changes_nothing_and_refuses_what_cannot_be_upgraded(lab):
    code, out = upgrade(cluster_for(lab), "plan", "homeassistant")
    assert code == 1 and "not Debian (Home Assistant OS)" in out
    code, out = upgrade(cluster_for(lab), "plan", "jellyfin")
    assert code == 1 and "no guest agent and no SSH address" in out
    code, out = upgrade(cluster_for(lab), "plan", "db")
    assert code == 0 and "7 packages pending (5 security)" in out, out
    assert guests(lab)["201"]["pending"] == 7
    with pytest.raises(ConsoleError, match="no guest named 'nosuchguest'"):  # the CLI prints it, exit 2
        upgrade(cluster_for(lab), "plan", "nosuchguest")


def test_cleanup_keeps_snapshots_in_their_grace_period_and_removes_them_after(lab):
    code, out = upgrade(cluster_for(lab, grace=72), "run", "db", "--yes")
    assert code == 0, out[-2000:]
    ours = [s for s in snapshots_of(lab, 201) if s.startswith("labconsole-")]
    assert len(ours) == 1
    code, out = upgrade(cluster_for(lab), "cleanup")
    assert code == 0 and "no labconsole snapshot is due" in out and ours[0] in snapshots_of(lab, 201)
    code, out = upgrade(cluster_for(lab), "cleanup", "--all")
    assert code == 0 and f"deleted snapshot {ours[0]} of db (201)" in out
    assert ours[0] not in snapshots_of(lab, 201) and "weekly" in snapshots_of(lab, 201)  # others' stay


def test_a_vm_with_an_ssh_host_is_upgraded_over_ssh_with_its_output_streamed(lab, state_dir):
    cluster = cluster_for(lab, (GuestProbe("swarm1", ssh_host="swarm1", units=("docker",)),), grace=0)
    code, out = upgrade(cluster, "run", "121", "--yes")
    assert code == 0, out[-3000:]
    assert "reached by ssh" in out and "Setting up docker-ce" in out
    g = guests(lab)["121"]
    assert g["pending"] == 0 and g["kernel"] == "6.1.0-28-amd64", g
    calls = [r["call"] for r in journal_records(state_dir) if r["event"] == "call-start"]
    assert any(c.startswith("ssh swarm1: apt-get update && DEBIAN_FRONTEND=noninteractive") for c in calls), calls
