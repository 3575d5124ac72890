"""Sparklines as plain strings of block characters, for table cells and detail panes.

`spark(values, width)` -> e.g. "▁▂▂▃▅▇█▆" (no I/O, no Textual): the newest
value is on the right; the last `width` values are shown (or, with more
values than cells, averaged into `width` buckets). None or non-finite values
are gaps (shown as a space). `lo`/`hi` fix the scale (0..1 for CPU); by
default it is the series' own range, so a flat series is a flat line.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _buckets(values: Sequence[float | None], width: int) -> list[float | None]:
    """`values` squeezed into `width` buckets (mean of the finite ones; None if none)."""
    n = len(values)
    out: list[float | None] = []
    for i in range(width):
        chunk = [v for v in values[i * n // width:(i + 1) * n // width] if _finite(v)]
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return out


def spark(values: Iterable[float | None], width: int = 10, lo: float | None = None, hi: float | None = None,
          squeeze: bool = False) -> str:
    """A sparkline of at most `width` characters, right-aligned (padded with spaces on the left).

    squeeze=False shows the newest `width` values one per cell; True averages
    all of them into `width` cells (a whole RRD hour in a short cell)."""
    if width <= 0:
        return ""
    vals = list(values)
    if squeeze and len(vals) > width:
        vals = _buckets(vals, width)
    else:
        vals = vals[-width:]
    finite = [v for v in vals if _finite(v)]
    if not finite:
        return " " * width
    low = min(finite) if lo is None else lo
    high = max(finite) if hi is None else hi
    span = high - low
    top = len(BLOCKS) - 1
    chars = []
    for v in vals:
        if not _finite(v):
            chars.append(GAP)
        elif span <= 0:
            chars.append(BLOCKS[0])  # a flat series is a flat line
        else:
            chars.append(BLOCKS[max(0, min(top, int((v - low) / span * top + 0.5)))])
    return " " * (width - len(chars)) + "".join(chars)


def latest(values) -> float | None:
    """The newest finite value of a series (None if there is none)."""
    for v in reversed(list(values)):
        if _finite(v):
            return v
    return None
