"""The operation keys (issue 11 items 5-7): swarm scale/update/force-update/rollback/
availability, the live log stream, VIP fail-back, Ceph flags, and the shell key on
guest, node and task rows. Each asks what it needs, confirms with the ops layer's
sentence, and is refused read-only before any dialogue."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

import pytest
from textual.widgets._toast import Toast

from screens import operate
from screens.modals import ConfirmModal
from screens.operate import InputModal
from widgets.fast_table import FastTable
from widgets.log_view import LogView

from .fixtures import FakeActions
from .helpers import notes, poll


async def _swarm(app, pilot, service_row: int = 1):
    await poll(app, pilot)
    await pilot.press("4")
    await pilot.pause()
    for _ in range(service_row):
        await pilot.press("down")
    await pilot.pause()


async def test_scale_asks_the_replicas_then_confirms(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _swarm(app, pilot)  # web: replicated, 2
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, InputModal) and "now 2" in app.screen.question
        await pilot.press("backspace", "3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "Scale service web from 2 to 3" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls == [("swarm_scale", "svc-web", 3)]


async def test_scale_bad_input_and_global_services_send_nothing(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _swarm(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("backspace", "a", "b", "c", "enter")
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, (ConfirmModal, InputModal))
        assert any("'abc' is not a whole number" in n for n in notes(app))
        await pilot.press("up", "ctrl+s")  # traefik is global
        await app.workers.wait_for_complete()
        assert any("traefik is global" in n for n in notes(app))
        assert app.actions.calls == []


async def test_update_force_update_and_rollback(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _swarm(app, pilot)
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert isinstance(app.screen, InputModal) and "now nginx:1.27 (no digest pinned)" in app.screen.question
        await pilot.press(*"latest", "enter")
        await pilot.pause()
        assert "from nginx:1.27 to nginx:latest" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "Force-update service web" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls == [("swarm_update", "svc-web", "nginx:latest"), ("swarm_force_update", "svc-web")]
        await pilot.press("up", "ctrl+b")  # traefik has no previous spec: refused before any question
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ConfirmModal)
        assert any("has no previous spec" in n for n in notes(app))


async def test_availability_prompt(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _swarm(app, pilot, 0)
        app.screen.query_one("#swarm-nodes", FastTable).focus()
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert isinstance(app.screen, InputModal) and "now active" in app.screen.question
        await pilot.press(*"pause", "enter")
        await pilot.pause()
        assert "Set swarm node swarm1 to pause" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls == [("swarm_availability", "swarm1", "pause")]
        await pilot.press("ctrl+a")
        await pilot.pause()
        await pilot.press(*"sleepy", "enter")
        await app.workers.wait_for_complete()
        assert any("'sleepy' is not one of active, pause, drain" in n for n in notes(app))
        assert len(app.actions.calls) == 1
        # typed markup comes back in the toast as typed, never interpreted
        await pilot.press("ctrl+a")
        await pilot.pause()
        await pilot.press(*"[bold red]x[/]", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = [str(t.render()) for t in app.screen.query(Toast)]
        assert any("'[bold red]x[/]' is not one of" in t for t in shown), shown
        assert len(app.actions.calls) == 1


async def test_read_only_refuses_every_operation_key(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _swarm(app, pilot)
        for key in ("ctrl+s", "ctrl+u", "ctrl+e", "ctrl+b"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (ConfirmModal, InputModal)), key
        app.screen.query_one("#tasks", FastTable).focus()
        await pilot.press("x")
        await pilot.press("6", "ctrl+b")  # vrrp fail-back
        await pilot.press("3", "ctrl+f")  # ceph flags
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmModal, InputModal))
        assert app.actions.calls == []
        assert len([n for n in notes(app) if "refused" in n]) == 7


async def test_vip_failback_and_ceph_flag(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("6", "ctrl+b")
        await pilot.pause()
        assert "from fw2 back to the preferred firewall fw1" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert any("gap 0.20 s" in n for n in notes(app))
        await pilot.press("3", "ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, InputModal) and "Set now: none" in app.screen.question
        await pilot.press("enter")  # the offered default: noout
        await pilot.pause()
        assert "Set the Ceph flag noout" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls == [("vip_failback", "fw1"), ("ceph_flag", "noout", True)]


@pytest.fixture
def shells_run(monkeypatch):
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(operate, "RUNNER", lambda argv: ran.append(argv) or 0)
    return ran


async def test_shell_key_on_guest_node_and_task_rows(make_app, shells_run, monkeypatch):
    app = make_app()
    monkeypatch.setattr(app, "suspend", nullcontext)  # the headless driver cannot suspend; the argv is what counts
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        app.screen.query_one("#nodes", FastTable).focus()  # health view, first node
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.press("2")
        await pilot.pause()
        guests = app.screen.query_one("#guests", FastTable)
        guests.focus()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.press("4")
        await pilot.pause()
        tasks = app.screen.query_one("#tasks", FastTable)
        tasks.focus()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        assert [argv[-1] for argv in shells_run] == ["root@pve1", f"root@{guests.cursor_key.rpartition('/')[2]}",
                                                     f"root@{tasks.cursor_key}"]
        assert all("StrictHostKeyChecking=yes" in argv for argv in shells_run)


async def test_shell_key_says_when_it_cannot_suspend(make_app, shells_run):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        app.screen.query_one("#nodes", FastTable).focus()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        assert shells_run == [] and any("labconsole shell pve1" in n for n in notes(app))


class StreamingActions(FakeActions):
    """Pushes log lines as a stream would, until told to stop."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.stopped = asyncio.Event()

    async def stream_service_logs(self, service, on_line, stop, tail=200):
        n = 0
        while not stop.is_set():
            n += 1
            on_line(f"2026-11-24T08:00:{n % 60:02d}Z {service}.1@swarm1 | line {n}")
            await asyncio.sleep(0.01)
        self.stopped.set()


async def test_logs_stream_live_and_stop_on_close(lab, clock):
    from console.app import ConsoleApp

    from .fixtures import WALL_NOW, test_config

    actions: list[StreamingActions] = []

    def factory(cluster_cfg):
        actions.append(StreamingActions(False, cluster_cfg.name))
        return lab.hub(clock), actions[-1]

    app = ConsoleApp(test_config(), None, factory, clock=clock, start_polling=False, wall_clock=lambda: WALL_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _swarm(app, pilot)
        await pilot.press("l")
        await pilot.pause(0.3)
        view = app.screen.query_one(LogView)
        first = len(view.all_lines)
        await pilot.pause(0.2)
        assert first > 3 and len(view.all_lines) > first, "lines keep arriving without a re-fetch"
        assert "live" in view.border_title and all("web.1@swarm1 | line" in x for x in view.all_lines)
        await pilot.press("escape")
        await asyncio.wait_for(actions[0].stopped.wait(), 2)  # closing the logs ends the stream
