"""The Health tiles: each layer's verdict (console.verdict) as (level, title, lines).

No level is decided here: the tiles, the header dots and `check` all read the
same verdicts, so they cannot disagree.
"""

from __future__ import annotations

from console.layers import LAYER_NAMES
from console.verdict import Verdict
from widgets.format import BAD, OFF, OK, UNKNOWN, WARN

TILE_LEVEL = {"ok": OK, "warn": WARN, "stale": WARN, "crit": BAD, "unknown": UNKNOWN, "off": OFF}
LAYERS = LAYER_NAMES


def tile_of(v: Verdict) -> tuple[str, str, list[str]]:
    return TILE_LEVEL.get(v.level, UNKNOWN), v.title, list(v.lines)
