"""The maintenance wizard in the pilot: the real session, MaintenanceRun, journal
and cluster lock, with fake steps (what they do is recorded) in a tmp state dir."""

from __future__ import annotations

import asyncio

import pytest

from console.maintenance.journal import ClusterLock, journal_dir, unfinished_runs
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.session import WizardSession
from screens.maintenance_modals import TypeNameModal
from screens.modals import ConfirmModal

from .helpers import notes, poll, screen_text


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(d))
    return d


class Lab:
    """What the fake steps do, and the switches a test flips."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.reasons: dict[str, str] = {}  # step id -> preflight/check failure reason
        self.fail_apply: dict[str, int] = {}  # step id -> how many applies fail
        self.gates: dict[str, asyncio.Event] = {}  # step id -> apply waits for it
        self.started: dict[str, asyncio.Event] = {}


class FakeStep:
    def __init__(self, lab: Lab, id: str, title: str, phase: str, skippable: bool = False):
        self.lab, self.id, self.title, self.phase, self.skippable = lab, id, title, phase, skippable

    async def check(self, ctx):
        self.lab.calls.append(f"check {self.id} {ctx.node}")
        if self.phase == "preflight":
            ctx.progress(f"{self.id} looked at {ctx.node}")
        return self.lab.reasons.get(self.id)

    async def apply(self, ctx):
        self.lab.calls.append(f"apply {self.id} {ctx.node}")
        ctx.progress(f"{self.id} working on {ctx.node}")
        self.lab.started.setdefault(self.id, asyncio.Event()).set()
        if self.id in self.lab.gates:
            await self.lab.gates[self.id].wait()
        if self.lab.fail_apply.get(self.id, 0) > 0:
            self.lab.fail_apply[self.id] -= 1
            raise RuntimeError(f"{self.id} broke on {ctx.node}")
        return {"did": self.id}

    async def undo(self, ctx, data):
        self.lab.calls.append(f"undo {self.id} {ctx.node}")


class FakePlan:
    def __init__(self, node: str, problems: list[str]):
        self.node, self.problems = node, problems

    def text(self) -> str:
        return f"Plan for {self.node}:\n  200 mail (lxc): restart-migrate -> pve1, about 10 s down"


class FakeServices:
    def __init__(self, lab_data, writable: bool):
        self.data, self.writable, self.plans = lab_data, writable, {}

    async def pve(self):
        return self.data["proxmox"]


def make_session(app, lab: Lab, fake_lab) -> WizardSession:
    def steps_for(node):
        return [FakeStep(lab, "P1", "Cluster quorate", "preflight"),
                FakeStep(lab, "P5", "Ceph can spare the node", "preflight"),
                FakeStep(lab, "D1", "Move the VIP", "drain"),
                FakeStep(lab, "U1", "Upgrade the packages", "upgrade",
                         skippable=lab.reasons.get("U1-skippable") == "yes"),
                FakeStep(lab, "R1", "Unset noout", "rejoin")]

    async def plan_builder(svc, node):
        lab.calls.append(f"plan {node} writable={svc.writable}")
        return FakePlan(node, [lab.reasons["plan"]] if "plan" in lab.reasons else [])

    def services(cluster, sources, writable):
        return FakeServices(fake_lab.data, writable)

    session = WizardSession(app.cluster, object(), app.read_only, steps=steps_for, plan_builder=plan_builder,
                            services=services)
    session.refresh_unfinished()
    return session


async def until(pilot, condition, what: str, tries: int = 1000) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def plan_node(app, pilot, node="pve3", kind="u"):
    """7, then enter on `node` and choose u (upgrade) or d (drain only; "all" has no choice):
    until the plan and preflight are shown."""
    await poll(app, pilot)
    await pilot.press("7")
    await pilot.pause()
    table = app.screen.query_one("#maint-nodes")
    assert table.move_cursor_to_key(node)
    await pilot.press("enter")
    if node != "all":
        await until(pilot, lambda: type(app.screen).__name__ == "KindModal", "the upgrade / drain-only choice")
        await pilot.press(kind)
    await until(pilot, lambda: app.maintenance.phase == "review", "plan and preflight")
    await pilot.pause()


async def open_wizard(app, pilot, lab, fake_lab, node="pve3", kind="u"):
    app.maintenance = make_session(app, lab, fake_lab)
    await plan_node(app, pilot, node, kind)


async def confirm(app, pilot, word: str) -> None:
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, TypeNameModal), "the confirm dialog")
    await pilot.press(*word, "enter")
    await pilot.pause()


def journals() -> list:
    return sorted(journal_dir("home").glob("*.jsonl"))


async def test_choose_a_node_read_plan_and_preflight(make_app, lab):
    app, steps = make_app(), Lab()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        text = screen_text(app)
        assert "Plan for pve3" in text and "restart-migrate -> pve1" in text
        assert "✔ P1 Cluster quorate" in text and "P1 looked at pve3" in text
        assert "preflight passed" in text and "c: confirm by typing pve3" in text
        # only reads so far: the checks ran, nothing was applied, no journal
        assert "plan pve3 writable=False" in steps.calls
        assert [c for c in steps.calls if c.startswith("apply")] == [] and journals() == []


async def test_failed_preflight_is_shown_and_blocks_confirmation(make_app, lab):
    app, steps = make_app(), Lab()
    steps.reasons["P5"] = "ceph osd ok-to-stop 2: not safe"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        text = screen_text(app)
        assert "✖ P5 Ceph can spare the node" in text and "ok-to-stop 2: not safe" in text
        assert "1 of 3 checks failed" in text
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, TypeNameModal)
        assert "c: confirm" not in screen_text(app)  # offered only after a passing preflight
        assert "fix what failed, then r: re-check" in screen_text(app)
        steps.reasons.clear()
        await pilot.press("r")  # re-check
        await until(pilot, lambda: app.maintenance.preflight_ok, "a passing re-check")


async def test_wrong_name_refused_right_name_runs_to_done(make_app, lab):
    app, steps = make_app(), Lab()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve2")
        assert any("not confirmed" in n and "'pve2'" in n for n in notes(app))
        assert app.maintenance.phase == "review" and journals() == []

        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the run to end")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "maintenance done" in text and "nodes done pve3" in text
        for step in ("P1", "P5", "D1", "U1", "R1"):
            assert f"✔ {step}" in text, step
        assert [c for c in steps.calls if c.startswith("apply")] == [
            f"apply {s} pve3" for s in ("P1", "P5", "D1", "U1", "R1")]
        assert unfinished_runs("home") == [] and len(journals()) == 1
        assert not ClusterLock("home").held()  # released when the run ended
        await pilot.press("escape")
        await pilot.pause()
        assert app.maintenance.phase == "choose"


async def test_live_output_while_a_step_runs_and_the_run_survives_other_views(make_app, lab):
    app, steps = make_app(), Lab()
    steps.gates["U1"] = asyncio.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: "U1" in steps.started, "U1 to start")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "▶ U1" in text and "U1 working on pve3" in text and "✔ D1" in text
        assert ClusterLock("home").held()
        wizard = app.screen
        await pilot.press("1")  # another view: the worker lives on the App
        await pilot.pause()
        shown = wizard.shown_version
        steps.gates["U1"].set()
        await until(pilot, lambda: app.maintenance.phase == "ended", "the run to end while hidden")
        await pilot.pause(0.1)
        assert wizard.shown_version == shown, "a hidden wizard must not render"
        assert any("maintenance done" in n for n in notes(app))
        await pilot.press("7")
        await pilot.pause()
        assert "✔ R1" in screen_text(app)


async def test_failure_offers_retry_and_rollback_but_not_skip(make_app, lab):
    app, steps = make_app(), Lab()
    steps.fail_apply["U1"] = 1
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: app.maintenance.phase == "waiting", "the failure")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "✖ U1" in text and "U1 broke on pve3" in text
        assert "r: retry · ctrl+b: roll back · ctrl+x: abort" in text and "ctrl+y: skip" not in text
        await pilot.press("ctrl+y")  # not offered: nothing happens
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal) and app.maintenance.phase == "waiting"
        await pilot.press("r")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the retried run to end")
        assert app.maintenance.outcome == "done"
        assert steps.calls.count("apply U1 pve3") == 2


async def test_skip_only_when_the_step_allows_it(make_app, lab):
    app, steps = make_app(), Lab()
    steps.fail_apply["U1"] = 5
    steps.reasons["U1-skippable"] = "yes"
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: app.maintenance.phase == "waiting", "the failure")
        await pilot.pause(0.1)
        assert "ctrl+y: skip" in screen_text(app)
        await pilot.press("ctrl+y")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "skip's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the run to end")
        await pilot.pause(0.1)
        assert app.maintenance.outcome == "done" and "» U1" in screen_text(app)
        assert "apply R1 pve3" in steps.calls


async def test_rollback_undoes_in_reverse_order(make_app, lab):
    app, steps = make_app(), Lab()
    steps.fail_apply["U1"] = 1
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: app.maintenance.phase == "waiting", "the failure")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "rollback's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the rollback to end")
        await pilot.pause(0.1)
        undos = [c for c in steps.calls if c.startswith("undo")]
        assert undos == ["undo U1 pve3", "undo D1 pve3", "undo P5 pve3", "undo P1 pve3"]
        text = screen_text(app)
        assert "maintenance rolled_back" in text and "↺ D1" in text
        assert unfinished_runs("home") == []


async def test_read_only_refuses_with_a_message(make_app, lab):
    app, steps = make_app(read_only=True), Lab()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        assert "read-only: maintenance on home is refused" in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, TypeNameModal)
        assert any("refused" in n and "read-only" in n for n in notes(app))
        # and below the key: the session itself refuses
        await app.maintenance.start()
        assert "read-only" in app.maintenance.message
        assert [c for c in steps.calls if c.startswith("apply")] == [] and journals() == []


async def test_resume_banner_on_start_then_resume_finishes_the_run(make_app, lab):
    steps = Lab()
    steps.fail_apply["U1"] = 1
    # a console that stopped at U1 and went away: its journal is unfinished
    app0 = make_app()
    session0 = make_session(app0, steps, lab)
    run = MaintenanceRun.start("home", ["pve3"], session0.steps_for, FakeServices(lab.data, True))
    assert await run.run() == "failed"
    run.abort()
    assert len(unfinished_runs("home")) == 1

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not any("unfinished maintenance run" in n for n in notes(app))  # not before the cluster answered
        await poll(app, pilot)
        assert any("unfinished maintenance run" in n and "pve3" in n and "7" in n for n in notes(app))
        app.maintenance = make_session(app, steps, lab)
        await poll(app, pilot)
        await pilot.press("7")
        await pilot.pause()
        text = screen_text(app)
        assert "unfinished run" in text and "r: resume · ctrl+b: roll back" in text
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "resume's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the resumed run to end")
        assert app.maintenance.outcome == "done"
        # resumed where it stopped: U1 again, then R1; the steps before were not applied again
        applies = [c for c in steps.calls if c.startswith("apply")]
        assert applies[-2:] == ["apply U1 pve3", "apply R1 pve3"]
        assert steps.calls.count("apply D1 pve3") == 1
        assert unfinished_runs("home") == []


async def test_quit_while_applying_asks_first(make_app, lab):
    app, steps = make_app(), Lab()
    steps.gates["U1"] = asyncio.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: "U1" in steps.started, "U1 to start")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "quit's confirmation")
        assert "is applying" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.maintenance.phase == "running"
        app.run_console_command("ctx lab2")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "ctx's confirmation")
        await pilot.press("y")  # switch anyway: the run stops, its journal stays for resume
        await until(pilot, lambda: app.cluster_name == "lab2", "the switch")
        assert len(unfinished_runs("home")) == 1 and not ClusterLock("home").held()


async def test_all_is_a_rolling_upgrade_confirmed_with_the_cluster_name(make_app, lab):
    app, steps = make_app(), Lab()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab, node="all")
        text = screen_text(app)
        # pve1 has no pending updates; the others go fewest running guests first (a tie: by name)
        assert "Rolling upgrade, one node after another: pve2 → pve3" in text
        assert "c: confirm by typing home" in text
        await confirm(app, pilot, "pve2")
        assert any("not confirmed" in n for n in notes(app)) and journals() == []
        await confirm(app, pilot, "home")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the rolling run to end")
        await pilot.pause(0.1)
        assert app.maintenance.outcome == "done"
        applies = [c.split()[-1] for c in steps.calls if c.startswith("apply")]
        assert applies == ["pve2"] * 5 + ["pve3"] * 5
        assert "nodes done pve2, pve3" in screen_text(app) and "pve3 (2/2) steps" in screen_text(app)


async def test_rollback_from_the_banner(make_app, lab):
    steps = Lab()
    steps.fail_apply["U1"] = 1
    app0 = make_app()
    run = MaintenanceRun.start("home", ["pve3"], make_session(app0, steps, lab).steps_for, FakeServices(lab.data, True))
    assert await run.run() == "failed"
    run.abort()

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.maintenance = make_session(app, steps, lab)
        await poll(app, pilot)
        await pilot.press("7")
        await pilot.pause()
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "rollback's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the rollback to end")
        assert app.maintenance.outcome == "rolled_back"
        undos = [c for c in steps.calls if c.startswith("undo")]
        assert undos == ["undo U1 pve3", "undo D1 pve3", "undo P5 pve3", "undo P1 pve3"]
        assert unfinished_runs("home") == []


async def test_abort_while_applying_then_resume_at_once(make_app, lab):
    app, steps = make_app(), Lab()
    steps.gates["U1"] = asyncio.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_wizard(app, pilot, steps, lab)
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: "U1" in steps.started, "U1 to start")
        await pilot.press("ctrl+x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "abort's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended", "the abort")
        await pilot.pause(0.1)
        assert len(unfinished_runs("home")) == 1 and not ClusterLock("home").held()
        text = screen_text(app)
        assert "interrupted" in text and "r: resume · ctrl+b: roll back" in text
        steps.gates["U1"].set()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "resume's confirmation")
        await pilot.press("y")
        await until(pilot, lambda: app.maintenance.phase == "ended" and app.maintenance.outcome == "done",
                    "the resumed run to end")
        applies = [c for c in steps.calls if c.startswith("apply")]
        assert applies.count("apply U1 pve3") == 2 and applies[-1] == "apply R1 pve3"
        assert unfinished_runs("home") == []


async def test_a_run_of_another_cluster_with_the_same_name_is_not_offered(make_app, lab):
    """Journals carry the cluster's identity: another lab's unfinished run under the same
    config name is neither offered for resume nor in the way once the wizard knows its cluster."""
    from console.maintenance.identity import ClusterIdentity, cluster_identity

    steps = Lab()
    steps.fail_apply["U1"] = 1
    app0 = make_app()
    session0 = make_session(app0, steps, lab)
    mine = await cluster_identity(FakeServices(lab.data, False))
    other = ClusterIdentity("another-lab", mine.nodes).to_dict()  # same node names, another PVE cluster
    assert other["id"] != mine.id
    run = MaintenanceRun.start("home", ["pve3"], session0.steps_for, FakeServices(lab.data, True), identity=other)
    assert await run.run() == "failed"
    run.abort()

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        assert not any("unfinished maintenance run" in n for n in notes(app))  # the banner knows the cluster too
        app.maintenance = make_session(app, steps, lab)
        await open_wizard(app, pilot, steps, lab)  # planning reads the cluster's identity
        session = app.maintenance
        assert session.identity == mine
        session.refresh_unfinished()
        assert session.unfinished is None
        steps.fail_apply.clear()
        await confirm(app, pilot, "pve3")
        await until(pilot, lambda: session.phase == "ended", "the run to end")
        assert session.outcome == "done"  # not blocked by the other cluster's unfinished run
        assert len(unfinished_runs("home")) == 1  # that one is still there for its own cluster
    from console.maintenance.journal import Journal

    recorded = {Journal(p).header()["identity"]["id"] for p in journal_dir("home").glob("*.jsonl")}
    assert recorded == {mine.id, other["id"]}
