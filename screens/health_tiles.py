"""The Health tiles: each layer's verdict (console.verdict) as (level, title, lines).

No level is decided here: the tiles, the header dots and `check` all read the
same verdicts, so they cannot disagree.
"""

from __future__ import annotations

from console.verdict import LAYERS as VERDICT_LAYERS, Verdict
from widgets.format import BAD, OFF, OK, UNKNOWN, WARN

TILE_LEVEL = {"ok": OK, "warn": WARN, "stale": WARN, "crit": BAD, "unknown": UNKNOWN, "off": OFF}
LAYERS = tuple(layer for layer, _ in VERDICT_LAYERS)


def tile_of(v: Verdict) -> tuple[str, str, list[str]]:
    return TILE_LEVEL.get(v.level, UNKNOWN), v.title, list(v.lines)
