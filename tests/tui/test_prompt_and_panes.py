"""What the tmux walk-through found: the hidden prompt taking the focus, type-ahead after `/` and `:`,
the key bar while typing, the help's layout, and how a few cells read."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import events

from screens.ceph import pool_row, summary_text
from screens.modals import HelpModal
from screens.rows import task_row
from widgets.fast_table import FastTable
from widgets.format import short_time, shorten_log_time
from widgets.key_bar import KeyBar
from widgets.log_view import LogView
from widgets.prompt_bar import PromptBar

from .fixtures import seed_ceph, seed_swarm
from .helpers import poll, screen_text


def burst(app, text: str) -> None:
    """Queue every key at once, as a terminal delivers a burst, without waiting between them."""
    names = {":": "colon", "/": "slash"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), ch))


async def test_closed_prompt_never_takes_the_focus(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        prompt = app.screen.query_one(PromptBar)
        assert not prompt.can_focus
        await pilot.press(":")
        assert app.focused is prompt and prompt.can_focus
        await pilot.press("escape")
        await pilot.pause()
        assert not prompt.is_open and not prompt.can_focus
        assert isinstance(app.focused, FastTable)
        # with nothing else focusable, tab must not land in the hidden prompt either
        app.screen.set_focus(None)
        await pilot.press("tab")
        assert app.focused is not prompt
        await pilot.press("3")  # and the number keys still switch views
        await pilot.pause()
        assert app.current_mode == "ceph"


async def test_keys_right_after_colon_and_slash_go_to_the_prompt(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        osds = app.screen.query_one("#osds", FastTable)
        # `s` sorts and `j` moves in a table: typed after `:` / `/` in one burst they are text.
        # (The pilot does not reproduce the real terminal's race, where the burst's keys reached
        # the table before `:` had bubbled up; tests/e2e types ":swarm" through tmux for that.)
        burst(app, ":swarm")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "swarm"
        assert osds.sort_column is None
        await pilot.press("2")
        await pilot.pause()
        guests = app.screen.query_one("#guests", FastTable)
        burst(app, "/jel")
        await pilot.pause()
        assert guests.filter_text == "jel"
        await pilot.press("escape")


async def test_key_bar_shows_the_prompt_keys_while_typing(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        bar = app.screen.query_one(KeyBar)
        assert "Sort" in bar.keys_text
        await pilot.press(":")
        await pilot.pause()
        assert "enter run" in bar.keys_text and "Sort" not in bar.keys_text
        await pilot.press("escape", "slash")
        await pilot.pause()
        assert "esc clear" in bar.keys_text
        await pilot.press("escape")
        await pilot.pause()
        assert "Sort" in bar.keys_text


async def test_follow_key_offered_only_with_logs_open(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        assert "Follow" not in bar.keys_text
        await pilot.press("l")
        await pilot.pause()
        assert "f Follow" in bar.keys_text
        await pilot.press("escape")
        await pilot.pause()
        assert "Follow" not in bar.keys_text


async def test_help_wraps_descriptions_in_their_column_at_80x24(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("2", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        lines = screen_text(app).splitlines()
        assert any("guests — keys" in line for line in lines)
        # the guests view has more keys than 24 rows: the help scrolls (j/down) to its last line
        for _ in range(30):
            if any("this help" in line for line in screen_text(app).splitlines()):
                break
            await pilot.press("j")
            await pilot.pause()
        assert any("this help" in line for line in screen_text(app).splitlines()), "the help's end is reachable"
        await pilot.press(*["k"] * 30)
        await pilot.pause()
        # a wrapped description continues under the description, never under the key column:
        # what stands in the key column is a key, the section name, or nothing
        modal = app.screen
        keys = {k for k, _ in modal.keys} | {w for k, w in modal.keys if not k} | {""}
        start = next(line for line in lines if "ctrl+k" in line)
        desc_col = start.index("hard stop")
        box = [line for line in lines if line.lstrip().startswith("│")]
        assert len(box) >= len(modal.keys)
        for line in box:
            key_part = line[line.index("│") + 1:desc_col].strip()
            assert key_part in keys, line
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpModal)


def test_ceph_mgr_without_a_name_is_up_not_missing():
    c = replace(seed_ceph(), mgr_active=None, mgr_available=True, mgr_standbys=("(standby 1)", "(standby 2)"))
    text = summary_text(c).plain
    assert "mgr up +2 standby" in text and "none active" not in text
    down = summary_text(replace(c, mgr_available=False, mgr_standbys=())).plain
    assert "mgr ✖ none active" in down
    assert all(len(line) <= 78 for line in text.splitlines()), text


def test_pool_avail_unknown_is_a_dash_not_zero():
    pool = seed_ceph().pools[0]
    assert pool_row(replace(pool, max_avail=0, percent_used=20.0)).cells[4] == "-"
    assert pool_row(replace(pool, max_avail=0, percent_used=100.0)).cells[4] == "0B"
    assert pool_row(replace(pool, max_avail=2 * 1024**3)).cells[4] == "2.0G"


def test_task_time_and_log_lines_are_short():
    task = replace(seed_swarm().tasks[0], timestamp="2026-11-23T09:06:22.957512345Z", error="no suitable node")
    row = task_row(task)
    assert row.cells[5] == "11-23 09:06:22"
    assert row.cells[4] == ("no suitable node", "red")
    assert short_time(None) == "-" and short_time("garbage") == "garbage"
    assert shorten_log_time("2026-11-25T09:13:06.984000000Z GET / 200") == "11-25 09:13:06 GET / 200"
    assert shorten_log_time("no timestamp here") == "no timestamp here"


async def test_log_filter_matches_the_full_line_but_shows_it_short():
    from textual.app import App

    class Host(App):
        def compose(self):
            yield LogView(id="logs", classes="-open")

    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(LogView)
        view.show_lines("web", ["2026-11-25T09:13:06.984Z GET /a", "2026-11-25T10:00:00.000Z GET /b"])
        view.set_filter("T10:")  # only in the full timestamp
        await pilot.pause()
        assert [str(line) for line in view.lines] == ["11-25 10:00:00 GET /b"]


def test_text_cells_are_text():  # the summary is a Text, so styles survive into the Static
    assert isinstance(summary_text(seed_ceph()), Text)


async def test_ranked_table_keeps_its_top_row_in_sight():
    from textual.app import App

    from widgets.table_columns import Column, Row

    columns = (Column("sev", "SEV", width=5), Column("text", "TEXT", min_width=10, stretch=True))

    class Host(App):
        def compose(self):
            yield FastTable(columns, id="ranked")
            yield FastTable(columns, id="plain")

    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        ranked, plain = app.query_one("#ranked", FastTable), app.query_one("#plain", FastTable)
        ranked.stick_to_top = True
        warn = [Row(f"w{i}", ("warn", f"warning {i}")) for i in range(6)]
        for table in (ranked, plain):
            table.set_rows(warn)
        await pilot.pause()
        crit = [Row(f"c{i}", ("crit", f"critical {i}")) for i in range(6)]
        for table in (ranked, plain):
            table.set_rows(crit + warn)
        await pilot.pause()
        assert ranked.cursor_key == "c0" and ranked.scroll_y == 0
        assert plain.cursor_key == "w0"  # an ordinary table keeps its row by key
        ranked.action_cursor_down()  # once the operator moved, the row is followed by key
        ranked.set_rows([Row("c9", ("crit", "newest"))] + crit + warn)
        await pilot.pause()
        assert ranked.cursor_key == "c1"


def test_guests_on_a_dead_node_are_not_counted_as_fine():
    from console.incidents import tell
    from console.poller import Snapshot
    from screens.health_tiles import tile_of
    from screens.rows import guest_row

    from .fixtures import seed_proxmox

    pve = seed_proxmox()
    lost = tuple(replace(g, status="unknown", mem=0, cpu=0.0, uptime=0) if g.node == "pve3" else g
                 for g in pve.guests)
    story = tell({"proxmox": Snapshot("proxmox", replace(pve, guests=lost), ok_at=0.0)}, 0.0)
    level, title, lines = tile_of(story.layers["guests"])
    # pve3's HA guests should run and nobody knows whether they do: critical, as `check` says
    assert level == "bad" and "3 unknown" in lines
    mail = next(g for g in lost if g.name == "mail")
    assert guest_row(mail).cells[6] == "-/4.0G"  # not "0B/4.0G": nobody knows what it uses


async def test_a_command_runs_once_on_every_screen(make_app):
    """Textual calls each class's message handler along the MRO: a screen that also called
    super() ran LayerScreen's handler twice (`:ctx` answered twice on Swarm)."""
    app = make_app()
    opened: list[str] = []  # `:ctx` opens the cluster picker (h-ctx): count the openings
    open_picker = app.open_cluster_picker

    def counting_open() -> None:
        opened.append(app.current_mode)
        open_picker()

    app.open_cluster_picker = counting_open
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        for key in "123456":
            await pilot.press(key)
            await pilot.pause()
            before = len(opened)
            screen = app.screen
            mounts = screen.render_count
            await pilot.press("colon", "c", "t", "x", "enter")
            await pilot.pause()
            assert len(opened) == before + 1, (key, opened[before:])
            assert screen.render_count == mounts
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen


async def test_silent_firewall_keeps_its_last_known_state(make_app, lab):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("6")
        await pilot.pause()
        v = lab.data["vrrp"]
        lab.update("vrrp", firewalls=tuple(replace(fw, answering=False, error="ssh: timed out", instances=(),
                                                   addresses=()) for fw in v.firewalls))
        await poll(app, pilot)
        text = screen_text(app)
        rows = [line for line in text.splitlines() if line.startswith(("fw1 ", "fw2 "))]
        assert len(rows) == 2, text
        assert "? MASTER" in rows[0] and "? BACKUP" in rows[1], text
        assert all("VI_1" in r and "silent" in r for r in rows), text
        assert "(held)" not in text  # nobody knows who holds the address now
        assert "last known" in text
