"""Do the header dots, the Health tiles, `check` and its findings tell one story? Read from a
running ConsoleApp and a `check --json` document (used by tests and tests/bench/bench_incidents.py)."""

from __future__ import annotations

import re

from screens.health_tiles import TILE_LEVEL
from widgets.cluster_header import ClusterHeader
from widgets.format import MARK
from widgets.tile import Tile

SOURCE_OF_TILE = {"cluster": "proxmox", "guests": "proxmox", "ceph": "ceph", "swarm": "swarm",
                  "traefik": "traefik", "vrrp": "vrrp"}
SHORT = {"pve": "proxmox", "ceph": "ceph", "swarm": "swarm", "trfk": "traefik", "vrrp": "vrrp"}
LEVEL_OF_MARK = {m: level for level, m in MARK.items()}
RANK = {"bad": 0, "unknown": 1, "warn": 2, "ok": 3, "off": 4}


def header_levels(app) -> dict[str, str]:
    text = str(app.screen.query_one(ClusterHeader).render())
    return {SHORT[name]: LEVEL_OF_MARK[m] for m, name in re.findall(r"([●▲✖?○])(pve|ceph|swarm|trfk|vrrp)\b", text)}


def tile_levels(app) -> dict[str, str]:
    out = {}
    for tile in app.screen.query(Tile):
        out[tile.layer_name] = next(c[1:] for c in tile.classes if c in ("-ok", "-warn", "-bad", "-unknown", "-off"))
    return out


def disagreements(header: dict, tiles: dict, doc: dict, failing: set[str] = frozenset()) -> list[str]:
    """What the header, the tiles, `check` and its findings say differently. `failing`: sources
    whose last poll failed in the console, which keeps their last good data (stale, a warning)
    where a one-shot `check` has none (unknown): that layer is compared within each side only."""
    out = []
    for source, level in header.items():
        if source in failing:
            if level != "warn" or doc["layers"][source]["level"] not in ("unknown", "stale"):
                out.append(f"failing {source}: header {level}, check {doc['layers'][source]['level']}")
            continue
        mine = [tiles[t] for t, s in SOURCE_OF_TILE.items() if s == source]
        if level != min(mine, key=RANK.get):
            out.append(f"header {source} {level} but tiles {mine}")
        checked = TILE_LEVEL.get(doc["layers"][source]["level"])
        if checked != level:
            out.append(f"header {source} {level} but check says {checked}")
    skip = {t for t, src in SOURCE_OF_TILE.items() if src in failing}
    for f in doc["findings"]:
        tile = tiles.get(f["layer"]) if f["layer"] not in skip else None
        want = {"critical": "bad", "warning": "warn", "unknown": "unknown"}.get(f["counted"])
        if tile is not None and want is not None and RANK[tile] > RANK[want]:
            out.append(f"finding {f['counted']} {f['text']!r} but tile {f['layer']} is {tile}")
    worst = min((lv for t, lv in tiles.items() if t not in skip), key=RANK.get, default="ok")
    status = {"bad": "critical", "unknown": "unknown", "warn": "warning"}.get(worst, "ok")
    checked = [TILE_LEVEL[v["level"]] for src, v in doc["layers"].items() if src not in failing]
    expected = {"bad": "critical", "unknown": "unknown", "warn": "warning"}.get(min(checked, key=RANK.get), "ok")
    if status != expected:
        out.append(f"tiles say {status}, check's layers say {expected}")
    return out
