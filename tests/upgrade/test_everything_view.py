"""The `:updates` view on a read-only console: reachable by `:updates`, its upgrade
keys hidden from the key bar, and `u` refused with a notice (nothing started)."""

from __future__ import annotations

from console.app import ConsoleApp
from tests.tui import fixtures as tui
from tests.tui.helpers import poll, screen_text


async def test_read_only_console_shows_updates_and_refuses_the_upgrade(state_dir):
    clock = tui.FrozenClock()
    lab = tui.FakeLab()
    app = ConsoleApp(tui.test_config(), None, lambda c: (lab.hub(clock), tui.FakeActions(True, c.name)), read_only=True,
                     clock=clock, start_polling=False, wall_clock=lambda: tui.WALL_NOW)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("colon", *"updates", "enter")
        await pilot.pause()
        assert app.current_mode == "updates"
        text = screen_text(app)
        assert "▸ updates" in text and "no connection to the cluster" in text, text  # the fake lab has no sources
        assert "Upgrade all" not in text  # mutating keys are hidden when read-only
        await pilot.press("u")
        await pilot.pause()
        assert any("refused: upgrade" in n and "read-only" in n for n in app.notices), app.notices
        assert not list(state_dir.glob("journal/*/*.jsonl"))
