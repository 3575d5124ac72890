"""The `:updates` view's run keys speak the grammar of the other views: the maintenance
wizard's letters (r resume/retry, b roll back, a abort), the destructive ones (roll back,
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
    assert maint["b"] == {"rollback"} and ours["ctrl+b"] == {"rollback"}
    assert maint["a"] == {"abort"} and ours["ctrl+a"] == {"abort"}
    assert "b" not in ours and "a" not in ours  # destructive: never a plain letter here


def test_ctrl_b_rolls_back_here_as_in_the_snapshots_and_swarm():
    assert keys_of(SnapshotsModal)["ctrl+b"] == keys_of(SwarmScreen)["ctrl+b"] == keys_of(UpdatesScreen)["ctrl+b"]
    assert "ctrl+a" not in keys_of(GuestsScreen) and "ctrl+b" not in keys_of(GuestsScreen)


def test_every_run_key_changes_the_cluster_only_when_writable_and_is_in_the_help():
    assert {"resume", "retry", "rollback", "abort", "upgrade_all", "upgrade_row"} <= UpdatesScreen.MUTATING_ACTIONS
    helped = {k for k, _ in UpdatesScreen.VIEW_KEYS}
    assert {b.key for b in UpdatesScreen.BINDINGS} <= helped
