"""Two consoles, two labs: the maintenance lock held on the cluster keeps a console
with its own state dir (standing in for another machine) out, and a journal
belongs to the cluster it was written on (a killed run in one simulated lab is
never offered, nor in the way, in the next one, though both call their cluster "demo")."""

from __future__ import annotations

import signal

import pytest

from console.maintenance.resume import find_unfinished
from tests.maintenance.conftest import (CLUSTER, SPEED, cli, cli_env, journal_records, spawn_and_kill_at,
                                        start_and_freeze)
from tests.simlab import SimLab


@pytest.mark.slow
def test_two_consoles_on_two_state_dirs_cannot_both_start(lab, tmp_path):
    here, there = tmp_path / "machine-a", tmp_path / "machine-b"
    first = start_and_freeze(lab, cli_env(here), here, "pve1", "D1")
    try:
        second = cli(lab, there, "run", "pve2", "--yes")
        out = second.stdout + second.stderr
        assert second.returncode != 0, out[-3000:]
        assert "already running: the cluster lock is held by" in out and f"pid {first.pid}" in out, out[-2000:]
        assert journal_records(there) == []  # refused before anything was journaled or changed
        assert lab.state()["nodes"]["pve2"]["upgradable"] == 12
        status = cli(lab, there, "status")
        assert "no maintenance run recorded" in status.stdout, status.stdout
        first.send_signal(signal.SIGCONT)
        assert first.wait(120) == 0, first.stdout.read().decode()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        first.stdout.close()
    plan = cli(lab, there, "plan", "pve2")  # the lock is gone with the first run: the other machine may go
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr


@pytest.mark.slow
def test_a_killed_run_in_one_lab_never_surfaces_in_the_next(tmp_path, monkeypatch):
    state = tmp_path / "state"
    with SimLab("seed", speed=SPEED) as first_lab:
        spawn_and_kill_at(first_lab, state, "pve1", "D1")
        status = cli(first_lab, state, "status")
        assert status.returncode == 1 and "interrupted" in status.stdout, status.stdout
    with SimLab("seed", speed=SPEED) as next_lab:  # a brand-new lab, also called "demo"
        status = cli(next_lab, state, "status")
        assert status.returncode == 0 and "no maintenance run recorded for this cluster" in status.stdout, status.stdout
        resume = cli(next_lab, state, "resume")
        assert resume.returncode == 0 and "no unfinished maintenance run of this cluster" in resume.stdout
        run = cli(next_lab, state, "run", "pve3", "--yes")
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
        assert next_lab.state()["nodes"]["pve3"]["upgradable"] == 0
        assert not next_lab.state()["nodes"]["pve1"]["ha_maintenance"]  # nobody "resumed" the other lab's run
    # the killed run is still there, unfinished, for its own lab
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(state))
    assert find_unfinished(CLUSTER) is not None
