"""The operations views at 80x24 against the simulated lab, through its real sources:
`:backups` (jobs, last backup per guest, problems, backup now followed to the end of its
vzdump task, refused read-only), `:tasks` (running first, filter, enter opens the log and
follows a running task to its end), `:clog`, and the health story the backups report feeds
(header dot, Health tile and `check --json` agree)."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest

from console.app import ConsoleApp
from console.check import run_check
from console.config import load_config
from console.ops.command_log import read as read_command_log
from console.sources import build_hub
from console.sources.reports import poll_round
from tests.simlab import SimLab
from widgets.fast_table import FastTable
from widgets.log_view import LogView

from .agreement import disagreements, header_levels, tile_levels
from .helpers import notes, screen_text

pytestmark = pytest.mark.slow  # each test starts its own lab (about 3 s)

FAST = 50.0  # lab seconds per real second: a backup job (90 lab seconds) runs in about two


def console(lab: SimLab, read_only: bool = False) -> ConsoleApp:
    config = load_config(lab.config_path)
    return ConsoleApp(config, None, lambda c: build_hub(c, read_only=read_only), start_polling=False,
                      read_only=read_only)


async def until(pilot, cond, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        await pilot.pause(0.05)


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


async def filter_rows(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


async def test_backups_view_jobs_guests_filter_and_the_health_story(capsys):
    with SimLab("seed", speed=10.0) as lab:
        app = console(lab, read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await pilot.pause()
            await command(pilot, "backups")
            assert app.current_mode == "backups"
            text = screen_text(app)
            for shown in ("daily-pbs", "weekly-local", "11 guests: 9 fresh, 1 stale, 1 never", "no job: 111,113",
                          "debian-template", "✖ never", "▲ stale"):
                assert shown in text, (shown, text)
            guests = app.screen.query_one("#backup-guests", FastTable)
            await filter_rows(pilot, "never")
            assert guests.visible_keys == ["113"]
            await pilot.press("escape")
            await pilot.press("p")  # problems only: the stale and the never backed-up guest, no job failed
            await pilot.pause()
            assert guests.visible_keys == ["111", "113"]
            assert app.screen.query_one("#backup-jobs", FastTable).visible_keys == []

            await command(pilot, "health")  # the report's findings are the guests layer's
            header, tiles = header_levels(app), tile_levels(app)
            assert header["proxmox"] == "bad" and tiles["guests"] == "bad" and tiles["cluster"] == "ok"
            assert "debian-template (113) has never been backed up" in screen_text(app)
            out = io.StringIO()
            code = await asyncio.to_thread(run_check, load_config(lab.config_path).cluster(None), True, out)
            doc = json.loads(out.getvalue())
            assert code == 2 and disagreements(header, tiles, doc) == []


async def test_backup_now_follows_its_vzdump_task_and_is_in_the_command_log(state_dir):
    with SimLab("seed", speed=FAST) as lab:
        app = console(lab)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await command(pilot, "backups")
            await filter_rows(pilot, "113")
            await pilot.press("ctrl+v")
            await until(pilot, lambda: "to which storage?" in screen_text(app), what="the storage question")
            await pilot.press("ctrl+u", *"pbs", "enter")  # the offered storage is the first: ask for pbs
            await until(pilot, lambda: "Back up VM 113 (debian-template) now to storage pbs" in screen_text(app),
                        what="the confirmation sentence")
            await pilot.press("y")
            log = app.screen.query_one("#backup-log", LogView)
            await until(pilot, lambda: any("vzdump ended: OK" in line for line in log.all_lines), 15,
                        "the vzdump task's end")
            assert any("starting new backup job: vzdump 113" in line for line in log.all_lines)
            assert "backup now: done" in notes(app)
            app.hub.publish(await app.hub.pollers["backups"].poll_once())  # what the refresh after it asks for
            await pilot.pause()
            state = {g.vmid: g.state for g in app.snapshots["backups"].data.guests}
            assert state[113] == "fresh"
        records = read_command_log(directory=state_dir)
        assert any(r["target"] == "113" and r["ok"] and r["kind"] == "task" for r in records), records


async def test_read_only_refuses_backup_now_and_starts_no_task():
    with SimLab("seed", speed=10.0) as lab:
        app = console(lab, read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await command(pilot, "backups")
            await filter_rows(pilot, "113")
            before = len(lab.state().get("tasks", ()))
            await pilot.press("ctrl+v")
            await pilot.pause()
            assert "read-only: refused: backup now (read-only)" in notes(app)
            assert "to which storage?" not in screen_text(app)
            assert "^v" not in screen_text(app).splitlines()[-1]  # not offered in the key bar either
            assert len(lab.state().get("tasks", ())) == before


async def test_tasks_running_first_filter_and_a_followed_log():
    with SimLab("seed", speed=20.0) as lab:  # the job below runs for about 5 s
        app = console(lab, read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await command(pilot, "tasks")
            screen = app.screen
            table = screen.query_one("#pve-tasks", FastTable)
            await until(pilot, lambda: screen.reads > 0, 5, "the task list")
            lab.control("backup-fail", "daily-pbs")  # the job runs now: one vzdump task per node
            reads = screen.reads

            def running_seen() -> bool:
                if screen.reads == reads:
                    return False
                if any(t.running for t in screen.tasks):
                    return True
                screen.read_now()
                return False

            screen.read_now()
            await until(pilot, running_seen, 5, "a running task in the list")
            running = [t.upid for t in screen.tasks if t.running]
            assert set(table.visible_keys[:len(running)]) == set(running)  # running ones first
            await pilot.press("o")  # newest first: the finished tasks of two days ago stay below
            await pilot.pause()
            newest = sorted(screen.tasks, key=lambda t: -t.start)
            assert table.visible_keys[:3] == [t.upid for t in newest[:3]]
            await pilot.press("o")
            assert "▶ running" in screen_text(app)
            await pilot.press("home", "enter")  # the newest running task's log, followed
            log = screen.query_one("#task-log", LogView)
            await until(pilot, lambda: screen.log_status is not None, 15, "the followed task's end")
            assert screen.log_status == "job errors"
            assert log.all_lines[0].startswith("INFO: starting new backup job: vzdump")
            assert len(log.all_lines) > 3 and log.all_lines[-1] == "── task ended: job errors"
            assert "logs vzdump on pve" in screen_text(app)
            await pilot.press("escape")  # closes the log
            await pilot.pause()
            assert not screen.has_class("-log")
            await filter_rows(pilot, "pve2")
            assert table.visible_keys and all(":pve2:" in k for k in table.visible_keys)
            await pilot.press("question_mark")
            await pilot.pause()
            assert "open the task's log" in screen_text(app) and "order: running first" in screen_text(app)


async def test_cluster_log_view():
    with SimLab("seed", speed=10.0) as lab:
        app = console(lab, read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await command(pilot, "clog")
            screen = app.screen
            await until(pilot, lambda: screen.reads > 0, 5, "the cluster log")
            assert screen.read_error is None and screen.rows
            text = screen_text(app)
            assert "cluster log" in text and "pvedaemon" in text and "successful auth" in text
            times = [r.time for r in screen.rows]
            assert times == sorted(times, reverse=True)
