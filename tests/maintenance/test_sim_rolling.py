"""`labconsole maintenance run --all --yes` against the simulated lab: a rolling upgrade
of every node through the real command line, and the lock that keeps a second
console out."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time

import pytest

from console.cli import main
from tests.maintenance.conftest import (
    cli,
    cli_cmd,
    cli_env,
    fast_config,
    guests_by_vmid,
    journal_records,
    problems_after,
    start_and_freeze,
    upgraded,
)
from tests.simlab import REPO_ROOT


@pytest.mark.slow
def test_rolling_upgrade_of_all_nodes_through_the_cli(lab, state_dir, capsys):
    before = asyncio.run(guests_by_vmid(lab))
    lab.reset_availability()
    code = main(["--config", str(fast_config(lab)), "maintenance", "run", "--all", "--yes"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert all(upgraded(lab, n) for n in ("pve1", "pve2", "pve3")), lab.state()["nodes"]
    assert asyncio.run(problems_after(lab, before, back_home=False)) == []

    # guests stay on the upgraded nodes they went to (plan_park.py): each container moved once,
    # but db, whose HA rule prefers pve2 (it returns there, as the CRM's failback would take it)
    after = asyncio.run(guests_by_vmid(lab))
    assert after[200]["node"] != "pve1" and after[201]["node"] == "pve2", after
    assert after[101]["node"] != after[102]["node"]  # the firewalls-apart rule held
    assert after[111]["node"] == "pve3"  # jellyfin (PCI passthrough) never moves
    swarm = [after[v]["node"] for v in (121, 122, 123)]
    assert len(set(swarm)) == 3, swarm  # manager VMs that had to share a node went home: one node's loss is fine
    calls = [r["call"] for r in journal_records(state_dir) if r["event"] == "call-start"]
    assert sum("ha_migrate(ct:200," in c for c in calls) == 1, calls
    assert not [c for c in calls if "ha_migrate(ct:201," in c], calls  # HA maintenance moves db, and back
    assert "guests left where the run placed them" in out and "CT 200 mail pve1 -> " in out

    # one node after another, each with its own preflight, fewest running guests first
    recs = journal_records(state_dir)
    done = [r["node"] for r in recs if r["event"] == "node-done"]
    assert sorted(done) == ["pve1", "pve2", "pve3"] and done[0] == "pve3"
    starts = [(r["node"], r["step"]) for r in recs if r["event"] == "apply-start"]
    for node in done:
        mine = [s for n, s in starts if n == node]
        assert mine[:10] == ["P0", "P1", "P2", "P2b", "P3", "P4", "P5", "P6", "P7", "P8"], mine
    firsts = [starts.index((n, "P0")) for n in done]
    lasts = [max(i for i, (n2, _) in enumerate(starts) if n2 == n) for n in done]
    assert all(lasts[i] < firsts[i + 1] for i in range(2)), "nodes overlapped"
    assert re.search(r"maintenance done after \d+ (s|min)[^:]*: nodes done pve3, ", out), out[-2000:]
    assert "pve3: kernel 6.8.12-4-pve -> 6.8.12-5-pve" in out and "pve-manager 8.2.4" in out

    # the record of what it cost: VMs and multi-replica services lose nothing
    av = lab.availability()
    vms_lost = {k: v for k, v in av["guests"].items() if before[int(k)]["type"] == "qemu" and k != "111"}
    assert vms_lost == {}, av
    assert av["service_seconds_total"] == 0, av
    assert av["vip_longest_gap"] <= 2.0, av

    assert main(["--config", str(lab.config_path), "maintenance", "status"]) == 0
    assert re.search(r"nodes done: pve3, pve\d, pve\d", capsys.readouterr().out)
    # nothing left to upgrade: a second rolling run has no node to do
    assert main(["--config", str(fast_config(lab)), "maintenance", "run", "--all", "--yes"]) == 0
    assert "no node has pending updates" in capsys.readouterr().out


def test_rolling_run_returns_guests_home_when_asked(lab, state_dir, capsys):
    before = asyncio.run(guests_by_vmid(lab))
    code = main(["--config", str(fast_config(lab)), "maintenance", "run", "--all", "--order", "pve3,pve1",
                 "--return-guests", "--yes"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert upgraded(lab, "pve3") and upgraded(lab, "pve1")
    assert asyncio.run(problems_after(lab, before)) == []  # every guest back where it ran
    assert "guests moved back home (--return-guests)" in out, out[-2000:]
    head = journal_records(state_dir)[0]
    assert head["event"] == "run-start" and head["options"] == {"return_guests": True}


def test_lock_keeps_a_second_run_out(lab, state_dir):
    env = cli_env(state_dir)
    first = start_and_freeze(lab, env, state_dir, "pve1", "D1")
    try:
        second = subprocess.run(cli_cmd(lab, "run", "pve2", "--yes"), env=env, cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0, second.stdout[-3000:]
        assert "already running" in second.stderr + second.stdout
        assert f"pid {first.pid}" in second.stderr + second.stdout
        resume = subprocess.run(cli_cmd(lab, "resume"), env=env, cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=60)
        assert resume.returncode != 0 and "already running" in resume.stderr + resume.stdout
        first.send_signal(signal.SIGCONT)
        code = first.wait(120)
        out = first.stdout.read().decode()
        # frozen with D1's command in flight: on a loaded box the freeze may outlast its timeout, and the
        # run then stops safe at D1 (exit 1); either way it ends and lets the lock go
        assert code == 0 or (code == 1 and "did not finish within" in out), out[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        first.stdout.close()
    # pve2 was never touched; the lock is free again once the first run ended
    assert lab.state()["nodes"]["pve2"]["upgradable"] == 12
    nodes = {r.get("node") for r in journal_records(state_dir) if r["event"] == "apply-start"}
    assert nodes == {"pve1"}
    again = subprocess.run(cli_cmd(lab, "plan", "pve2"), env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr


def test_cli_failure_rolls_back_at_once_when_asked(lab, state_dir):
    """`run NODE --yes --on-failure rollback` with apt failing: exit 1 (stopped and safe), the node rolled back."""
    before = asyncio.run(guests_by_vmid(lab))
    lab.control("apt-fail", "pve2")
    r = cli(lab, state_dir, "run", "pve2", "--yes", "--on-failure", "rollback")
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]
    assert "✖ U1 failed: U1: dist-upgrade exited 100" in r.stdout
    assert "pve2: rolled_back" in r.stdout
    assert asyncio.run(problems_after(lab, before)) == []
    assert lab.state()["nodes"]["pve2"]["upgradable"] == 12
    status = cli(lab, state_dir, "status")
    assert status.returncode == 1 and "rolled_back (finished)" in status.stdout, status.stdout


@pytest.mark.slow
def test_rolling_run_killed_while_the_next_node_drains_during_recovery_is_resumed(lab, state_dir):
    """SIGKILL while the second node (pve1) migrates its guests, in the window where Ceph may still
    recover after the first (pve3): status names both; resume finishes every node."""
    before = asyncio.run(guests_by_vmid(lab))
    proc = subprocess.Popen(cli_cmd(lab, "run", "--all", "--yes"), env=cli_env(state_dir), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not any(r["event"] == "apply-start" and r.get("step") == "D4" and r.get("node") == "pve1"
                      for r in journal_records(state_dir)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()[-3000:]
            time.sleep(0.01)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
    status = cli(lab, state_dir, "status")
    assert status.returncode == 1 and "interrupted (unfinished: resume or rollback)" in status.stdout, status.stdout
    assert "nodes done: pve3" in status.stdout and "on pve1" in status.stdout, status.stdout
    assert "Ceph may still recover after pve3: pve1's D5 waits" in status.stdout, status.stdout
    r = cli(lab, state_dir, "resume", timeout=240)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "node pve1 state interrupted" in r.stdout
    assert all(upgraded(lab, n) for n in ("pve1", "pve2", "pve3")), lab.state()["nodes"]
    assert asyncio.run(problems_after(lab, before, back_home=False)) == []
    recs = journal_records(state_dir)
    assert [r["node"] for r in recs if r["event"] == "node-done"] == ["pve3", "pve1", "pve2"]
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
