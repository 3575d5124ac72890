"""`:log`: the console's own command log at 80x24 (console/ops/command_log.py, read from the
test's state dir): newest first, result and duration, filter, the whole record on enter,
new records appear while the view is shown, hostile text arrives inert."""

from __future__ import annotations

import time

from console.ops import command_log
from screens.command_log import CommandLogScreen
from widgets.fast_table import FastTable

from .helpers import screen_text


def record(t: float, target: str, action: str, ok: bool = True, result: str = "ok", took: float = 0.2,
           call: str = "POST nodes/pve1/qemu/112/status/start", cluster: str = "home") -> command_log.Record:
    return command_log.Record(t, "api", call, target, action, result, ok, took, cluster)


async def until(pilot, cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        await pilot.pause(0.05)


async def test_command_log_newest_first_filter_detail_and_live(make_app, state_dir):
    now = time.time()
    command_log.append(record(now - 300, "112", "Start VM 112 (web)"), state_dir)
    command_log.append(record(now - 200, "pve2", "Migrate VM 110 to pve2", ok=False,
                              result="failed: pve2 is offline", took=3.4), state_dir)
    command_log.append(record(now - 100, "web", "Scale service web from 2 to 3 replica(s).", took=75.0), state_dir)
    command_log.append(record(now - 50, "999", "Start VM 999 (other)", cluster="office"), state_dir)  # not shown
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"log", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CommandLogScreen)
        await until(pilot, lambda: screen.reads > 0)
        table = screen.query_one("#command-log", FastTable)
        assert [table.get_row(k).cells[3] for k in table.visible_keys] == ["web", "pve2", "112"]
        text = screen_text(app)
        assert "3 calls on home, 1 failed" in text and "✖ failed" in text and "1m" in text and "<1s" in text

        await pilot.press("slash", *"failed", "enter")
        await pilot.pause()
        assert [table.get_row(k).cells[3] for k in table.visible_keys] == ["pve2"]
        await pilot.press("enter")  # the whole record
        await pilot.pause()
        assert "pve2 is offline" in screen_text(app) and "POST nodes/pve1/qemu/112/status/start" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("escape")  # clears the filter
        await pilot.pause()

        command_log.append(record(time.time(), "113", "Back up VM 113 now", result="ok: UPID:pve3:1"), state_dir)
        screen.read_now()
        await until(pilot, lambda: len(table.visible_keys) == 4)
        assert table.get_row(table.visible_keys[0]).cells[3] == "113"


async def test_command_log_empty_and_hostile_text(make_app, state_dir):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"log", "enter")
        await until(pilot, lambda: getattr(app.screen, "reads", 0) > 0)
        assert "labconsole has changed nothing yet" in screen_text(app)
        command_log.append(record(time.time(), "evil\x1b]52;c;aGk=\x07", "rename \x1b[2J\x1b[31mred\r\n", ok=False,
                                  result="failed: \x1b[?1049h"), state_dir)
        app.screen.read_now()
        await until(pilot, lambda: app.screen.query_one("#command-log", FastTable).visible_keys != [])
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        assert "evil" in screen_text(app) and "rename" in screen_text(app)


async def test_pve_views_without_a_proxmox_source_say_so(make_app):
    app = make_app()  # the fake lab's actions have no live sources
    async with app.run_test(size=(80, 24)) as pilot:
        for view in ("tasks", "clog"):
            await pilot.press("colon", *view, "enter")
            await until(pilot, lambda: getattr(app.screen, "reads", 0) > 0)
            assert "✖ not available for this cluster (no Proxmox source)" in screen_text(app), view
