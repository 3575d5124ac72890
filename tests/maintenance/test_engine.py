"""The engine with fake steps: order, idempotence, undo, journal replay, lock."""

import asyncio
import json
import subprocess
import sys

import pytest

from console.errors import ConsoleError
from console.maintenance.engine import StepFailed
from console.maintenance.journal import ClusterLock, Journal, unfinished_runs
from console.maintenance.rolling import MaintenanceRun


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


class World:
    """What fake steps act on: a set of applied things per node, and a log."""

    def __init__(self):
        self.applied: set[tuple[str, str]] = set()
        self.log: list[str] = []
        self.fail: set[tuple[str, str]] = set()  # (node, step id) whose apply fails
        self.apply_calls: dict[tuple[str, str], int] = {}


class FakeStep:
    skippable = False

    def __init__(self, sid, phase="drain", skippable=False):
        self.id, self.title, self.phase, self.skippable = sid, f"step {sid}", phase, skippable

    async def check(self, ctx):
        return None

    async def apply(self, ctx):
        w = ctx.services
        key = (ctx.node, self.id)
        w.apply_calls[key] = w.apply_calls.get(key, 0) + 1
        ctx.progress(f"doing {self.id}")
        if key in w.fail:
            raise StepFailed(self.id, f"{self.id} failed on purpose")
        if key not in w.applied:  # idempotent
            w.applied.add(key)
            w.log.append(f"apply {ctx.node} {self.id}")
        ctx.facts[f"{self.id}-done"] = True
        return {"was": self.id}

    async def undo(self, ctx, data):
        w = ctx.services
        key = (ctx.node, self.id)
        if key in w.applied:
            w.applied.discard(key)
            w.log.append(f"undo {ctx.node} {self.id}")


def steps(node):
    return [FakeStep("P1", "preflight"), FakeStep("D1"), FakeStep("D2", skippable=True), FakeStep("U1", "upgrade"),
            FakeStep("R1", "rejoin")]


async def test_runs_all_steps_in_order_and_journals():
    w = World()
    events = []
    run = MaintenanceRun.start("lab", ["pve1"], steps, w, events.append)
    assert await run.run() == "done"
    assert w.log == [f"apply pve1 {s}" for s in ("P1", "D1", "D2", "U1", "R1")]
    kinds = [e.kind for e in events]
    assert kinds.count("step-started") == 5 and kinds.count("step-done") == 5
    assert any(e.kind == "progress" and e.text == "doing U1" for e in events)
    recs = [json.loads(line) for line in run.journal.path.read_text().splitlines()]
    assert recs[0]["event"] == "run-start" and recs[-1]["event"] == "run-end"
    starts = [r["step"] for r in recs if r["event"] == "apply-start"]
    assert starts == ["P1", "D1", "D2", "U1", "R1"]
    assert not unfinished_runs("lab")


async def test_stops_at_first_failure_then_rolls_back_in_reverse():
    w = World()
    w.fail.add(("pve1", "U1"))
    events = []
    run = MaintenanceRun.start("lab", ["pve1"], steps, w, events.append)
    assert await run.run() == "failed"
    assert ("pve1", "R1") not in w.applied
    waiting = [e for e in events if e.kind == "waiting"][-1]
    assert waiting.step == "U1" and waiting.choices == ("retry", "rollback")
    assert "failed on purpose" in waiting.text
    assert await run.rollback() == "rolled_back"
    assert w.log[-3:] == ["undo pve1 D2", "undo pve1 D1", "undo pve1 P1"]
    assert w.applied == set()


async def test_retry_after_fix_and_skip_only_where_safe():
    w = World()
    w.fail.add(("pve1", "D1"))
    run = MaintenanceRun.start("lab", ["pve1"], steps, w)
    assert await run.run() == "failed"
    with pytest.raises(ConsoleError, match="cannot be skipped"):
        await run.skip()
    w.fail.clear()
    assert await run.retry() == "done"
    assert w.apply_calls[("pve1", "D1")] == 2

    w2 = World()
    w2.fail.add(("pve1", "D2"))
    run2 = MaintenanceRun.start("lab", ["pve1"], steps, w2)
    assert await run2.run() == "failed"
    assert await run2.skip() == "done"
    assert ("pve1", "D2") not in w2.applied and ("pve1", "R1") in w2.applied


async def test_rolling_stops_at_first_failing_node():
    w = World()
    w.fail.add(("pve2", "U1"))
    run = MaintenanceRun.start("lab", ["pve1", "pve2", "pve3"], steps, w)
    assert await run.run() == "failed"
    assert run.done_nodes == ["pve1"]
    assert not any(n == "pve3" for n, _ in w.applied)


async def test_resume_from_journal_after_crash_continues_idempotently():
    w = World()
    w.fail.add(("pve1", "U1"))
    run = MaintenanceRun.start("lab", ["pve1", "pve2"], steps, w)
    await run.run()
    # the console "dies" here; a new one finds the unfinished journal
    [j] = unfinished_runs("lab")
    w.fail.clear()
    resumed = MaintenanceRun.resume(j, steps, w)
    assert resumed.engine.node == "pve1" and resumed.engine.position == 3
    assert resumed.engine.ctx.facts["D2-done"] is True
    assert await resumed.run() == "done"
    assert resumed.done_nodes == ["pve1", "pve2"]
    assert not unfinished_runs("lab")


async def test_resume_then_rollback_undoes_in_flight_step():
    w = World()
    run = MaintenanceRun.start("lab", ["pve1"], steps, w)
    eng = run._engine_for("pve1")
    run.engine = eng
    # simulate a crash in the middle of D2's apply: apply-start written, apply-done not
    await eng._apply(eng.steps[0])
    eng.position = 1
    await eng._apply(eng.steps[1])
    eng.position = 2
    run.journal.append("apply-start", node="pve1", step="D2", facts={})
    w.applied.add(("pve1", "D2"))
    resumed = MaintenanceRun.resume(run.journal, steps, w)
    assert resumed.engine.in_flight == "D2"
    assert await resumed.rollback() == "rolled_back"
    assert w.applied == set()
    assert w.log[-3:] == ["undo pve1 D2", "undo pve1 D1", "undo pve1 P1"]


def test_torn_last_line_is_ignored(tmp_path):
    j = Journal(tmp_path / "r.jsonl")
    j.append("run-start", cluster="lab", kind="node", nodes=["pve1"])
    with open(j.path, "a") as fh:
        fh.write('{"event": "apply-st')
    assert [r["event"] for r in j.records()] == ["run-start"]


def test_journal_never_holds_secrets(tmp_path):
    j = Journal(tmp_path / "r.jsonl")
    j.append("apply-failed", error="401: PVEAPIToken=root@pam!x=0123-secret rejected", password="hunter2")
    text = j.path.read_text()
    assert "0123-secret" not in text and "hunter2" not in text


def test_lock_excludes_second_console_and_dies_with_its_holder(state_dir):
    code = ("import os,sys,time; os.environ['LABCONSOLE_STATE_DIR']=sys.argv[1];"
            "from console.maintenance.journal import ClusterLock; l=ClusterLock('lab'); l.acquire('r1');"
            "print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(state_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ConsoleError, match=f"already running \\(pid {proc.pid}"):
            ClusterLock("lab").acquire()
    finally:
        proc.kill()
        proc.wait()
    lock = ClusterLock("lab")  # the holder was SIGKILLed: the lock is free again
    lock.acquire()
    lock.release()


class HoldStep(FakeStep):
    """Drain-only's hold (console/maintenance/drain_only.py), faked."""

    async def apply(self, ctx):
        from console.maintenance.engine import HoldForOperator

        if not ctx.facts.get("released"):
            raise HoldForOperator(f"{ctx.node} is drained")
        return await super().apply(ctx)


def drain_steps(node):
    return [FakeStep("P1", "preflight"), FakeStep("D1"), HoldStep("H1", "hold"), FakeStep("R1", "rejoin")]


async def test_a_hold_pauses_the_run_until_released_and_survives_a_new_console():
    w = World()
    events = []
    run = MaintenanceRun.start("lab", ["pve1"], drain_steps, w, events.append, kind="drain")
    assert await run.run() == "paused"
    assert run.engine.choices() == ("rejoin", "rollback") and run.engine.held_step.id == "H1"
    assert events[-1].kind == "waiting" and events[-1].state == "paused" and "pve1 is drained" in events[-1].text
    assert w.log == ["apply pve1 P1", "apply pve1 D1"] and not run.journal.finished()
    # a new console: the journal says paused, at the hold; run() stops there again
    again = MaintenanceRun.resume(run.journal, drain_steps, w)
    assert again.engine.state == "paused" and again.engine.position == 2 and again.kind == "drain"
    assert await again.run() == "paused"
    assert await again.rejoin() == "done"
    assert w.log[-2:] == ["apply pve1 H1", "apply pve1 R1"] and again.journal.finished()


async def test_rollback_from_a_hold_undoes_the_drain():
    w = World()
    run = MaintenanceRun.start("lab", ["pve1"], drain_steps, w, kind="drain")
    assert await run.run() == "paused"
    resumed = MaintenanceRun.resume(run.journal, drain_steps, w)
    assert await resumed.rollback() == "rolled_back"
    assert w.log[-2:] == ["undo pve1 D1", "undo pve1 P1"] and w.applied == set()  # the fakes undo checks too


class TogetherStep(FakeStep):
    """A verify step that may run at once with its neighbours (engine.BaseStep.together)."""

    together = True
    read_only = True
    gate: asyncio.Event | None = None  # V2 waits for it, V4 sets it: only steps run at once finish

    async def apply(self, ctx):
        if self.id == "V2":
            await self.gate.wait()
        elif self.id == "V4":
            self.gate.set()
        return await super().apply(ctx)


def together_steps(node):
    gate = asyncio.Event()
    group = [TogetherStep(s, "verify") for s in ("V2", "V3", "V4")]
    for s in group:
        s.gate = gate
    return [FakeStep("P1", "preflight"), *group, FakeStep("R1", "rejoin")]


async def test_together_steps_run_at_once_and_are_journaled_in_step_order():
    w = World()
    run = MaintenanceRun.start("lab", ["pve1"], together_steps, w)
    assert await asyncio.wait_for(run.run(), 5) == "done"  # V2 waited for V4: they ran at once
    recs = list(run.journal.records())
    assert [r["step"] for r in recs if r["event"] == "apply-start"] == ["P1", "V2", "V3", "V4", "R1"]
    assert [r["step"] for r in recs if r["event"] == "apply-done"] == ["P1", "V2", "V3", "V4", "R1"]


async def test_a_together_step_that_fails_stops_the_run_at_it_and_a_retry_runs_the_rest_again():
    w = World()
    w.fail.add(("pve1", "V3"))
    events = []
    run = MaintenanceRun.start("lab", ["pve1"], together_steps, w, events.append)
    assert await asyncio.wait_for(run.run(), 5) == "failed"
    waiting = [e for e in events if e.kind == "waiting"][-1]
    assert waiting.step == "V3" and "failed on purpose" in waiting.text
    recs = list(run.journal.records())
    assert [r["step"] for r in recs if r["event"] == "apply-done"] == ["P1", "V2"]  # not V4: after the failure
    resumed = MaintenanceRun.resume(run.journal, together_steps, w)
    assert resumed.engine.position == 2 and resumed.engine.in_flight == "V3"  # a new console starts at V3
    w.fail.clear()
    assert await asyncio.wait_for(run.retry(), 5) == "done"
    assert w.apply_calls[("pve1", "V4")] == 2  # with V3 the first time, and again: it comes after the failure
