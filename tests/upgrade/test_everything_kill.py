"""`labconsole upgrade run --all` SIGKILLed while two items run at once (a guest upgraded alongside a
node's maintenance, console/upgrade/everything_lanes.py), then resumed or rolled back by a new console
from the one journal: every item in flight goes on (or is undone), none is done twice, the lab ends
consistent."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.maintenance.conftest import cli_env, not_upgraded, upgraded
from tests.simlab import REPO_ROOT
from tests.upgrade.conftest import guests, journal_records, snapshots_of, upgrade_cli, upgrade_cmd

NODES = ("pve1", "pve2", "pve3")


def in_flight(recs: list[dict]) -> list[str]:
    started = [r["node"] for r in recs if r["event"] == "item-start"]
    done = {r["node"] for r in recs if r["event"] == "node-done"}
    return [i for i in started if i not in done]


def two_in_flight(recs: list[dict]) -> bool:
    """A guest's upgrade (G2 begun) while a node is in maintenance, the firewall pair over (a kill inside
    the pair's own VIP hand-over is another matter: tests/upgrade/test_firewall_pair.py)."""
    flight = in_flight(recs)
    g2 = {r["node"] for r in recs if r["event"] == "apply-start" and r.get("step") == "G2"}
    return "firewalls" not in flight and any(i in NODES for i in flight) and any(i in g2 for i in flight)


def kill_with_two_in_flight(lab, state_dir, timeout: float = 120.0) -> list[str]:
    """`upgrade run --all --yes` in a subprocess, SIGKILLed once a guest and a node are in flight together."""
    proc = subprocess.Popen(upgrade_cmd(lab, "run", "--all", "--yes"), env=cli_env(state_dir), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            recs = journal_records(state_dir)
            if two_in_flight(recs):
                time.sleep(0.1)
                proc.kill()
                proc.wait(10)
                return in_flight(journal_records(state_dir))
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                raise AssertionError(f"the run ended (exit {proc.returncode}) with no guest alongside a node:\n"
                                     f"{out[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"no guest ran alongside a node within {timeout} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def consistent(lab) -> None:
    st = lab.state()
    assert not any(n["ha_maintenance"] for n in st["nodes"].values()), st["nodes"]
    assert not st["ceph"]["flags"] and not st["ceph"]["group_flags"], st["ceph"]
    assert all(n["availability"] == "active" for n in st["swarm"]["nodes"].values()), st["swarm"]
    assert not st["guests"]["migrating"], st["guests"]


@pytest.mark.slow
def test_killed_with_two_items_in_flight_resumes_both(lab, state_dir):
    flight = kill_with_two_in_flight(lab, state_dir)
    r = upgrade_cli(lab, state_dir, "resume", timeout=240)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    recs = journal_records(state_dir)
    after = recs[[x["event"] for x in recs].index("resumed"):]
    assert {x["node"] for x in after if x["event"] == "apply-start"} >= set(flight)  # each goes on where it was
    done = [x["node"] for x in recs if x["event"] == "node-done"]
    assert len(done) == len(set(done)) and set(flight) <= set(done), done  # nothing done twice
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    assert all(upgraded(lab, n) for n in NODES)
    consistent(lab)


@pytest.mark.slow
def test_killed_with_two_items_in_flight_rolls_both_back(lab, state_dir):
    before = guests(lab)
    flight = kill_with_two_in_flight(lab, state_dir)
    r = upgrade_cli(lab, state_dir, "rollback", timeout=240)
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]  # 1: stopped and safe (rolled back)
    recs = journal_records(state_dir)
    after = recs[[x["event"] for x in recs].index("resumed"):]
    ended = {x["node"]: x["state"] for x in after if x["event"] == "state"}
    assert {i: ended.get(i) for i in flight} == dict.fromkeys(flight, "rolled_back"), after
    assert {x["node"] for x in after if x["event"] == "undo-start"} <= set(flight), after
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "rolled_back"
    for label in flight:
        if label in NODES:  # its old kernel and packages (a dist-upgrade cut off: tests/maintenance/test_sim_kill.py)
            assert not_upgraded(lab, label), lab.state()["nodes"][label]
        else:
            vmid = label.split("/")[0]
            g = guests(lab)[vmid]
            assert g["pending"] == before[vmid]["pending"] and not g["broken"], g
            assert not [s for s in snapshots_of(lab, int(vmid)) if s.startswith("labconsole-")]
    consistent(lab)
    assert upgrade_cli(lab, state_dir, "resume").stdout.startswith("no unfinished upgrade run")
