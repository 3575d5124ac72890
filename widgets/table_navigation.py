"""Cursor movement for FastTable: keys, click, and keeping the cursor row on screen.

A mixin so fast_table.py stays about data and rendering. It relies on the
table's `_view` (visible keys in order), `_pos` (key -> index) and `cursor`.
"""

from __future__ import annotations

from textual import events
from textual.geometry import Region


class TableNavigation:
    # ------------------------------------------------------------ cursor
    @property
    def cursor_key(self) -> str | None:
        return self._view[self.cursor] if 0 <= self.cursor < len(self._view) else None

    def move_cursor_to_key(self, key: str) -> bool:
        if key not in self._pos:
            return False
        self._set_cursor(self._pos[key])
        return True

    def _set_cursor(self, index: int) -> None:
        index = max(0, min(index, len(self._view) - 1))
        old = self.cursor
        self.cursor = index
        top = int(self.scroll_y)
        self._scroll_cursor_into_view()
        if int(self.scroll_y) == top and old != index:
            width = self.size.width
            for i in (old, index):
                if top <= i < top + self.size.height:
                    self.refresh(Region(0, i - top + 1, width, 1))
        self._post_highlight()

    def _scroll_cursor_into_view(self) -> None:
        rows_visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + rows_visible:
            self.scroll_to(y=self.cursor - rows_visible + 1, animate=False)

    def _post_highlight(self) -> None:
        key = self.cursor_key
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, key))

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=max(0, self.scroll_y - page), animate=False)
        self._set_cursor(self.cursor - page)

    def action_page_down(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_y + page, animate=False)
        self._set_cursor(self.cursor + page)

    def action_cursor_home(self) -> None:
        self._set_cursor(0)

    def action_cursor_end(self) -> None:
        self._set_cursor(len(self._view) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:  # line 0 is the header
            self._set_cursor(int(self.scroll_y) + offset.y - 1)

