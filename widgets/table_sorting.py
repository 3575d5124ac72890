"""Sorting for FastTable, as in k9s: shift + a column's initial sorts by it, the same key again
reverses; a column whose initial an earlier one took gets the next free letter of its title
(NAME N, NODE O); G stays "bottom". s cycles through the shown columns; S reverses when no column
has S.

A mixin so fast_table.py stays about data and rendering. It relies on the table's `columns`,
`_layout`, `sort_column`, `sort_reverse`, `group_column`, `_sort_key_map` and `_rebuild_view()`.
"""

from __future__ import annotations

from textual.actions import SkipAction

from widgets.table_columns import sort_letters

SORT_LETTERS = "ABCDEFHIJKLMNOPQRSTUVWXYZ"  # shift + a column's initial; G is "bottom"


def sort_value(value):
    # None sorts last; numbers before text; text case-insensitively
    if value is None:
        return (2, 0)
    if isinstance(value, str):
        return (1, value.lower())
    return (0, value)


class TableSorting:
    def sort_by(self, column_key, reverse=False):
        self.sort_column = None if column_key is None else [c.key for c in self.columns].index(column_key)
        self.sort_reverse = reverse
        self._rebuild_view()

    def group_by(self, column_key):
        self.group_column = None if column_key is None else [c.key for c in self.columns].index(column_key)
        self._rebuild_view()

    def action_cycle_sort(self):
        shown = [i for i, _ in self._layout] or list(range(len(self.columns)))
        if self.sort_column is None or self.sort_column not in shown:
            nxt = shown[0]
        else:
            at = shown.index(self.sort_column)
            nxt = shown[at + 1] if at + 1 < len(shown) else None
        self.sort_column, self.sort_reverse = nxt, False
        self._rebuild_view()

    def action_reverse_sort(self):
        if self.sort_column is None:
            self.sort_column = ([i for i, _ in self._layout] or [0])[0]
        else:
            self.sort_reverse = not self.sort_reverse
        self._rebuild_view()

    def sort_letters(self):
        """(letter, column label) of each shift+letter that sorts this table, in column order; for `?`."""
        return [(letter, self.columns[i].label) for letter, i in self._sort_keys.items()]

    @property
    def _sort_keys(self):
        if self._sort_key_map is None:
            self._sort_key_map = sort_letters(self.columns, SORT_LETTERS)
        return self._sort_key_map

    def action_sort_initial(self, letter):
        col = self._sort_keys.get(letter)
        if col is None:
            if letter == "S":  # no column starts with S: S reverses, as before
                self.action_reverse_sort()
                return
            raise SkipAction()  # the key is free for the screen's own bindings
        if col == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = col, False
        self._rebuild_view()
