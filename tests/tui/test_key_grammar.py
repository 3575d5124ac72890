"""Issue 11 item 11 over every view: keys follow one grammar, as k9s. A key means one action in every
view (or one of a declared family of the same meaning), the tables' own keys are not taken for something
else, the actions that change the cluster are ctrl-keys (but the declared forward steps that ask first),
nothing but the snapshot delete is on ctrl+d, and every view key is in `?` and in the palette.

The views are every LayerScreen in screens/ (the numbered views and the `:` views of COMMAND_VIEWS)
and the panes that act on what they show (snapshots, node detail), with the App's own keys and the
FastTable's. Modals whose keys are local choices (ConfirmModal's y/n, FindingDetail's jump letters,
the wizard's upgrade/drain question) and the DetailPane's pager keys (space pages, as in less) are not
views: their letters mean something only while they are open."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding
from textual.command import CommandPalette

import screens
from console.app import ConsoleApp
from console.layers import COMMAND_VIEWS, LAYERS
from screens.base import COMMON_KEYS, LayerScreen
from screens.maintenance import MaintenanceScreen
from screens.node_detail import NodeDetail
from screens.snapshots import SnapshotsModal
from screens.updates import UpdatesScreen
from widgets.fast_table import FastTable

from .helpers import notes, poll
from .test_wizard import until

ACTION_PANES = (SnapshotsModal, NodeDetail)
# same meaning, different words: one key may carry any actions of one family
FAMILIES = (
    frozenset({"evacuate", "drain"}),  # ctrl+n: empty a node (guests' node, a Swarm node)
    frozenset({"rollback", "failback"}),  # ctrl+b: back to what was before (snapshot, service, run, VIP)
    frozenset({"group_by_node", "group_by_host"}),  # n: group the rows by node
    frozenset({"recheck", "retry", "resume", "rejoin", "reread"}),  # r: again / go on (the wizard's r)
    frozenset({"toggle_detail", "detail"}),  # d: the detail pane of the row
    frozenset({"toggle_mark", "toggle_incident"}),  # space: toggle the row (mark; Health: open an incident)
    frozenset({"reboot", "force_update"}),  # ctrl+e: restart it (a guest; a Swarm service's tasks)
    frozenset({"command", "open_command"}),  # ":": the command prompt (the App's key, the view's prompt bar)
)
# changing the cluster on a plain key: only forward steps that ask first (a typed name or y) and undo nothing;
# a shell changes nothing by itself
FORWARD = frozenset({"confirm", "retry", "resume", "rejoin", "upgrade_all", "upgrade_row", "shell"})
# enter opens what is under the cursor and esc backs out, in every view: their action is the row's or the pane's
ANY_MEANING = frozenset({"enter", "escape"})


def view_classes() -> list[type]:
    for info in pkgutil.iter_modules(screens.__path__):
        importlib.import_module(f"screens.{info.name}")
    found = {cls for cls in _subclasses(LayerScreen) if cls.__module__.startswith("screens.") and cls.VIEW}
    return sorted(found, key=lambda c: c.__name__)


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def own_keys(cls) -> list[tuple[str, str]]:
    """(key, action) of the bindings `cls` itself declares (not its bases')."""
    bindings = cls.__dict__.get("BINDINGS", ())
    return [(k.strip(), b.action) for b in bindings if isinstance(b, Binding) for k in b.key.split(",")]


def owners() -> list[type]:
    return [ConsoleApp, LayerScreen, FastTable, *view_classes(), *ACTION_PANES]


def test_the_views_are_found_and_include_every_numbered_and_command_view():
    names = {f"{c.__module__}:{c.__name__}" for c in view_classes()}
    expected = {spec.screen for spec in LAYERS if spec.screen} | {v.screen for v in COMMAND_VIEWS}
    assert expected <= names, expected - names
    assert {"screens.maintenance:MaintenanceScreen", "screens.events:EventsScreen",
            "screens.health:HealthScreen"} <= names


def test_a_key_means_one_action_in_every_view():
    meanings: dict[str, dict[str, list[str]]] = {}
    for cls in owners():
        for key, action in own_keys(cls):
            meanings.setdefault(key, {}).setdefault(action, []).append(cls.__name__)
    clashes = []
    for key, actions in sorted(meanings.items()):
        if key in ANY_MEANING or len(actions) == 1:
            continue
        if not any(set(actions) <= family for family in FAMILIES):
            clashes.append(f"{key}: " + "; ".join(f"{a} in {', '.join(who)}" for a, who in sorted(actions.items())))
    assert clashes == []


def test_the_tables_own_keys_are_not_taken_by_a_view():
    table = {key: action for key, action in own_keys(FastTable)}
    for cls in [*view_classes(), *ACTION_PANES]:
        for key, action in own_keys(cls):
            if key in table and key not in ANY_MEANING:
                assert any({action, table[key]} <= f for f in FAMILIES), f"{cls.__name__}: {key} is {action}, " \
                    f"the table's {key} is {table[key]}"


def test_changing_the_cluster_is_a_ctrl_key_but_the_forward_steps_that_ask_first():
    for cls in view_classes():
        keys: dict[str, list[str]] = {}
        for key, action in own_keys(cls):
            keys.setdefault(action, []).append(key)
        for action in cls.MUTATING_ACTIONS:
            assert action in keys, f"{cls.__name__}: {action} has no key"
            if action not in FORWARD:
                assert all(k.startswith("ctrl+") for k in keys[action]), f"{cls.__name__}: {action} on {keys[action]}"


def test_nothing_but_the_snapshot_delete_is_on_ctrl_d():
    on_ctrl_d = {(cls.__name__, action) for cls in owners() for key, action in own_keys(cls) if key == "ctrl+d"}
    assert on_ctrl_d == {("SnapshotsModal", "delete")}


def helped_keys(entries: list[tuple[str, str]]) -> set[str]:
    """The keys a help column names: 'space / ctrl+\\', 'ctrl+o/w/e', 'enter / d', 's  shift+A-Z'."""
    out: set[str] = set()
    for column, _ in entries:
        for word in column.replace(" / ", " ").split():
            if word.startswith("ctrl+") and "/" in word:  # ctrl+o/w/e
                first, *rest = word.split("/")
                out |= {first, *(f"ctrl+{r}" for r in rest)}
            else:
                out |= set(word.split("/")) | {word}
    return out


DISPLAY = {"escape": "esc", "question_mark": "?", "slash": "/", "colon": ":", "ctrl+backslash": "ctrl+\\"}


def test_every_view_key_is_in_the_help_and_the_palette():
    common = helped_keys(COMMON_KEYS)
    for cls in view_classes():
        helped = common | helped_keys(cls.VIEW_KEYS)
        for b in cls.__dict__.get("BINDINGS", ()):
            assert b.description, f"{cls.__name__}: {b.key} has no description: the palette lists it by that"
            for key in b.key.split(","):
                assert DISPLAY.get(key, key) in helped, f"{cls.__name__}: {key} ({b.action}) is not in `?`"


async def test_the_palette_lists_a_command_views_keys_and_runs_them(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("colon", *"updates", "enter")
        await pilot.pause()
        assert app.current_mode == "updates"
        app.updates_session.message = "an old message"
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Updates: Refresh")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.updates_session.message == "no connection to the cluster", "the re-read")
        assert any(n.endswith("refreshing") for n in notes(app))  # the App's refresh as well: every source polled now


def test_the_maintenance_wizard_and_updates_use_the_same_run_keys():
    maint = {action: key for key, action in own_keys(MaintenanceScreen)}
    upd = {action: key for key, action in own_keys(UpdatesScreen)}
    for action in ("rollback", "abort", "resume", "retry"):
        assert maint[action] == upd[action], action
    assert maint["rollback"] == "ctrl+b" and maint["abort"] == "ctrl+x"
    assert maint["skip"].startswith("ctrl+") and maint["accept_downtime"] == "y"
