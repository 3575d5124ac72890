"""After an upgrade run stopped, against the sim: `upgrade status` tells every item's
state and what to do next; `upgrade retry` upgrades again the item a run stopped at
(rolled back); `upgrade abort` interrupts the `upgrade run` going on, which then rolls
back with `upgrade rollback`; and the `:updates` view's session does the same (abort
= its worker cancelled, then rollback from the journal), with its step table."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

from console.config_model import GuestProbe
from console.sources import build_sources
from console.upgrade import run_control
from console.upgrade import session_control as control
from tests.maintenance.conftest import CLUSTER
from tests.simlab import REPO_ROOT
from tests.upgrade.conftest import (
    SCALE,
    TIMEOUTS,
    cli_env,
    cluster_for,
    guests,
    journal_records,
    probe_url,
    snapshots_of,
    upgrade,
    upgrade_cli,
    upgrade_cmd,
)


def _db_cluster(lab):
    return cluster_for(lab, (GuestProbe("201", http=(probe_url(lab, 201),)),), grace=0)


def test_status_and_retry_of_a_rolled_back_guest(lab, state_dir):
    cluster = _db_cluster(lab)
    assert upgrade(cluster, "status") == (0, f"no upgrade run of {CLUSTER} yet\n")
    lab.control("guest-upgrade-breaks-service", 201)
    code, out = upgrade(cluster, "run", "db", "--yes")
    assert code == 1, out[-3000:]

    code, out = upgrade(cluster, "status", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["state"] == "rolled_back" and doc["finished"], doc
    assert doc["items"] == [{"item": "201/db", "state": "rolled_back"}] and doc["retry"] == ["201/db"], doc
    assert "checks fail after the upgrade" in doc["error"] and "upgrade retry" in doc["next"], doc
    code, text = upgrade(cluster, "status")
    assert "↺ 201/db: rolled back" in text and "next: `labconsole upgrade retry` upgrades 201/db" in text, text

    lab.clear("guest-upgrade-breaks-service", 201)
    code, out = upgrade(cluster, "retry", "--yes")
    assert code == 0, out[-3000:]
    assert "✔ 201/db: done" in out, out[-2000:]
    assert guests(lab)["201"]["pending"] == 0 and guests(lab)["200"]["pending"] == 7  # only db was retried
    runs = {r["run"] for r in journal_records(state_dir) if r["event"] == "run-start"}
    assert len(runs) == 2
    assert upgrade(cluster, "status")[0] == 0
    assert upgrade(cluster, "retry", "--yes")[1].startswith("nothing to retry: the last run")


def test_abort_interrupts_the_run_going_on_and_rollback_undoes_it(lab, state_dir):
    assert upgrade_cli(lab, state_dir, "abort").returncode == 2  # nothing going on: one line, exit 2
    proc = subprocess.Popen(upgrade_cmd(lab, "run", "db", "--yes"), env=cli_env(state_dir), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(r["event"] == "apply-start" and r.get("step") == "G2" for r in journal_records(state_dir)):
            assert proc.poll() is None and time.monotonic() < deadline, "G2 did not start"
            time.sleep(0.02)
        proc.send_signal(signal.SIGSTOP)  # held at G2 while `abort` starts up (the fast sim ends G2 soon)
        r = upgrade_cli(lab, state_dir, "abort")
        proc.send_signal(signal.SIGCONT)  # SIGINT, pending while stopped, arrives now
        assert r.returncode == 0 and "asked pid" in r.stdout, r.stdout + r.stderr
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130 and "labconsole: interrupted" in out, out[-2000:]
    st = json.loads(upgrade_cli(lab, state_dir, "status", "--json").stdout)
    assert not st["finished"] and st["state"] == "interrupted" and st["stopped_at"] == "201/db", st
    r = upgrade_cli(lab, state_dir, "rollback")
    assert r.returncode == 1, (r.stdout + r.stderr)[-3000:]  # rolled back: stopped safe
    g = guests(lab)["201"]
    assert g["pending"] == 7 and not g["broken"], g
    assert not [s for s in snapshots_of(lab, 201) if s.startswith("labconsole-")]


def test_the_views_session_aborts_then_rolls_back_with_its_step_table(lab, state_dir):
    from console.upgrade.everything_session import UpdatesSession

    cluster = _db_cluster(lab)

    async def go() -> tuple[UpdatesSession, list, list]:
        sources = build_sources(cluster)
        try:
            s = UpdatesSession(cluster, sources, read_only=False, poll=0.2, scale=SCALE, timeouts=dict(TIMEOUTS))
            await s.refresh()
            task = asyncio.create_task(s.start("201/db"))
            while not any(r.step == "G2" and r.status == "running"
                          for r in (s.steps.items["201/db"].steps if "201/db" in s.steps.items else ())):
                assert not task.done(), "\n".join(s.lines)
                await asyncio.sleep(0.02)
            s.run.abort()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            aborted = [(r.step, r.status) for r in s.steps.items["201/db"].steps]
            control.refresh_unfinished(s)
            assert s.unfinished is not None and s.phase == "ended" and s.outcome == "interrupted", s.message
            await control.resume(s, "rollback")
            return s, aborted, [(r.step, r.status, r.seconds) for r in s.steps.items["201/db"].steps]
        finally:
            await sources.close()

    s, aborted, after = asyncio.run(go())
    assert aborted[:3] == [("G0", "done"), ("G1", "done"), ("G2", "interrupted")], aborted
    assert s.outcome == "rolled_back" and s.unfinished is None, "\n".join(s.lines)
    undone = {step: status for step, status, _ in after}
    assert undone["G2"] == "undone" and undone["G1"] == "undone" and undone["G0"] == "done", after
    assert all(sec is not None and sec >= 0 for step, status, sec in after if status != "pending"), after
    assert s.steps.items["201/db"].state == "rolled_back"
    g = guests(lab)["201"]
    assert g["pending"] == 7 and not g["broken"], g
    assert run_control.latest_status(CLUSTER).state == "rolled_back"
    assert control.retry_labels(s) == ["201/db"]
