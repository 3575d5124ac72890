"""Issue 11 item 11 for the guest keys: one grammar across views (a key means one thing everywhere),
destructive keys on ctrl, drain/evacuate on ctrl+n (never ctrl+d, which k9s users read as delete), and
every key in `?` and in the palette."""

from __future__ import annotations

from textual.binding import Binding
from textual.command import CommandPalette

from screens.ceph import CephScreen
from screens.events import EventsScreen
from screens.guests import GuestsScreen
from screens.health import HealthScreen
from screens.maintenance import MaintenanceScreen
from screens.snapshots import SnapshotsModal
from screens.swarm import SwarmScreen
from screens.traefik import TraefikScreen
from screens.vrrp import VrrpScreen

from .helpers import notes, poll

OTHERS = (CephScreen, EventsScreen, HealthScreen, MaintenanceScreen, SwarmScreen, TraefikScreen, VrrpScreen)
SAME_MEANING = {("ctrl+n", "evacuate"): {"drain"},  # a node emptied
                ("ctrl+b", "rollback"): {"rollback", "failback"},  # back to what was before
                ("n", "group_by_node"): {"group_by_host"}}


def keys_of(cls) -> dict[str, str]:
    return {k: b.action for b in cls.BINDINGS if isinstance(b, Binding) for k in b.key.split(",")}


def test_guest_and_snapshot_keys_mean_the_same_everywhere():
    ours = {**keys_of(GuestsScreen), **keys_of(SnapshotsModal)}
    for other in OTHERS:
        for key, action in keys_of(other).items():
            if key in ours and key not in ("escape", "d"):  # d: maintenance's accept-downtime predates this
                assert action in SAME_MEANING.get((key, ours[key]), ()), f"{key}: {ours[key]} here, {action} in {other}"


def test_destructive_guest_keys_are_ctrl_keys_and_drain_is_not_ctrl_d():
    guest_keys = {b.action: b.key for b in GuestsScreen.BINDINGS}
    for action in GuestsScreen.MUTATING_ACTIONS:
        assert guest_keys[action].startswith("ctrl+"), action
    assert guest_keys["evacuate"] == "ctrl+n" and "ctrl+d" not in keys_of(GuestsScreen)
    snapshot_keys = keys_of(SnapshotsModal)
    assert snapshot_keys["ctrl+d"] == "delete" and snapshot_keys["ctrl+b"] == "rollback"


def test_every_guest_key_is_in_the_help():
    helped = " ".join(k for k, _ in GuestsScreen.VIEW_KEYS)
    for b in GuestsScreen.BINDINGS:
        short = b.key.replace("ctrl+", "")
        assert b.key in helped or f"/{short}" in helped or f"{short} " in helped or b.key == helped, b.key


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
