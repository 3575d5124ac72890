"""History for sparklines: PVE's RRD for nodes and guests, a ring of polls for Ceph rates.

    history = History.attach(hub, actions, on_change)   # the App, per cluster
    history.node_series("pve1")      -> RrdSeries | None (cpu, mem, net)
    await history.guest_series(g)    -> RrdSeries | None (read when a detail pane asks)
    history.ceph_io / ceph_recovery  -> deque of bytes/s, one value per Ceph poll

Node history is re-read when a Proxmox snapshot arrives and the copy is older
than NODE_TTL (30 s), in a background task; `on_change()` is called when it
brought something new, so the App can re-render the screen on display.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable

from console.sources.proxmox_rrd import RrdReader, RrdSeries

log = logging.getLogger(__name__)

CEPH_RING = 60  # polls of Ceph rates kept (2 minutes at the default 2 s interval)


class History:
    def __init__(self, reader: RrdReader | None = None, on_change: Callable[[], Any] | None = None,
                 ring: int = CEPH_RING):
        self.reader = reader
        self.on_change = on_change
        self.ceph_io: deque[float] = deque(maxlen=ring)  # client read + write, bytes/s
        self.ceph_recovery: deque[float] = deque(maxlen=ring)  # recovering bytes/s
        self._ceph_ok_at: float | None = None
        self._online: list[str] = []
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def attach(cls, hub, actions: Any = None, on_change: Callable[[], Any] | None = None) -> "History":
        sources = getattr(actions, "sources", None)
        proxmox = sources.get("proxmox") if sources is not None and hasattr(sources, "get") else None
        history = cls(RrdReader(proxmox) if proxmox is not None else None, on_change)
        history._unsubscribe = hub.subscribe(history.on_snapshot)
        return history

    # ------------------------------------------------------------ hub
    def on_snapshot(self, snap) -> None:
        if snap.data is None:
            return
        if snap.source == "ceph" and snap.ok_at != self._ceph_ok_at:  # one sample per successful poll
            self._ceph_ok_at = snap.ok_at
            r = snap.data.rates
            self.ceph_io.append(float(r.read_bytes_sec + r.write_bytes_sec))
            self.ceph_recovery.append(float(r.recovering_bytes_per_sec))
        elif snap.source == "proxmox" and self.reader is not None:
            self._online = [n.name for n in snap.data.nodes if n.status == "online"]
            if self._task is None or self._task.done():
                try:
                    self._task = asyncio.get_running_loop().create_task(self.refresh_nodes(), name="rrd-nodes")
                except RuntimeError:  # no loop (a headless one-shot): history is not needed there
                    pass

    # ------------------------------------------------------------ rrd
    async def refresh_nodes(self, force: bool = False) -> bool:
        """Re-read node history that is due; calls on_change when something changed."""
        if self.reader is None or not self._online:
            return False
        changed = await self.reader.refresh_nodes(list(self._online), force=force)
        if changed and self.on_change is not None:
            self.on_change()
        return changed

    def node_series(self, name: str) -> RrdSeries | None:
        return None if self.reader is None else self.reader.nodes.get(name)

    async def guest_series(self, guest, force: bool = False) -> RrdSeries | None:
        if self.reader is None or guest is None:
            return None
        return await self.reader.refresh_guest(guest.node, guest.type, guest.vmid, force=force)

    def cached_guest_series(self, guest) -> RrdSeries | None:
        if self.reader is None or guest is None:
            return None
        return self.reader.guests.get(f"{guest.type}/{guest.vmid}")

    async def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
