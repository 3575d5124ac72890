"""Keys that work everywhere: views, `:` commands, `/` filter, sort, esc, `?`, ctrl+r, contexts."""

from __future__ import annotations

from textual.command import CommandPalette

from screens.base import LayerScreen
from screens.modals import HelpModal
from widgets.cluster_header import ClusterHeader
from widgets.fast_table import FastTable

from .helpers import notes, poll, screen_text

EXPECT = {  # view -> something only that screen shows from the fake lab
    "health": "quorate 3/3",
    "guests": "backup-test",
    "ceph": "osd.2",
    "swarm": "ghcr.io/home/api",
    "traefik": "mail-smtp@file",
    "vrrp": "fw1 holds 192.0.2.1/24",
    "maintenance": "Maintenance wizard",
}


async def test_number_keys_show_every_view(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        for n, view in enumerate(EXPECT, 1):
            await pilot.press(str(n))
            await pilot.pause()
            assert app.current_mode == view
            text = screen_text(app)
            assert EXPECT[view] in text, view
            assert f"▸ {view}" in text  # breadcrumb in the header


async def test_command_mode_completion_history_and_unknown(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("colon", "g", "u")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert app.current_mode == "guests"
        await pilot.press("colon", *"ceph", "enter")
        await pilot.pause()
        assert app.current_mode == "ceph"
        await pilot.press("colon", "up")
        assert app.command_history == ["guests", "ceph"], app.command_history
        assert app.screen.prompt.value == "ceph"
        await pilot.press("up")
        assert app.screen.prompt.value == "guests"
        await pilot.press("escape")
        assert not app.screen.prompt.is_open
        assert app.current_mode == "ceph"
        await pilot.press("colon", *"frobnicate", "enter")
        await pilot.pause()
        assert any("unknown command 'frobnicate'" in n for n in notes(app))
        await pilot.press("colon", *"maint", "enter")
        await pilot.pause()
        assert app.current_mode == "maintenance"


async def test_ctx_switches_cluster_and_stops_old_hub(make_app):
    app = make_app()
    async with app.run_test(size=(100, 24)) as pilot:
        await poll(app, pilot)
        old_hub = app.hub
        await pilot.press("colon", *"ctx lab2", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.cluster_name == "lab2" and app.read_only
        assert app.hub is not old_hub
        assert [name for name, _ in app.test_hubs] == ["home", "lab2"]
        header = app.screen.query_one(ClusterHeader)
        assert " lab2 " in str(header.render()) and " RO " in str(header.render())
        await pilot.press("colon", *"ctx nowhere", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.cluster_name == "lab2"
        assert any("no cluster named 'nowhere'" in n for n in notes(app))


async def test_filter_enter_keeps_esc_clears_then_backs_out(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        await pilot.press("slash", *"stopped")
        await pilot.pause()
        assert table.row_count == 2  # filters as you type
        await pilot.press("enter")
        await pilot.pause()
        assert table.filter_text == "stopped" and app.focused is table
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
                          "backspace", "exclamation_mark", *"running")
        await pilot.press("enter")
        await pilot.pause()
        assert table.row_count == 2 and table.filter_text == "!running"
        await pilot.press("escape")  # clears the filter
        assert table.filter_text == "" and table.row_count == 9
        await pilot.press("escape")  # backs out to health
        await pilot.pause()
        assert app.current_mode == "health"


async def test_sort_help_palette_and_refresh(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        await pilot.press("s", "s")  # VMID, then NAME
        assert table.sort_column == 1
        assert table.visible_keys[0] == "lxc/301"  # backup-test sorts first by name
        await pilot.press("N")  # shift+N: NAME is the sort column already, so it reverses (as k9s)
        assert table.visible_keys[0] == "qemu/112"  # swarm3
        assert table.sort_column == 1 and table.sort_reverse
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        assert any("ctrl+k" in k for k, _ in app.screen.keys)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LayerScreen)
        await pilot.press("ctrl+r")
        assert all(p.refresh_requested for p in app.hub.pollers.values())
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"View: vrrp")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "vrrp"


async def test_hidden_screens_do_no_rendering_work(make_app, lab):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause()
        guests = app.get_screen_stack("guests")[-1]
        before = guests.render_count
        for _ in range(3):
            await poll(app, pilot)
        assert guests.render_count == before
        await pilot.press("2")
        await pilot.pause()
        assert guests.render_count == before + 1  # rendered once, on resume


async def test_keys_typed_in_one_burst_after_slash_or_colon_reach_the_prompt(make_app):
    """Over SSH a whole burst arrives at once: the keys after `/` must not go to the table (or bindings)."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        for key, char in [("slash", "/"), ("s", "s"), ("t", "t"), ("o", "o"), ("p", "p")]:
            app.post_message(events.Key(key, char))
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        assert app.screen.prompt.value == "stop"
        assert table.row_count == 2 and table.sort_column is None
        await pilot.press("enter")
        for key, char in [("colon", ":"), ("c", "c"), ("t", "t"), ("x", "x"), ("space", " "), ("l", "l"),
                          ("a", "a"), ("b", "b"), ("2", "2")]:
            app.post_message(events.Key(key, char))
        await pilot.pause()
        assert app.current_mode == "guests"  # the "2" went into the prompt, not to the view key
        assert app.screen.prompt.value == "ctx lab2"
