"""The firewall pair against the sim: BACKUP first, the VIP to it, the former MASTER, the VIP
home; the VIP gaps measured by the console and by the sim; a BACKUP that fails its check is
rolled back and the MASTER never touched; a former MASTER that fails is rolled back alone."""

from __future__ import annotations

from tests.upgrade.conftest import cluster_for, guests, journal_records, snapshots_of, upgrade


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


def test_a_former_master_that_fails_its_check_is_rolled_back_alone_and_the_upgraded_backup_keeps_the_vip(
        lab, state_dir):
    lab.control("guest-upgrade-breaks-service", 101)  # fw1 (MASTER at the start) breaks when upgraded
    lab.reset_availability()
    code, out = upgrade(cluster_for(lab), "run", "firewalls", "--yes")
    assert code == 1, out[-4000:]
    assert "fw2 stays upgraded and holds the VIPs" in out, out[-3000:]
    g = guests(lab)
    assert not g["101"]["broken"] and g["101"]["pending"] == 9, g["101"]  # fw1 back on its snapshot
    assert g["102"]["pending"] == 0 and not g["102"]["broken"], g["102"]  # fw2 stays upgraded
    state = lab.state()
    assert state["vrrp"]["vip_holder"] == ["fw2"], state["vrrp"]  # the healthy upgraded one is MASTER
    assert all(f["keepalived"] for f in state["vrrp"]["firewalls"].values()), state["vrrp"]
    assert lab.availability()["vip_longest_gap"] <= 2.0  # one move (V1), never half-moved
    records = journal_records(state_dir)
    undone = [r["step"] for r in records if r["event"] == "undo-done"]
    assert undone.index("M2") < undone.index("V1"), undone
    assert [r["step"] for r in records if r["event"] == "undo-failed"] == []
    assert "labconsole-" in " ".join(snapshots_of(lab, 102))  # fw2's snapshot kept for the grace period
    assert not [s for s in snapshots_of(lab, 101) if s.startswith("labconsole-")]  # fw1's removed


def test_a_run_killed_inside_the_hand_over_home_resumes_with_both_firewalls_healthy(lab, state_dir):
    """Killed between V2's two track-file writes: the VIPs are home on fw1, fw2's track file still 1
    (FAULT). The resumed V2 finds the VIPs home and puts fw2 back to a healthy BACKUP."""
    import asyncio

    from console.sources import build_sources
    from tests.maintenance.conftest import spawn_and_kill_at
    from tests.upgrade.conftest import upgrade_cmd

    spawn_and_kill_at(lab, state_dir, "firewalls", "V2", cmd=upgrade_cmd(lab, "run", "firewalls", "--yes"),
                      timeout=120)
    assert lab.state()["vrrp"]["vip_holder"] == ["fw2"]  # V1 moved them; V2 had not begun its hand-over

    async def first_write_of_the_hand_over() -> None:  # what V2 does before it waits for fw1
        sources = build_sources(cluster_for(lab))
        try:
            await sources.get("vrrp").set_track("fw2", 1)
        finally:
            await sources.close()

    asyncio.run(first_write_of_the_hand_over())
    lab.wait_until(lambda s: s["vrrp"]["vip_holder"] == ["fw1"], 30, 0.02)
    assert lab.state()["vrrp"]["firewalls"]["fw2"]["effective_priority"] == 0
    code, out = upgrade(cluster_for(lab), "resume")
    assert code == 0, out[-3000:]
    fw = lab.state()["vrrp"]["firewalls"]
    assert lab.state()["vrrp"]["vip_holder"] == ["fw1"] and fw["fw2"]["effective_priority"] == 100, fw
    assert fw["fw2"]["state"] == 1 and fw["fw1"]["state"] == 2, fw  # BACKUP, MASTER
    assert "interrupted hand-over" in out, out[-2000:]
