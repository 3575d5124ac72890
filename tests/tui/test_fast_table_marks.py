"""FastTable marking (k9s multi-select): space marks the row and moves on, a glyph and a colour show the
marks, marks are keys (they survive new data, sort and filter), rows that leave drop their mark, and a
table that is not markable lets space through to the screen."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding

from widgets.fast_table import FastTable

from .helpers import screen_lines
from .test_fast_table import COLUMNS, rows


class MarkApp(App):
    BINDINGS = [Binding("space", "app_space", "app space")]

    def __init__(self, markable: bool = True) -> None:
        super().__init__()
        self.markable = markable
        self.app_spaces = 0
        self.mark_events = 0

    def compose(self) -> ComposeResult:
        yield FastTable(COLUMNS, title="t", id="t", markable=self.markable)

    def action_app_space(self) -> None:
        self.app_spaces += 1

    def on_fast_table_marks_changed(self, event: FastTable.MarksChanged) -> None:
        self.mark_events += 1


async def test_space_marks_rows_with_a_glyph_and_moves_on():
    app = MarkApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(10))
        table.focus()
        await pilot.press("space", "space", "down", "space")
        await pilot.pause()
        assert table.marked_keys() == ["r0", "r1", "r3"]
        assert table.cursor_key == "r4"
        lines = screen_lines(app)
        marked = [line for line in lines if line.lstrip("▔▁ ─").startswith(FastTable.MARK_GLYPH)]
        assert len(marked) == 3 and "name-003" in marked[2]
        assert "●3 marked" in str(table.border_title)
        assert app.app_spaces == 0 and app.mark_events == 3
        await pilot.press("up", "space")  # space again unmarks
        assert table.marked_keys() == ["r0", "r1"]


async def test_marks_survive_new_data_sort_and_filter_and_drop_with_their_row():
    app = MarkApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(10))
        table.focus()
        for key in ("r2", "r5", "r7"):
            table.move_cursor_to_key(key)
            await pilot.press("space")
        table.set_rows(rows(10, {5: "stopped"}))
        table.sort_by("id", reverse=True)
        assert table.marked_keys() == ["r7", "r5", "r2"]  # in the order shown
        table.set_filter("stopped")
        assert table.marked_keys() == ["r5", "r2", "r7"]  # shown first, then the filtered-out ones
        table.set_filter("")
        table.set_rows([r for r in rows(10) if r.key != "r5"])  # r5 left the cluster
        assert table.marked_keys() == ["r7", "r2"]
        assert table.clear_marks() is True and table.marked_keys() == []
        assert table.clear_marks() is False
        await pilot.pause()
        assert "marked" not in str(table.border_title)


async def test_a_table_that_is_not_markable_lets_space_through():
    app = MarkApp(markable=False)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(FastTable)
        table.set_rows(rows(5))
        table.focus()
        await pilot.press("space")
        assert app.app_spaces == 1 and table.marked_keys() == []
