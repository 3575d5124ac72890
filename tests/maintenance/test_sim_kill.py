"""The console SIGKILLed in the middle of a maintenance (a subprocess running
`labconsole maintenance run NODE --yes`, killed when the journal shows a step's
apply-start), then the run resumed, or rolled back, from the journal by a new console."""

from __future__ import annotations

import asyncio

import pytest

from console.maintenance.apt_download import DOWNLOAD
from tests.maintenance.conftest import (
    cli,
    guests_by_vmid,
    journal_records,
    not_upgraded,
    problems_after,
    spawn_and_kill_at,
    upgraded,
)

# killed mid-migration, mid-dist-upgrade, mid-reboot, as guests come back; for rollback also while the
# VIP moves (D3 only sends the HA requests now: over before a kill can land in it); killed in U1, the
# dist-upgrade goes on on the node and the restore waits for its dpkg lock (test_restore_under_lock.py)
RESUME_AT = ["D4", "U1", "U2", "R2"]
ROLLBACK_AT = ["D1", "D4", "U1", "U2", "R2"]


def _killed_mid_run(lab, state_dir, step):
    before = asyncio.run(guests_by_vmid(lab))
    recs = spawn_and_kill_at(lab, state_dir, "pve1", step)
    assert not any(r["event"] == "run-end" for r in recs)
    steps_records = [r for r in recs if not r["event"].startswith("call-")]
    assert steps_records[-1]["event"] == "apply-start" and steps_records[-1]["step"] == step, steps_records[-1]
    # remote calls journaled after it (if the kill came that late) belong to that step, or to the
    # package download P8 started in the background (apt_download.py)
    tail = recs[recs.index(steps_records[-1]) + 1:]
    assert all(r["event"].startswith("call-") and (r["step"] == step or r["call"].endswith(DOWNLOAD))
               for r in tail), tail
    status = cli(lab, state_dir, "status")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "interrupted (unfinished: resume or rollback)" in status.stdout
    assert "lock held" not in status.stdout  # the kernel dropped the dead console's lock
    assert "cluster lock left by a console that is gone" in status.stdout  # its cluster lock dir is still there
    return before


@pytest.mark.slow
@pytest.mark.parametrize("step", RESUME_AT)
def test_killed_run_is_resumed_from_the_journal(lab, state_dir, step):
    before = _killed_mid_run(lab, state_dir, step)
    r = cli(lab, state_dir, "resume")
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "node pve1 state interrupted" in r.stdout
    assert upgraded(lab, "pve1")
    assert asyncio.run(problems_after(lab, before)) == []
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    # the interrupted step was applied again (idempotently), the ones before it were not
    after_resume = recs[[x["event"] for x in recs].index("resumed"):]
    again = [x["step"] for x in after_resume if x["event"] == "apply-start"]
    assert again[0] == step, again
    r = cli(lab, state_dir, "resume")
    assert r.returncode == 0 and "no unfinished maintenance run" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("step", ROLLBACK_AT)
def test_killed_run_is_rolled_back_from_the_journal(lab, state_dir, step):
    before = _killed_mid_run(lab, state_dir, step)
    r = cli(lab, state_dir, "rollback")
    assert r.returncode == 1, (r.stdout + r.stderr)[-4000:]  # 1: stopped and safe (rolled back)
    assert "pve1: rolled_back" in r.stdout
    assert not_upgraded(lab, "pve1"), lab.state()["nodes"]["pve1"]
    assert asyncio.run(problems_after(lab, before)) == []
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "rolled_back"
    undone = [x["step"] for x in recs if x["event"] == "undo-done"]
    assert undone[0] == step and undone[-1] == "D1", undone
    assert not any(s[0] in "PV" for s in undone), undone  # checks change nothing: nothing to undo


def test_new_run_refused_while_one_is_unfinished(lab, state_dir):
    _killed_mid_run(lab, state_dir, "D1")
    r = cli(lab, state_dir, "run", "pve2", "--yes")
    assert r.returncode != 0 and "is unfinished" in r.stderr + r.stdout, r.stdout + r.stderr
    assert lab.state()["nodes"]["pve2"]["upgradable"] == 12
    r = cli(lab, state_dir, "rollback")
    assert r.returncode == 1 and "pve1: rolled_back" in r.stdout, r.stdout + r.stderr
