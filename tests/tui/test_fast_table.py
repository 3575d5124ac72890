"""FastTable: in-place updates by key, partial repaint, filter, sort, group, column fitting."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.fast_table import FastTable
from widgets.row_filter import parse_filter
from widgets.table_columns import Column, Row, Within, fit_columns

from .helpers import screen_lines

COLUMNS = (
    Column("id", "ID", width=4, align="right"),
    Column("name", "NAME", min_width=6, max_width=20),
    Column("state", "STATE", min_width=7, max_width=10),
    Column("note", "NOTE", min_width=4, max_width=30, priority=2, stretch=True),
)


def rows(n: int, changed: dict[int, str] | None = None) -> list[Row]:
    changed = changed or {}
    return [Row(f"r{i}", (str(i), f"name-{i:03d}", changed.get(i, "running"), "x" * (i % 5)),
                (i, f"name-{i:03d}", changed.get(i, "running"), "x" * (i % 5)))
            for i in range(n)]


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield FastTable(COLUMNS, title="t", id="t")


def screen_text(app) -> list[str]:
    return screen_lines(app)


async def test_update_repaints_only_changed_visible_rows():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(200))
        await pilot.pause()
        first = table.paint_count
        assert first > 0
        # row 3 is on screen, row 150 is not: only one row is rendered again
        table.set_rows(rows(200, {3: "stopped", 150: "stopped"}))
        await pilot.pause()
        assert table.paint_count == first + 1
        assert any("name-003 stopped" in line for line in screen_text(app))
        # identical data: nothing is rendered
        table.set_rows(rows(200, {3: "stopped", 150: "stopped"}))
        await pilot.pause()
        assert table.paint_count == first + 1


async def test_a_sort_value_alone_repaints_nothing_but_still_orders_the_rows():
    """Every poll moves each guest's uptime by seconds while its cell shows minutes: such a row
    is not painted again, yet a table sorted by that column follows the new values."""
    app = TableApp()

    def by_sort(order: dict[int, int]) -> list[Row]:
        return [Row(r.key, r.cells, (order.get(i, i), *r.sort[1:])) for i, r in enumerate(rows(50))]

    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(by_sort({}))
        await pilot.pause()
        first = table.paint_count
        table.set_rows(by_sort({3: 1003}))  # only row 3's sort value moved
        await pilot.pause()
        assert table.paint_count == first
        table.sort_by("id", reverse=True)
        await pilot.pause()
        assert table.visible_keys[0] == "r3"
        table.set_rows(by_sort({3: 3, 4: 2004}))  # sorted by it: the order follows the values
        await pilot.pause()
        assert table.visible_keys[:2] == ["r4", "r49"]


async def test_cursor_and_scroll_stay_on_the_same_row_key():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(100))
        table.focus()
        await pilot.pause()
        for _ in range(30):
            await pilot.press("down")
        assert table.cursor_key == "r30"
        scroll = table.scroll_y
        # a row above is removed and a new one appended: cursor follows r30
        new = [r for r in rows(101) if r.key != "r5"]
        table.set_rows(new)
        await pilot.pause()
        assert table.cursor_key == "r30"
        assert table.cursor == 29
        assert abs(table.scroll_y - scroll) <= 1
        table.set_rows(rows(101, {30: "failed"}))
        await pilot.pause()
        assert table.cursor_key == "r30"


async def test_filter_substring_regex_inverted_and_sort():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(20, {4: "stopped", 9: "stopped"}))
        table.set_filter("stopped")
        assert table.visible_keys == ["r4", "r9"]
        table.set_filter("!stopped")
        assert table.row_count == 18 and "r4" not in table.visible_keys
        table.set_filter("re:name-01[0-2]")
        assert table.visible_keys == ["r10", "r11", "r12"]
        table.set_filter("name-00(1|2)")  # regex characters and compiles -> regex
        assert table.visible_keys == ["r1", "r2"]
        table.set_filter("name-0[")  # does not compile -> substring, matches nothing
        assert table.row_count == 0
        table.set_filter("")
        table.sort_by("id", reverse=True)
        assert table.visible_keys[:3] == ["r19", "r18", "r17"]
        # a sorted table re-orders when a sort value changes
        table.sort_by("state")
        assert table.visible_keys[-2:] == ["r4", "r9"]
        table.set_rows(rows(20, {4: "aborted"}))
        assert table.visible_keys[0] == "r4"
        # a filter re-applies when a row starts or stops matching
        table.set_filter("aborted")
        assert table.visible_keys == ["r4"]
        table.set_rows(rows(20, {7: "aborted"}))
        assert table.visible_keys == ["r7"]
        await pilot.pause()
        assert "t 1/20 /aborted" in (table.border_title or "")


async def test_sort_keys_cycle_and_reverse_and_group():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(6, {1: "b", 2: "a", 4: "a"}))
        table.focus()
        await pilot.press("s")
        assert table.sort_column == 0
        await pilot.press("s", "s")
        assert table.sort_column == 2
        assert table.visible_keys[:2] == ["r2", "r4"]
        await pilot.press("S")
        assert table.sort_reverse
        assert table.visible_keys == ["r0", "r3", "r5", "r1", "r2", "r4"]  # reversed, ties keep input order
        table.sort_by("id", reverse=True)
        table.group_by("state")
        # grouped by state ascending, reversed id inside each group
        assert table.visible_keys[:2] == ["r4", "r2"]
        lines = screen_text(app)
        assert "ID▼" in lines[1]


async def test_a_reversed_sort_keeps_the_rows_of_a_group_under_their_head():
    """Health's incidents: each incident's effects stay right under it, in their order, whichever
    way a column sorts (reversed, the incidents reverse; the effects do not move above them)."""
    def row(key, group, place):
        return Row(key, (key, key, "", ""), tuple(Within(group, place) for _ in range(4)))

    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows([row("a", 1, 0), row("a>1", 1, 1), row("a>2", 1, 2), row("b", 2, 0), row("b>1", 2, 1)])
        table.sort_by("id")
        assert table.visible_keys == ["a", "a>1", "a>2", "b", "b>1"]
        table.sort_by("id", reverse=True)
        assert table.visible_keys == ["b", "b>1", "a", "a>1", "a>2"]
        await pilot.pause()


def test_fit_columns_hides_optional_columns_when_narrow():
    content = [4, 12, 7, 25]
    wide = fit_columns(COLUMNS, content, 60)
    assert [i for i, _ in wide] == [0, 1, 2, 3]
    assert sum(w for _, w in wide) + 3 == 60  # the stretch column takes the spare
    narrow = fit_columns(COLUMNS, content, 24)
    assert [i for i, _ in narrow] == [0, 1, 2]
    assert sum(w for _, w in narrow) + 2 <= 24
    empty_note = fit_columns(COLUMNS, [4, 12, 7, 0], 60)
    assert [i for i, _ in empty_note] == [0, 1, 2]


def test_parse_filter():
    assert parse_filter("") is None and parse_filter("!") is None
    f = parse_filter("Web")
    assert f("pve1\tweb-01") and not f.is_regex
    f = parse_filter("!web")
    assert not f("web-01") and f("db-01")
    f = parse_filter("re:^1\\d\\d\t")
    assert f.is_regex and f("101\tfw2") and not f("1010\tx")
    assert not parse_filter("a(b").is_regex


async def test_click_moves_the_cursor_and_enter_selects():
    app = TableApp()
    selected = []
    async with app.run_test(size=(60, 12), message_hook=selected.append) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(50))
        await pilot.pause()
        # widget line 0 is the title border, content line 0 the header: widget line 5 is row index 3
        await pilot.click(FastTable, offset=(2, 5))
        assert table.cursor_key == "r3" and table.has_focus
        await pilot.press("enter")
        await pilot.pause()
        assert any(isinstance(m, FastTable.RowSelected) and m.key == "r3" for m in selected)


async def test_rendered_rows_kept_are_bounded_when_scrolling_through_a_long_table():
    # a kept row is a Strip (~1 KB with Textual's caches): 2,000 guests paged through must not keep 2,000
    from widgets.fast_table import STRIP_SCREENS

    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(500))
        table.focus()
        await pilot.pause()
        for _ in range(50):  # page through the whole table
            await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_key == "r499"
        assert table.paint_count > 400  # most rows were rendered once
        assert len(table._strips) <= STRIP_SCREENS * max(table.size.height, 10) + 1
        painted = table.paint_count
        await pilot.press("home")  # the top was forgotten: rendered again, and shown right
        await pilot.pause()
        assert table.paint_count > painted
        assert any("name-000" in line for line in screen_text(app))
