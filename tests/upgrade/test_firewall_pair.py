"""The firewall pair against the sim: BACKUP first, the VIP to it, the former MASTER, the VIP
home; the VIP gaps measured by the console and by the sim; a BACKUP that fails its check is
rolled back and the MASTER never touched."""

from __future__ import annotations

from tests.upgrade.conftest import cluster_for, guests, journal_records, upgrade


def test_the_pair_is_upgraded_backup_first_and_the_vip_ends_home(lab, state_dir):
    lab.reset_availability()
    code, out = upgrade(cluster_for(lab), "run", "firewalls", "--yes")
    assert code == 0, out[-4000:]
    g = guests(lab)
    for vmid in ("101", "102"):
        assert g[vmid]["pending"] == 0 and g[vmid]["kernel"] == "6.1.0-28-amd64" and not g[vmid]["broken"], g[vmid]
    state = lab.state()
    assert state["vrrp"]["vip_holder"] == ["fw1"]  # the preferred one
    applied = [r["step"] for r in journal_records(state_dir) if r["event"] == "apply-done"]
    assert applied.index("B4") < applied.index("V1") < applied.index("M1")  # fw2 checked before fw1 is touched
    moves = [ln for ln in out.splitlines() if ln.startswith("VIP ")]
    assert [m.split(" (")[0] for m in moves] == ["VIP fw1 -> fw2", "VIP fw2 -> fw1"], out[-2000:]
    av = lab.availability()
    assert av["vip_longest_gap"] <= 2.0, av  # two adverts (1 s each in the sim)
    print(f"\nVIP moves: {moves}; sim: vip_absent {av['vip_absent']} s, longest gap {av['vip_longest_gap']} s")


def test_a_backup_that_fails_its_check_is_rolled_back_and_the_master_untouched(lab, state_dir):
    lab.control("backup-firewall-fails-check")
    lab.reset_availability()
    code, out = upgrade(cluster_for(lab), "run", "firewalls", "--yes")
    assert code == 1, out[-4000:]
    assert "keepalived" in out and "checks fail after the upgrade" in out
    g = guests(lab)
    assert g["102"]["pending"] == 9 and not g["102"]["broken"], g["102"]  # fw2 back on its snapshot
    assert g["101"]["pending"] == 9 and g["101"]["kernel"] == "6.1.0-27-amd64", g["101"]  # fw1 never touched
    assert lab.state()["vrrp"]["vip_holder"] == ["fw1"]
    assert lab.availability()["vip_absent"] == 0.0
    steps = [r["step"] for r in journal_records(state_dir) if r["event"] == "apply-start"]
    assert not [s for s in steps if s.startswith("M") and s != "M0"] and "V1" not in steps, steps


def test_a_former_master_that_fails_its_check_ends_with_the_vip_on_a_healthy_firewall(lab, state_dir):
    lab.control("guest-upgrade-breaks-service", 101)  # fw1 (MASTER at the start) breaks when upgraded
    lab.reset_availability()
    code, out = upgrade(cluster_for(lab), "run", "firewalls", "--yes")
    assert code == 1, out[-4000:]
    g = guests(lab)
    assert not g["101"]["broken"] and g["101"]["pending"] == 9, g["101"]  # fw1 back on its snapshot
    assert g["102"]["pending"] == 9, g["102"]  # the whole pair is rolled back, fw2 too
    state = lab.state()
    assert state["vrrp"]["vip_holder"] == ["fw1"], state["vrrp"]
    assert all(f["keepalived"] for f in state["vrrp"]["firewalls"].values()), state["vrrp"]
    assert lab.availability()["vip_longest_gap"] <= 2.0
    undone = [r["step"] for r in journal_records(state_dir) if r["event"] == "undo-done"]
    assert undone.index("M2") < undone.index("V1") < undone.index("B2"), undone  # VIP home only once fw1 is healthy
