"""`labconsole upgrade run` SIGKILLed mid-upgrade (a subprocess killed when its journal shows a
step's apply-start), then resumed or rolled back from the journal by a new console."""

from __future__ import annotations

import pytest

from tests.maintenance.conftest import spawn_and_kill_at
from tests.upgrade.conftest import (
    guests,
    journal_records,
    snapshots_of,
    upgrade_cli,
    upgrade_cmd,
)


def run_and_kill_at(lab, state_dir, target: str, step: str) -> list[dict]:
    """`upgrade run TARGET --yes` SIGKILLed just after the journal shows `step` starting."""
    return spawn_and_kill_at(lab, state_dir, target, step, cmd=upgrade_cmd(lab, "run", target, "--yes"), linger=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("step", ["G2", "G3"])
def test_killed_guest_upgrade_is_resumed(lab, state_dir, step):
    recs = run_and_kill_at(lab, state_dir, "swarm3", step)
    assert not any(r["event"] == "run-end" for r in recs)
    r = upgrade_cli(lab, state_dir, "resume")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "123/swarm3 state interrupted" in r.stdout
    g = guests(lab)["123"]
    assert g["pending"] == 0 and g["kernel"] == "6.1.0-28-amd64" and not g["broken"], g
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    again = [x["step"] for x in recs[[x["event"] for x in recs].index("resumed"):] if x["event"] == "apply-start"]
    assert again[0] == step, again
    assert upgrade_cli(lab, state_dir, "resume").stdout.startswith("no unfinished upgrade run")


@pytest.mark.slow
def test_killed_guest_upgrade_is_rolled_back(lab, state_dir):
    run_and_kill_at(lab, state_dir, "db", "G3")
    r = upgrade_cli(lab, state_dir, "rollback")
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]  # 1: stopped and safe (rolled back)
    g = guests(lab)["201"]
    assert g["pending"] == 7 and not g["broken"], g  # the packages before the upgrade
    assert not [s for s in snapshots_of(lab, 201) if s.startswith("labconsole-")]
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "rolled_back"
    r = upgrade_cli(lab, state_dir, "run", "db", "--yes")  # the lab is usable again: a new run works
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


@pytest.mark.slow
def test_maintenance_resume_sends_an_upgrade_run_to_upgrade_resume(lab, state_dir):
    from tests.maintenance.conftest import cli

    run_and_kill_at(lab, state_dir, "mail", "G2")
    from console.maintenance.resume import unfinished_banner

    banner = unfinished_banner("demo")
    assert banner is not None and "unfinished upgrade run" in banner and "labconsole upgrade resume" in banner
    r = cli(lab, state_dir, "resume")
    assert r.returncode == 1 and "is a guest upgrade" in r.stderr and "labconsole upgrade resume" in r.stderr, r
    r = upgrade_cli(lab, state_dir, "run", "db", "--yes")  # one run at a time, whichever kind
    assert r.returncode == 2 and "is unfinished" in r.stderr and "labconsole upgrade resume" in r.stderr, r
    assert upgrade_cli(lab, state_dir, "resume").returncode == 0
