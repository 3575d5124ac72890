"""The `:updates` view's run keys speak the grammar of the other views: the maintenance
wizard's keys (r resume/retry, ctrl+b roll back, ctrl+x abort), the destructive ones (roll back,
abort) on ctrl as the guests' keys have it (ctrl+b rolls back a snapshot and a Swarm service too), every key in `?`."""

from __future__ import annotations

from screens.guests import GuestsScreen
from screens.maintenance import MaintenanceScreen
from screens.snapshots import SnapshotsModal
from screens.swarm import SwarmScreen
from screens.updates import UpdatesScreen

from .test_guest_key_grammar import keys_of


def _actions(cls) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for b in cls.BINDINGS:
        for k in b.key.split(","):
            out.setdefault(k, set()).add(b.action)
    return out


def test_the_run_keys_are_the_maintenance_wizards_letters_with_the_destructive_ones_on_ctrl():
    ours, maint = _actions(UpdatesScreen), _actions(MaintenanceScreen)
    assert {"resume", "retry"} <= ours["r"] and {"resume", "retry"} <= maint["r"]
    assert maint["ctrl+b"] == ours["ctrl+b"] == {"rollback"}
    assert maint["ctrl+x"] == ours["ctrl+x"] == {"abort"}  # not ctrl+a: Swarm's availability
    assert not {"a", "b", "ctrl+a"} & (ours.keys() | maint.keys())  # destructive: never a plain letter


def test_ctrl_b_rolls_back_here_as_in_the_snapshots_and_swarm():
    assert keys_of(SnapshotsModal)["ctrl+b"] == keys_of(SwarmScreen)["ctrl+b"] == keys_of(UpdatesScreen)["ctrl+b"]
    assert "ctrl+x" not in keys_of(GuestsScreen) and "ctrl+b" not in keys_of(GuestsScreen)


def test_every_run_key_changes_the_cluster_only_when_writable_and_is_in_the_help():
    assert {"resume", "retry", "rollback", "abort", "upgrade_all", "upgrade_row"} <= UpdatesScreen.MUTATING_ACTIONS
    helped = {k for k, _ in UpdatesScreen.VIEW_KEYS}
    assert {b.key for b in UpdatesScreen.BINDINGS} <= helped


async def test_ctrl_r_reads_the_updates_again_and_g_is_the_tables_top(make_app):
    from .helpers import notes, poll
    from .test_wizard import until

    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("colon", *"updates", "enter")
        await pilot.pause()
        app.updates_session.message = "an old message"
        await pilot.press("g")  # the table's "top", as in every view: reads nothing
        await pilot.pause()
        assert app.updates_session.message == "an old message"
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.updates_session.message == "no connection to the cluster", "the re-read")
        assert any(n.endswith("refreshing") for n in notes(app))  # and every source polled now, as elsewhere
