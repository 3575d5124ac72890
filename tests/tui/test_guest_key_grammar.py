"""Issue 11 item 11 for the guest keys: one grammar across views (a key means one thing everywhere),
destructive keys on ctrl, drain/evacuate on ctrl+n (never ctrl+d, which k9s users read as delete), and
every key in `?` and in the palette (the same over every view: tests/tui/test_key_grammar.py)."""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandPalette

from screens.guests import GuestsScreen
from screens.snapshots import SnapshotsModal

from .helpers import notes, poll
from .test_key_grammar import DISPLAY, helped_keys


def keys_of(cls) -> dict[str, str]:
    return {k: b.action for b in cls.BINDINGS if isinstance(b, Binding) for k in b.key.split(",")}


# that a guest key means the same in every other view: tests/tui/test_key_grammar.py, over all views


def test_destructive_guest_keys_are_ctrl_keys_and_drain_is_not_ctrl_d():
    guest_keys = {b.action: b.key for b in GuestsScreen.BINDINGS}
    for action in GuestsScreen.MUTATING_ACTIONS:
        assert guest_keys[action].startswith("ctrl+"), action
    assert guest_keys["evacuate"] == "ctrl+n" and "ctrl+d" not in keys_of(GuestsScreen)
    snapshot_keys = keys_of(SnapshotsModal)
    assert snapshot_keys["ctrl+d"] == "delete" and snapshot_keys["ctrl+b"] == "rollback"


def test_every_guest_key_is_in_the_help():
    helped = helped_keys(GuestsScreen.VIEW_KEYS)
    for b in GuestsScreen.BINDINGS:
        assert DISPLAY.get(b.key, b.key) in helped, b.key


async def test_the_palette_lists_the_views_keys_and_runs_them(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("2", "ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Guests: Reboot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        # it ran the reboot key: the fake cluster has no guest operations, and says so
        assert any("reboot" in n and "not available for this cluster" in n for n in notes(app))


async def test_ctrl_backslash_unmarks_every_guest_and_u_does_not(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("2", "space", "space")
        await pilot.pause()
        table = app.screen.table
        assert len(table.marked_keys()) == 2
        await pilot.press("u")  # :updates' upgrade-all letter: nothing here
        await pilot.pause()
        assert len(table.marked_keys()) == 2
        await pilot.press("ctrl+backslash")  # k9s's "clear marks"
        await pilot.pause()
        assert table.marked_keys() == []
