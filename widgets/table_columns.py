"""Columns, rows and cell rendering for FastTable (no widget state here).

A cell is a ``str``, a ``(text, style)`` tuple, or a ``rich.text.Text``.
Rows are compared by value, so a screen may rebuild them every poll and the
table still repaints only the rows whose cells really changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from console.inert import inert

Cell = str | tuple[str, str] | Text


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int | None = None  # fixed width; None = fit the content
    min_width: int = 3
    max_width: int = 40
    align: str = "left"  # "left" | "right"
    priority: int = 0  # 0 always shown; higher numbers are hidden first when narrow
    stretch: bool = False  # takes the spare width


class Within(NamedTuple):
    """A sort value for a row that belongs under another (an incident's effects under it): the
    group's value, then the row's place in the group. A reversed sort reverses the groups, never
    the rows within one."""

    group: Any
    place: int


class Row(NamedTuple):
    key: str
    cells: tuple[Cell, ...]
    sort: tuple[Any, ...] | None = None  # sortable values per column (None: the cell text)
    style: str = ""  # style for the whole row (e.g. "red" for a failed one)


def cell_text(cell: Cell) -> str:
    if type(cell) is str:
        return cell
    if type(cell) is tuple:
        return cell[0]
    return cell.plain  # type: ignore[union-attr]


def shown_text(text: str) -> str:
    """A cell's text as drawn: one line, nothing a terminal would act on (sources make text inert
    where it enters; a cell that still holds a control character is drawn inert, so the row keeps
    its width and the terminal never sees the bytes)."""
    return text if text.isprintable() else inert(text)


def sort_letters(columns: Sequence[Column], letters: str) -> dict[str, int]:
    """letter -> column index for shift+letter sorting: a column's initial, or (taken by an earlier
    column) the next letter of its title that is free, as k9s gives NODE shift+O beside NAME's shift+N."""
    keys: dict[str, int] = {}
    for i, column in enumerate(columns):
        letter = next((c for c in column.label.upper() if c in letters and c not in keys), None)
        if letter is not None:
            keys[letter] = i
    return keys


@lru_cache(maxsize=1024)
def parse_style(style: str) -> Style:
    return Style.parse(style) if style else Style()


def fit_columns(columns: Sequence[Column], content: Sequence[int], width: int, gap: int = 1) -> list[tuple[int, int]]:
    """Choose (column index, width) pairs that fit `width` cells.

    `content` is the widest cell per column (0: the column is empty). Empty
    optional columns go first; then auto columns shrink to half their natural
    width; then the optional column with the highest priority number is hidden
    and we try again; last, auto columns shrink down to min_width. Spare width
    goes to the stretch column.
    """
    def natural(i: int) -> int:
        c = columns[i]
        if c.width is not None:
            return c.width
        return max(c.min_width, min(c.max_width, max(content[i], cell_len(c.label) + 1)))

    def shrink(widths: dict[int, int], total: int, floor) -> int:
        # stretch columns give up width first: they get the spare back anyway
        for i in sorted(widths, key=lambda i: (not columns[i].stretch, -widths[i])):
            if total <= width:
                break
            if columns[i].width is None:
                cut = max(0, min(widths[i] - floor(i), total - width))
                widths[i] -= cut
                total -= cut
        return total

    shown = [i for i, c in enumerate(columns) if c.priority == 0 or content[i] > 0]
    while True:
        widths = {i: natural(i) for i in shown}
        total = sum(widths.values()) + gap * (len(shown) - 1)
        total = shrink(widths, total, lambda i,
                       widths=widths: columns[i].min_width if columns[i].stretch else widths[i])
        minor = [i for i in shown if columns[i].priority >= 3]
        if total > width and minor:  # minor columns go before anything is cut short
            shown.remove(max(minor, key=lambda i: (columns[i].priority, i)))
            continue
        total = shrink(widths, total, lambda i, widths=widths: max(columns[i].min_width, widths[i] // 2 + 1))
        hidable = [i for i in shown if columns[i].priority > 0]
        if total <= width or not hidable:
            break
        shown.remove(max(hidable, key=lambda i: (columns[i].priority, i)))
    total = shrink(widths, total, lambda i: columns[i].min_width)
    spare = width - total
    if spare > 0:
        stretch = [i for i in shown if columns[i].stretch]
        if stretch:
            widths[stretch[0]] += spare
    return [(i, widths[i]) for i in shown]


def render_cells(
    cells: Sequence[Cell],
    layout: Sequence[tuple[int, int]],
    columns: Sequence[Column],
    base: Style,
    console: Any,
    gap: int = 1,
) -> list[Segment]:
    """Segments for one line: each laid-out cell truncated with … and padded."""
    segments: list[Segment] = []
    pad = Segment(" " * gap, base)
    for n, (i, w) in enumerate(layout):
        if n:
            segments.append(pad)
        cell = cells[i] if i < len(cells) else ""
        if type(cell) is Text or isinstance(cell, Text):
            text = cell.copy() if cell.plain.isprintable() else Text(inert(cell.plain), style=cell.style)
            text.truncate(w, overflow="ellipsis", pad=True)
            if columns[i].align == "right":
                text.align("right", w)
            segments.extend(Segment(s.text, base + s.style if s.style else base) for s in text.render(console)
                            if s.text)
            continue
        if type(cell) is tuple:
            value, style = cell
            style_obj = base + parse_style(style)
        else:
            value, style_obj = cell, base
        value = shown_text(value)
        length = cell_len(value)
        if length > w:  # cut by cells, not characters: a wide character must not push the row
            value = set_cell_size(value, w - 1) + "…" if w > 1 else set_cell_size(value, w)
        elif length < w:
            value = " " * (w - length) + value if columns[i].align == "right" else value + " " * (w - length)
        segments.append(Segment(value, style_obj))
    return segments
