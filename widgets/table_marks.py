"""Marks for FastTable (multi-select, as k9s): space marks the cursor row and moves on; marks are
row keys, so they survive refresh, sort and filter.

A mixin so fast_table.py stays about data and rendering. It relies on the table's `markable`,
`_marked`, `_view`, `cursor_key`, `_set_cursor`, `_base_style` and `update_title()`.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip


class TableMarks:
    MARK_GLYPH = "●"  # drawn over a marked row's first cell (a right-aligned id column leaves it blank)

    # ------------------------------------------------------------ marks (multi-select)
    def _marked_strip(self, strip):
        style = self.get_component_rich_style("fast-table--marked")
        glyph = Strip([Segment(self.MARK_GLYPH, self._base_style + style)], 1)
        rest = Strip(Segment.apply_style(strip.crop(1, strip.cell_length), post_style=style), strip.cell_length - 1)
        return Strip.join([glyph, rest])

    def check_action(self, action, parameters):
        if action == "toggle_mark":
            return self.markable  # not markable: space goes on to the screen's own binding
        return True

    def action_toggle_mark(self):
        key = self.cursor_key
        if key is None:
            return
        self._marked.symmetric_difference_update({key})
        self._marks_changed()
        self._set_cursor(self.cursor + 1)  # k9s: the cursor moves on, so space space marks two rows

    def marked_keys(self):
        """The marked rows' keys, in the order they are shown (then any hidden by the filter)."""
        shown = [k for k in self._view if k in self._marked]
        return shown + sorted(self._marked.difference(shown))

    def is_marked(self, key):
        return key in self._marked

    def clear_marks(self):
        """Unmark every row; True if any was marked."""
        if not self._marked:
            return False
        self._marked.clear()
        self._marks_changed()
        return True

    def _marks_changed(self):
        self.update_title()
        self.refresh()
        self.post_message(self.MarksChanged(self))
