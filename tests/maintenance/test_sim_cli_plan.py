"""`maintenance plan` runs preflight and speaks JSON; `run` shows the plan and the
preflight before anything, and skips a node with nothing pending."""

from __future__ import annotations

import json

from tests.maintenance.conftest import cli, journal_records


def test_plan_runs_preflight_and_lists_only_what_acts(lab, state_dir):
    r = cli(lab, state_dir, "plan", "pve2")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "not checked yet" not in out and "Preflight: passed" in out, out
    assert "✔ P5 Ceph HEALTH_OK" in out and "Ceph can spare osd." in out, out
    assert "['" not in out and "[]" not in out, out  # names, not Python reprs
    assert "pve-manager 8.2.4 -> 8.2.5" in out and "Packages to upgrade (12):" in out, out
    steps = out.split("Steps that will act:")[1]
    assert "ceph osd set-group noout pve2" in steps and "apt-get dist-upgrade" in steps, steps
    assert journal_records(state_dir) == []  # planning journals nothing

    r = cli(lab, state_dir, "plan", "pve2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["node"] == "pve2"
    assert {c["id"] for c in doc["preflight"]} == {"plan", "P1", "P2", "P2b", "P3", "P4", "P5", "P6",
                                                   "P7", "P8"} and all(c["ok"] for c in doc["preflight"])
    assert ["pve-manager", "8.2.4", "8.2.5"] in doc["plan"]["packages"]
    assert any("set-group noout pve2" in s for s in doc["steps"])


def test_run_shows_plan_and_preflight_first_and_skips_a_node_with_nothing_pending(lab, state_dir):
    lab.control("apt-fail", "pve1")  # not reached: the run below stops before anything changes
    r = cli(lab, state_dir, "run", "pve3", "--yes")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    out = r.stdout
    assert out.index("Maintenance plan for pve3") < out.index("Preflight: passed") < out.index("● pve3: maintenance")
    assert "no content" not in out
    assert "maintenance done after" in out and "pve3: kernel 6.8.12-4-pve -> 6.8.12-5-pve" in out, out[-2000:]
    assert "ZFS snapshot rpool/ROOT/pve-1@labconsole-" in out and "zfs destroy" in out
    # the report ends with what the console itself saw lost (tests/maintenance/test_observed.py counts it)
    assert any(line.startswith("service-seconds lost as the console saw them") for line in out.splitlines())
    # rollback passes the read-only checks by: nothing to undo there
    again = cli(lab, state_dir, "run", "pve3", "--yes")
    assert again.returncode == 0 and "pve3 has nothing pending: skipped" in again.stdout, again.stdout[-2000:]
    runs = {r["run"] for r in journal_records(state_dir) if r["event"] == "run-start"}
    assert len(runs) == 1  # the skipped node started no run
