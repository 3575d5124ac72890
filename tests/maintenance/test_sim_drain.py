"""Drain-only maintenance (hardware work) against the simulated lab: `maintenance drain
NODE` leaves the node drained with the run paused in the journal, `rejoin NODE` brings
everything back; a console killed mid-drain is resumed from the journal."""

from __future__ import annotations

import asyncio

from console.cli import main
from tests.maintenance.conftest import (
    cli,
    fast_config,
    guests_by_vmid,
    journal_records,
    noout_on,
    not_upgraded,
    problems_after,
    running_elsewhere,
    spawn_and_kill_at,
)


def _drained(lab, before, node="pve1") -> None:
    s = lab.state()
    assert s["nodes"][node]["ha_maintenance"], s["nodes"][node]
    assert noout_on(lab, node)
    assert s["swarm"]["nodes"]["swarm1"]["availability"] in ("active", "drain")  # swarm1 live-migrates: no drain
    assert asyncio.run(running_elsewhere(lab, before, node)) == []


def test_drain_waits_for_the_operator_then_rejoin_brings_everything_back(lab, state_dir, capsys):
    before = asyncio.run(guests_by_vmid(lab))
    config = str(fast_config(lab))
    code = main(["--config", config, "maintenance", "drain", "pve1", "--yes"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert "Drain-only maintenance plan for pve1" in out and "apt-get" not in out
    assert "‖ pve1 is drained: do your work" in out and "maintenance rejoin pve1" in out
    _drained(lab, before)
    steps = [r["step"] for r in journal_records(state_dir) if r["event"] == "apply-start"]
    assert not any(s.startswith("U") for s in steps) and "P8" not in steps and steps[-1] == "H1", steps

    # the run is recorded as paused (unfinished); status says what it waits for
    assert main(["--config", config, "maintenance", "status"]) == 1
    status = capsys.readouterr().out
    assert "(drain) nodes pve1: paused (unfinished" in status and "rejoin pve1" in status, status
    # `resume` does not rejoin behind the operator's back: the run stops at the hold again
    assert main(["--config", config, "maintenance", "resume"]) == 0
    assert "‖ pve1 is drained" in capsys.readouterr().out
    _drained(lab, before)
    # a rejoin of another node is refused
    assert main(["--config", config, "maintenance", "rejoin", "pve2"]) == 1  # a ConsoleError, as run's refusals
    assert "no drain-only run of pve2 to rejoin" in capsys.readouterr().err

    # the hardware work: pve1 powered off and on again meanwhile
    lab.control("node-down", "pve1")
    lab.wait_until(lambda s: s["nodes"]["pve1"]["status"] != "online", timeout=10)
    lab.control("node-up", "pve1")
    code = main(["--config", config, "maintenance", "rejoin", "pve1"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert "pve1: done" in out or "maintenance done" in out, out[-2000:]
    assert asyncio.run(problems_after(lab, before)) == []  # guests home, noout cleared, swarm active
    assert not_upgraded(lab, "pve1")  # nothing was upgraded
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    assert main(["--config", config, "maintenance", "status"]) == 0


def test_drain_killed_mid_drain_is_resumed_then_rolled_back(lab, state_dir):
    before = asyncio.run(guests_by_vmid(lab))
    spawn_and_kill_at(lab, state_dir, "pve1", "D4", command="drain")
    # rejoin before the drain finished: refused with what to do instead
    r = cli(lab, state_dir, "rejoin", "pve1")
    assert r.returncode == 1 and "pve1 is not drained yet" in r.stdout, r.stdout + r.stderr
    r = cli(lab, state_dir, "resume")
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "pve1 is drained" in r.stdout
    _drained(lab, before)
    # rollback undoes the drain from the hold
    r = cli(lab, state_dir, "rollback")
    assert r.returncode == 1 and "pve1: rolled_back" in r.stdout, (r.stdout + r.stderr)[-4000:]
    assert asyncio.run(problems_after(lab, before)) == []
    undone = [x["step"] for x in journal_records(state_dir) if x["event"] == "undo-done"]
    assert undone[0] == "H1" and undone[-1] == "D1", undone


def test_drain_refused_read_only(lab, state_dir, capsys):
    code = main(["--config", str(fast_config(lab)), "maintenance", "drain", "pve1", "--yes", "--read-only"])
    assert code != 0
    assert "read-only" in capsys.readouterr().err
    assert not lab.state()["nodes"]["pve1"]["ha_maintenance"] and journal_records(state_dir) == []
