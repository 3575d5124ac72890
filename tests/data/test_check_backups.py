"""Backups and APT repositories in `labconsole check` against the simulated lab: the slowly
polled reports (console/layers.py REPORTS) feed the one evaluation, so their findings count
in the layer they belong to, in the text, the JSON and the exit code."""

import json
import time

from console.cli import main
from tests.simlab import SimLab

FAST = 50.0  # lab seconds per real second: a backup job's run takes two


def test_a_stale_and_a_never_backed_up_guest_are_findings_of_the_guests_layer(sim, capsys):
    code = main(["--config", str(sim.config_path), "check", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and doc["status"] == "critical" and doc["exit_code"] == 2, (doc["reports"], doc["findings"])
    found = {(f["layer"], f["severity"], f["text"]) for f in doc["findings"]}
    assert ("guests", "critical", "debian-template (113) has never been backed up (no backup job covers it)") in found
    assert ("guests", "warning", "jellyfin (111): last backup 20.0 days ago (limit 7 days)") in found
    assert doc["layers"]["proxmox"]["level"] == "crit"  # the header's pve dot: the worst of cluster and guests
    assert set(doc["layers"]) == {"proxmox", "ceph", "swarm", "traefik", "vrrp"}  # reports are not layers
    assert doc["reports"]["backups"] == {"layer": "guests", "ok": True, "error": None,
                                         "age_s": doc["reports"]["backups"]["age_s"]}
    assert doc["reports"]["repos"]["ok"] and doc["reports"]["repos"]["layer"] == "cluster"
    incident = next(i for i in doc["incidents"] if "113" in json.dumps(i))
    assert incident["severity"] == "critical"

    main(["--config", str(sim.config_path), "check"])
    out = capsys.readouterr().out
    assert "CRIT [guests] debian-template (113) has never been backed up" in out
    assert "→ labconsole guest backup 113" in out
    assert "backups" not in [line.split()[1] for line in out.splitlines()[1:6]]  # no row of its own


def test_a_failed_backup_job_and_an_enterprise_repository_reach_check(capsys):
    with SimLab("seed", speed=FAST) as lab:
        code, doc = _failed_job_and_trap(lab, capsys)
    texts = {(f["layer"], f["severity"], f["text"].split(":")[0]) for f in doc["findings"]}
    assert ("guests", "critical", "backup job daily-pbs (101,102,110,112,200,201 to pbs) failed its last run") \
        in texts, texts
    repo = [f for f in doc["findings"] if f["layer"] == "cluster" and f["subject"] == "pve2"]
    assert repo and repo[0]["severity"] == "critical" and "enterprise" in repo[0]["text"], doc["findings"]
    assert code == 2 and doc["layers"]["proxmox"]["level"] == "crit"


def _failed_job_and_trap(lab, capsys) -> tuple[int, dict]:
    lab.back_up_all()
    lab.control("backup-fail", "daily-pbs")  # the job runs now (90 s of lab time) and fails
    lab.control("enterprise-repo", "pve2")
    deadline = time.monotonic() + 20
    code, doc = 0, {}
    while time.monotonic() < deadline:
        code = main(["--config", str(lab.config_path), "check", "--json"])
        doc = json.loads(capsys.readouterr().out)
        if any("backup job daily-pbs" in f["text"] for f in doc["findings"]):
            break
    return code, doc


def test_guests_of_a_node_that_is_down_are_not_called_unbacked(sim, capsys):
    """Their newest copy may be on the node's own storage, which cannot be read while it is down:
    their backup state is unknown (the node's own finding says why), never "never backed up"."""
    sim.control("node-down", "pve3")
    sim.wait_until(lambda s: s["nodes"]["pve3"]["status"] == "offline", timeout=20)
    code = main(["--config", str(sim.config_path), "check", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2
    assert not [f for f in doc["findings"] if "backed up" in f["text"] or "last backup" in f["text"]], doc["findings"]
    code = main(["--config", str(sim.config_path), "backups", "--json"])
    rep = json.loads(capsys.readouterr().out)
    states = {g["vmid"]: g["state"] for g in rep["guests"]}
    assert rep["unread_nodes"] == ["pve3"] and states[111] == states[113] == states[123] == "unknown"
    assert states[110] == "fresh" and code == 1  # not all confirmed fresh
