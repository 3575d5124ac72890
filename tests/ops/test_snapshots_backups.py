"""Snapshots and backups, headless against the simulated lab."""

from __future__ import annotations

import time

from tests.ops.conftest import log_records


def test_snapshot_tree_create_rollback_delete(cli):
    code, lst = cli.json("guest", "snapshots", "201")
    assert code == 0 and [(s["name"], s["parent"]) for s in lst["snapshots"]] == [
        ("before-upgrade", None), ("weekly", "before-upgrade")]
    assert lst["current_parent"] == "weekly"
    code, res = cli.json("guest", "snapshot", "201", "before-change", "--description", "pre change", "--yes")
    assert code == 0 and res["ok"], res
    code, lst = cli.json("guest", "snapshots", "201")
    new = next(s for s in lst["snapshots"] if s["name"] == "before-change")
    assert new["parent"] == "weekly" and new["description"] == "pre change" and lst["current_parent"] == "before-change"
    code, out, _ = cli("guest", "snapshots", "201")
    assert "└ before-upgrade" in out and "    └ before-change" in out and "you are here" in out

    code, res = cli.json("guest", "rollback", "201", "before-upgrade", "--yes")
    assert code == 0 and res["ok"] and "stop it (PVE does)" in res["sentence"]
    assert cli.guest(201)["status"] == "stopped"  # no RAM in the snapshot, no --start: it stays stopped
    assert cli.json("guest", "snapshots", "201")[1]["current_parent"] == "before-upgrade"

    code, res = cli.json("guest", "delete-snapshot", "201", "weekly", "--yes")
    assert code == 0 and res["ok"]
    snaps = {s["name"]: s for s in cli.json("guest", "snapshots", "201")[1]["snapshots"]}
    assert "weekly" not in snaps and snaps["before-change"]["parent"] == "before-upgrade"


def test_vm_snapshot_with_ram_and_rollback_resumes(cli):
    code, res = cli.json("guest", "snapshot", "112", "with-ram", "--vmstate", "--yes")
    assert code == 0 and res["ok"] and "including its RAM" in res["sentence"]
    snap = next(s for s in cli.json("guest", "snapshots", "112")[1]["snapshots"] if s["name"] == "with-ram")
    assert snap["vmstate"] is True
    code, res = cli.json("guest", "rollback", "112", "with-ram", "--yes")
    assert code == 0 and res["ok"] and "runs again after" in res["sentence"]
    assert cli.guest(112)["status"] == "running"


def test_snapshot_names_pve_refuses(cli, state_dir):
    for name, says in (("1abc", "must start with a letter"), ("has space", "must start with a letter"),
                       ("current", "reserved name"), ("x" * 41, "PVE allows 40")):
        code, _out, err = cli("guest", "snapshot", "201", name, "--yes")
        assert code == 2 and says in err, (name, err)
    code, _out, err = cli("guest", "snapshot", "201", "ram", "--vmstate", "--yes")
    assert code == 2 and "only VMs can save their RAM" in err
    assert log_records(state_dir) == []
    code, _out, err = cli("guest", "snapshot", "201", "weekly", "--yes")  # PVE's own refusal, from its task
    assert code == 2 and "snapshot name 'weekly' already used" in err


def test_rollback_or_delete_of_a_missing_snapshot(cli, state_dir):
    code, _out, err = cli("guest", "rollback", "201", "nope", "--yes")
    assert code == 2 and "has no snapshot 'nope' (it has: before-upgrade, weekly)" in err
    code, _out, err = cli("guest", "delete-snapshot", "201", "nope", "--yes")
    assert code == 2 and "has no snapshot 'nope'" in err
    assert log_records(state_dir) == [] and cli.guest(201)["status"] == "running"


def test_snapshot_of_a_locked_guest_fails_with_pves_message(cli, lab):
    lab.control("guest-lock", "201")
    code, _out, err = cli("guest", "snapshot", "201", "locked", "--yes")
    assert code == 2 and "task failed: CT is locked (backup)" in err
    assert "locked" not in [s["name"] for s in cli.json("guest", "snapshots", "201")[1]["snapshots"]]


def test_backups_report_jobs_last_copies_and_coverage(cli):
    code, rep = cli.json("backups")
    assert code == 2  # 113 was never backed up
    jobs = {j["id"]: j for j in rep["jobs"]}
    assert jobs["daily-pbs"]["storage"] == "pbs" and jobs["daily-pbs"]["last_run"]["ok"]
    assert len(jobs["daily-pbs"]["last_run"]["upids"]) == 2  # one vzdump task per node
    assert rep["storages"]["pbs"] == "pbs" and rep["not_covered"] == [111, 113]
    guests = {g["vmid"]: g for g in rep["guests"]}
    assert guests[110]["state"] == "fresh" and guests[110]["last"]["storage"] == "pbs"
    assert guests[121]["last"]["storage"] == "local" and guests[111]["state"] == "stale"
    assert guests[113]["state"] == "never"
    texts = [f["text"] for f in rep["findings"]]
    assert any("debian-template (113) has never been backed up" in t for t in texts)
    code, rep = cli.json("backups", "--max-age", "2")
    assert {g["vmid"] for g in rep["guests"] if g["state"] == "stale"} == {111, 121, 122, 123}


def test_backup_now_makes_a_fresh_copy(cli):
    before = time.time()
    code, res = cli.json("guest", "backup", "111", "--storage", "pbs", "--yes")
    assert code == 0 and res["ok"] and res["upid"].split(":")[5] == "vzdump", res
    g = next(g for g in cli.json("backups")[1]["guests"] if g["vmid"] == 111)
    assert g["state"] == "fresh" and g["last"]["storage"] == "pbs" and g["last"]["time"] >= before - 5
    code, _out, err = cli("guest", "backup", "111", "--storage", "ceph-vm", "--yes")
    assert code == 2 and "ceph-vm is not a backup storage on pve3" in err


def test_a_failed_backup_job_is_reported(cli, lab):
    lab.control("backup-fail", "daily-pbs")  # the job runs now and fails
    deadline = time.time() + 30
    while time.time() < deadline:
        code, rep = cli.json("backups")
        if rep["failed_jobs"]:
            break
        time.sleep(0.3)
    assert rep["failed_jobs"] == ["daily-pbs"] and code == 2
    assert any(f["severity"] == "critical" and "backup job daily-pbs" in f["text"] for f in rep["findings"])
    lab.control("backup-fail", "112")
    code, _out, err = cli("guest", "backup", "112", "--yes")
    assert code == 2 and "task failed: job errors" in err


def test_backups_exit_0_when_everything_is_fresh_and_covered(cli):
    for vmid in (111, 113):
        assert cli("guest", "backup", str(vmid), "--yes")[0] == 0
    code, rep = cli.json("backups", "--max-age", "30")
    assert code == 0, [(g["vmid"], g["state"]) for g in rep["guests"]]


async def test_maintenance_preflight_warns_about_backups_without_blocking(lab):
    from console.config import load_config
    from console.ops.backups import preflight_note
    from console.sources import build_sources

    sources = build_sources(load_config(lab.config_path).cluster(None))
    lines: list[str] = []
    try:
        await preflight_note(sources, "pve3", 7.0, lines.append)
    finally:
        await sources.get("proxmox").close()
    assert lines == ["warning: jellyfin (111): last backup 20.0 days ago (maintenance goes ahead)",
                     "warning: debian-template (113) has never been backed up (maintenance goes ahead)"]
