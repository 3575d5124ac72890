"""FastTable: a Line-API table that repaints only the rows that changed.

Each row's rendered line (a Strip) is cached by row key and dropped only when
the row's content changes, so a poll that changes 5% of 2,000 rows re-renders
~100 cached-out rows at most and repaints only those that are on screen.
Rows are matched by key: cursor, scroll and selection stay put across updates.

Sorting (widgets/table_sorting.py), marks (widgets/table_marks.py) and cursor
movement (widgets/table_navigation.py) are mixins. The focused table shows it:
a heavy top rule, a highlighted header and a bold title; the others keep their
cursor row, dimmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.row_filter import RowFilter, parse_filter
from widgets.table_columns import (
    Column,
    Row,
    Within,
    cell_text,
    fit_columns,
    parse_style,
    render_cells,
    shown_text,
)
from widgets.table_marks import TableMarks
from widgets.table_navigation import TableNavigation
from widgets.table_sorting import SORT_LETTERS, TableSorting, sort_value

STRIP_SCREENS = 3  # rendered rows kept: this many screens' worth around the view (a Strip is ~1 KB with its caches)


class FastTable(TableNavigation, TableSorting, TableMarks, ScrollView, can_focus=True):
    DEFAULT_CSS = """
    FastTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $text-muted;
        background: $surface;
    }
    FastTable:focus { border-top: heavy $primary; border-title-color: $text; border-title-style: bold; }
    FastTable > .fast-table--header { text-style: bold; color: $text-muted; background: $panel; }
    FastTable:focus > .fast-table--header { color: $text; background: $primary-muted; }
    FastTable > .fast-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold; }
    FastTable > .fast-table--cursor-blurred { background: $block-cursor-blurred-background; }
    FastTable > .fast-table--empty { color: $text-muted; text-style: italic; }
    FastTable > .fast-table--marked { background: $accent 30%; text-style: bold; }
    """
    COMPONENT_CLASSES = {"fast-table--header", "fast-table--cursor", "fast-table--cursor-blurred", "fast-table--empty",
                         "fast-table--marked"}
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "cursor_home", "Top", show=False),
        Binding("end,G", "cursor_end", "Bottom", show=False),
        Binding("enter", "select", "Select", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("space", "toggle_mark", "Mark", show=False),  # only in tables made with markable=True
        *(Binding(c, f"sort_initial('{c}')", f"Sort {c}", show=False) for c in SORT_LETTERS),
    ]

    class RowHighlighted(Message):
        def __init__(self, table: FastTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> FastTable:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    class MarksChanged(Message):
        def __init__(self, table: FastTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FastTable:
            return self.table

    def __init__(self, columns: Sequence[Column], *, title: str = "", empty_text: str = "no rows",
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 markable: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.markable = markable  # space marks rows (k9s); marks are keys, so they survive refresh/sort/filter
        self._marked: set[str] = set()
        self.columns = tuple(columns)
        self.title = title
        self.empty_text = empty_text
        self._rows: dict[str, Row] = {}
        self._rows_given: object = None  # the list last given to set_rows
        self._input_keys: list[str] = []
        self._view: list[str] = []
        self._pos: dict[str, int] = {}
        self._strips: dict[str, Strip] = {}
        self._hay: dict[str, str] = {}
        self._content = [0] * len(self.columns)
        self._layout: list[tuple[int, int]] = []
        self._layout_width = -1
        self._layout_cells = 0
        self._base_style = Style()
        self._header: Strip | None = None
        self._filter: RowFilter | None = None
        self.sort_column: int | None = None
        self.sort_reverse = False
        self._sort_key_map: dict[str, int] | None = None  # shift+letter -> column (built on first use)
        self.group_column: int | None = None
        self.cursor = 0
        # True for ranked lists (findings by severity): a cursor on the first row stays on the first
        # row when rows arrive above it, so the worst item stays in sight instead of scrolling away.
        self.stick_to_top = False
        self._highlighted: str | None = None
        self._title_plain: str | None = None
        self.paint_count = 0  # rows rendered (not served from cache); read by tests and the benchmark

    # ------------------------------------------------------------ data in
    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace the contents; rows are matched by key and only changed ones repaint.
        The very list given last time (rows built once per snapshot) is not compared again."""
        if rows is self._rows_given:
            return
        self._rows_given = rows if isinstance(rows, list) else None
        old = self._rows
        new: dict[str, Row] = {}
        changed: list[str] = []
        for row in rows:
            key = row[0]
            prev = old.get(key)
            if prev is not row and prev != row:
                changed.append(key)
            new[key] = row
        keys = list(new)
        structural = keys != self._input_keys
        self._rows = new
        self._input_keys = keys
        if self._marked and structural and not self._marked <= new.keys():
            self._marked &= new.keys()  # a guest that left the cluster is no longer marked
            self.post_message(self.MarksChanged(self))
        if not changed and not structural:
            return
        removed = structural and any(k not in new for k in old)
        if removed:
            for k in [k for k in self._strips if k not in new]:
                del self._strips[k]
            self._hay = {k: v for k, v in self._hay.items() if k in new}
            self._recompute_content()
        strips, hay, pos = self._strips, self._hay, self._pos
        order_cols = [c for c in (self.sort_column, self.group_column) if c is not None]
        repaint: list[str] = []
        for key in changed:
            row = new[key]
            prev = old.get(key)
            # only a sort value moved (an uptime's seconds): the same text, nothing to repaint or re-measure
            text_changed = prev is None or prev[1] != row[1] or prev[3] != row[3]
            if text_changed:
                strips.pop(key, None)
                had = hay.pop(key, None)
                self._grow_content(row)
                repaint.append(key)
            if structural:
                continue
            if text_changed and self._filter is not None and \
                    (had is None or self._filter(had) != self._filter(self._haystack(key))):
                structural = True
            elif order_cols and prev is not None and any(self._value(prev, c) != self._value(row, c)
                                                         for c in order_cols):
                structural = True
        if self._relayout():
            structural = True
        if structural:
            self._rebuild_view()
            return
        top = int(self.scroll_y)
        height = self.size.height
        width = self.size.width
        for key in repaint:
            i = pos.get(key)
            if i is not None and top <= i < top + height:
                self.refresh(Region(0, i - top + 1, width, 1))

    @property
    def row_count(self) -> int:
        return len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def visible_keys(self) -> list[str]:
        return list(self._view)

    def get_row(self, key: str) -> Row | None:
        return self._rows.get(key)

    # ------------------------------------------------------------ filter / sort
    @property
    def filter_text(self) -> str:
        return self._filter.text if self._filter else ""

    def set_filter(self, text: str) -> None:
        self._filter = parse_filter(text)
        self._rebuild_view()

    def _value(self, row: Row, col: int):
        if row.sort is not None and col < len(row.sort):
            return row.sort[col]
        return cell_text(row.cells[col]) if col < len(row.cells) else ""

    def _haystack(self, key: str) -> str:
        hay = self._hay.get(key)
        if hay is None:
            hay = self._hay[key] = "\t".join(cell_text(c) for c in self._rows[key].cells).lower()
        return hay

    def _rebuild_view(self) -> None:
        current = self.cursor_key
        keys = self._input_keys
        if self._filter is not None:
            f, hay = self._filter, self._haystack
            keys = [k for k in keys if f(hay(k))]
        else:
            keys = list(keys)
        rows, value = self._rows, self._value
        if self.sort_column is not None:
            c = self.sort_column
            if self.sort_reverse and keys and isinstance(value(rows[keys[0]], c), Within):
                # stable sorts: the groups reverse, the rows inside one keep their order
                keys.sort(key=lambda k: value(rows[k], c).place)
                keys.sort(key=lambda k: sort_value(value(rows[k], c).group), reverse=True)
            else:
                keys.sort(key=lambda k: sort_value(value(rows[k], c)), reverse=self.sort_reverse)
        if self.group_column is not None:
            g = self.group_column
            keys.sort(key=lambda k: sort_value(value(rows[k], g)))
        self._view = keys
        self._pos = {k: i for i, k in enumerate(keys)}
        self._header = None
        self.virtual_size = Size(self.size.width, max(2, len(keys) + 1))
        if current is not None and current in self._pos and not (self.stick_to_top and self.cursor == 0):
            self.cursor = self._pos[current]
        self.cursor = max(0, min(self.cursor, len(keys) - 1))
        self.update_title()
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlight()

    def update_title(self) -> None:
        parts = [self.title] if self.title else []
        total, shown = len(self._rows), len(self._view)
        parts.append(f"{shown}/{total}" if self._filter else str(total))
        if self._filter:
            parts.append(f"/{self._filter.text}")
        if self.group_column is not None:
            parts.append(f"by {self.columns[self.group_column].label.lower()}")
        if self._marked:
            parts.append(f"{self.MARK_GLYPH}{len(self._marked)} marked")
        title = " ".join(parts)
        if title != self._title_plain:
            self._title_plain = title
            self.border_title = Text(title)  # a Text: the filter text is typed, never markup

    # ------------------------------------------------------------ widths
    def _grow_content(self, row: Row) -> None:
        content = self._content
        for i, cell in enumerate(row.cells[: len(content)]):
            text = shown_text(cell if type(cell) is str else cell_text(cell))
            n = len(text) if text.isascii() else cell_len(text)
            if n > content[i]:
                content[i] = n

    def _recompute_content(self) -> None:
        self._content = [0] * len(self.columns)
        for row in self._rows.values():
            self._grow_content(row)

    @property
    def layout_width(self) -> int:
        """The width (cells) the columns were last fitted to; every rendered row is this wide."""
        return self._layout_width

    def _relayout(self) -> bool:
        """Fit columns to the current width; True (and caches dropped) if the layout changed."""
        width = self.scrollable_content_region.width or self.size.width
        layout = fit_columns(self.columns, self._content, max(1, width))
        if layout == self._layout and width == self._layout_width:
            return False
        self._layout, self._layout_width = layout, width
        self._layout_cells = sum(w for _, w in layout) + max(0, len(layout) - 1)
        self._strips.clear()
        self._header = None
        return True

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._header = None

    def _on_resize(self, event: events.Resize) -> None:
        if self._relayout():
            self.refresh()
        self.virtual_size = Size(self.size.width, max(2, len(self._view) + 1))

    # ------------------------------------------------------------ rendering
    def render_lines(self, crop: Region) -> list[Strip]:
        # looked up once per repaint, not once per line (rich_style walks the DOM)
        self._base_style = self.rich_style
        if self._layout_width != (self.scrollable_content_region.width or self.size.width):
            self._relayout()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._layout_width
        base = self._base_style
        if y == 0:
            if self._header is None:
                self._header = self._render_header(base, width)
            return self._header
        index = int(self.scroll_y) + y - 1
        if index >= len(self._view):
            if index == 0:
                text = self.empty_text if not self._filter else f"no rows match /{self._filter.text}"
                style = self.get_component_rich_style("fast-table--empty")
                return Strip([Segment(text[:width].ljust(width), base + style)], width)
            return Strip.blank(width, base)
        key = self._view[index]
        strip = self._strips.get(key)
        if strip is None:
            row = self._rows[key]
            row_base = base + parse_style(row.style) if row.style else base
            segments = render_cells(row.cells, self._layout, self.columns, row_base, self.app.console)
            strip = Strip(segments, self._layout_cells).adjust_cell_length(width, base)
            if len(self._strips) >= STRIP_SCREENS * max(self.size.height, 10):
                self._drop_far_strips(index)
            self._strips[key] = strip
            self.paint_count += 1
        if key in self._marked:
            strip = self._marked_strip(strip)
        if index == self.cursor:
            name = "fast-table--cursor" if self.has_focus else "fast-table--cursor-blurred"
            # post_style: the cursor's colours win over the cells' own background
            strip = Strip(Segment.apply_style(strip, post_style=self.get_component_rich_style(name)), strip.cell_length)
        return strip

    def _drop_far_strips(self, index: int) -> None:
        """Forget rendered rows more than a screen away from row `index` (scrolling through 2,000
        guests must not keep 2,000 rendered lines); they are rendered again when scrolled back to."""
        height = max(self.size.height, 10)
        near = set(self._view[max(0, index - height): index + 2 * height])
        self._strips = {k: v for k, v in self._strips.items() if k in near}

    def _render_header(self, base: Style, width: int) -> Strip:
        labels = []
        for i, column in enumerate(self.columns):
            mark = ""
            if i == self.sort_column:
                mark = "▼" if self.sort_reverse else "▲"
            labels.append(column.label + mark)
        style = base + self.get_component_rich_style("fast-table--header")
        segments = render_cells(labels, self._layout, self.columns, style, self.app.console)
        return Strip(segments, self._layout_cells).adjust_cell_length(width, style)

    def find(self, text: str) -> list[str]:
        """Keys of rows whose text contains `text` (case-insensitive), in input order."""
        needle = text.lower()
        return [k for k in self._input_keys if needle in self._haystack(k)]
