"""Proxmox RRD history (rrddata) for sparklines: nodes every ~30 s, a guest only on demand.

GET /nodes/{node}/rrddata?timeframe=hour and /nodes/{node}/qemu|lxc/{vmid}/rrddata
answer 70 rows of {"time": ..., "cpu": ..., ...}; a row without a value
(the node was down) has only "time": that is a gap (None). Every value goes
through console.sources.shape: an answer that is not a list of objects, or a
value that is not a finite number, fails the read (ShapeError, kept in
`errors`) instead of drawing a made-up line, so screens only ever see finite
floats or None.

Reads go through the ProxmoxSource's transport (its endpoint failover, TLS
and token), in a worker thread; a failed read keeps the last good series and
remembers the error (history is a nicety: it never raises into the UI).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.sources import shape

log = logging.getLogger(__name__)

NODE_TTL = 30.0  # seconds between reads of a node's history
GUEST_TTL = 30.0
GUEST_KEEP = 32  # guests whose series stay cached (the detail pane reads one guest at a time)
TIMEFRAME = "hour"


@dataclass(frozen=True, slots=True)
class RrdSeries:
    """One entity's history, oldest first; None where RRD had no value."""

    times: tuple[int, ...]
    cpu: tuple[float | None, ...]  # fraction 0..1
    mem: tuple[float | None, ...]  # fraction of total memory 0..1
    netin: tuple[float | None, ...]  # bytes/s
    netout: tuple[float | None, ...]
    diskread: tuple[float | None, ...] = ()  # guests only, bytes/s
    diskwrite: tuple[float | None, ...] = ()

    @property
    def net(self) -> tuple[float | None, ...]:
        """netin + netout per step (None if either is missing)."""
        return tuple(None if a is None or b is None else a + b for a, b in zip(self.netin, self.netout, strict=False))

    @property
    def disk(self) -> tuple[float | None, ...]:
        return tuple(None if a is None or b is None else a + b
                     for a, b in zip(self.diskread, self.diskwrite, strict=False))


def _ratio(used: float | None, total: float | None) -> float | None:
    if used is None or not total or total <= 0:
        return None
    return max(0.0, min(1.0, used / total))


_FIELDS = ("cpu", "mem", "maxmem", "memused", "memtotal", "netin", "netout", "diskread", "diskwrite")


def parse_rrd(rows: Any, guest: bool = False, where: str = "proxmox rrddata") -> RrdSeries:
    """rrddata rows -> RrdSeries, oldest first; ShapeError for an answer of the wrong shape."""
    parsed: list[tuple[int, dict[str, float | None]]] = []
    for i, row in enumerate(shape.objects(rows, where)):
        t = shape.integer(shape.need(row, "time", where, f"row {i}"), where, f"[{i}].time", lo=0)
        values = {k: shape.num(row.get(k), where, f"[{i}].{k}", default=None, lo=0.0)  # type: ignore[arg-type]
                  for k in _FIELDS}
        parsed.append((t, values))
    parsed.sort(key=lambda x: x[0])
    mem_key, total_key = ("mem", "maxmem") if guest else ("memused", "memtotal")
    rows_ = [v for _, v in parsed]
    return RrdSeries(
        times=tuple(t for t, _ in parsed),
        cpu=tuple(None if v["cpu"] is None else min(1.0, v["cpu"]) for v in rows_),
        mem=tuple(_ratio(v[mem_key], v[total_key]) for v in rows_),
        netin=tuple(v["netin"] for v in rows_),
        netout=tuple(v["netout"] for v in rows_),
        diskread=tuple(v["diskread"] for v in rows_) if guest else (),
        diskwrite=tuple(v["diskwrite"] for v in rows_) if guest else (),
    )


class RrdReader:
    """Cached, lazily refreshed RRD series of nodes and guests, read through a ProxmoxSource."""

    def __init__(self, proxmox: Any, clock: Callable[[], float] = time.monotonic,
                 node_ttl: float = NODE_TTL, guest_ttl: float = GUEST_TTL, guest_keep: int = GUEST_KEEP):
        self.proxmox = proxmox
        self.clock = clock
        self.node_ttl = node_ttl
        self.guest_ttl = guest_ttl
        self.nodes: dict[str, RrdSeries] = {}
        self.guest_keep = guest_keep
        self.guests: dict[str, RrdSeries] = {}  # "qemu/101" -> series, least recently read first
        self.errors: dict[str, str] = {}  # what failed last, by "node/pve1" or "qemu/101"
        self._fetched: dict[str, float] = {}
        self.version = 0  # bumped whenever a series changed

    async def _get(self, path: str) -> Any:
        # ProxmoxSource._aget: blocking proxmoxer call in a worker thread, endpoint failover
        return await self.proxmox._aget(path, timeframe=TIMEFRAME)

    def _due(self, key: str, ttl: float, force: bool) -> bool:
        at = self._fetched.get(key)
        return force or at is None or self.clock() - at >= ttl

    async def _read(self, key: str, path: str, store: dict[str, RrdSeries], name: str, guest: bool) -> None:
        self._fetched[key] = self.clock()
        try:
            series = parse_rrd(await self._get(path), guest=guest, where=f"proxmox /{path}")
        except asyncio.CancelledError:
            self._fetched.pop(key, None)  # not read after all: due again next time
            raise
        except Exception as exc:  # noqa: BLE001 - history is optional: keep the last series, say why
            self.errors[key] = str(exc)
            log.info("rrddata %s: %s", path, exc)
            return
        self.errors.pop(key, None)
        if store.get(name) != series:
            store[name] = series
            self.version += 1

    async def refresh_nodes(self, names: list[str], force: bool = False) -> bool:
        """Read the history of the `names` whose copy is older than node_ttl; True if any changed."""
        before = self.version
        due = [n for n in names if self._due(f"node/{n}", self.node_ttl, force)]
        if due:
            await asyncio.gather(*(self._read(f"node/{n}", f"nodes/{n}/rrddata", self.nodes, n, False) for n in due))
        for gone in [n for n in self.nodes if n not in names]:
            del self.nodes[gone]
        return self.version != before

    def guest_due(self, kind: str, vmid: int) -> bool:
        """Whether a guest's history would be read now (none yet, or older than guest_ttl)."""
        return self._due(f"{kind}/{vmid}", self.guest_ttl, False)

    async def refresh_guest(self, node: str, kind: str, vmid: int, force: bool = False) -> RrdSeries | None:
        """The history of one guest (qemu|lxc), read if older than guest_ttl."""
        key = f"{kind}/{vmid}"
        if kind in ("qemu", "lxc") and self._due(key, self.guest_ttl, force):
            await self._read(key, f"nodes/{node}/{kind}/{vmid}/rrddata", self.guests, key, True)
        series = self.guests.pop(key, None)
        if series is not None:
            self.guests[key] = series  # most recently read last
        self._forget_old_guests()
        return series

    def _forget_old_guests(self) -> None:
        """Keep the series of the last `guest_keep` guests read: walking the detail pane through
        2,000 guests must not keep 2,000 histories (a forgotten one is read again when shown)."""
        while len(self.guests) > self.guest_keep:
            old = next(iter(self.guests))
            del self.guests[old]
            self._fetched.pop(old, None)
            self.errors.pop(old, None)
