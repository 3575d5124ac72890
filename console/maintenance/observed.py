"""Service-seconds lost during a run, as the console saw them (for the end report).

While a run applies, the watch reads the guests and Swarm services every few
seconds through the run's own services and adds up, per guest that was running
when the run started, the time it was seen not running, and per Swarm service
the time it had no running task. A sample is an observation, not a proof: the
figure is as fine as the interval (said in the report)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from console.inert import cap


class AvailabilityWatch:
    def __init__(self, svc: Any, interval: float = 2.0) -> None:
        self.svc = svc
        self.interval = interval
        self.guests: dict[str, float] = {}  # "name (vmid)" -> seconds seen down
        self.services: dict[str, float] = {}  # swarm service -> seconds with no running task
        self._running_at_start: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self.samples = 0

    async def start(self) -> None:
        try:
            pve = await self.svc.pve()
            self._running_at_start = {g.vmid for g in pve.guests if g.status == "running" and not g.template}
        except Exception:  # noqa: BLE001 - an observation must never stop the run it watches
            self._running_at_start = set()
        self._task = asyncio.create_task(self._loop(), name="maintenance-availability")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            elapsed, last = now - last, now
            await self._sample(elapsed)

    async def _sample(self, elapsed: float) -> None:
        self.samples += 1
        try:
            pve = await self.svc.pve()
            for g in pve.guests:
                if g.vmid in self._running_at_start and g.status != "running":
                    key = f"{cap(g.name, 40)} ({g.vmid})"
                    self.guests[key] = self.guests.get(key, 0.0) + elapsed
        except Exception:  # noqa: BLE001 - a failed read is no observation
            pass
        has = getattr(self.svc, "has", None)
        if has is None or not has("swarm"):
            return
        try:
            swarm = await self.svc.swarm()
            for s in swarm.services:
                if s.replicas_desired and s.replicas_running == 0:
                    key = cap(s.name, 40)
                    self.services[key] = self.services.get(key, 0.0) + elapsed
        except Exception:  # noqa: BLE001 - a failed read is no observation
            pass

    def lines(self) -> list[str]:
        head = f"service-seconds lost as the console saw them (sampled every {self.interval:g} s):"
        if not self.samples:
            return [f"{head} the run was too short to sample"]
        lost = [f"{k} {v:.0f} s" for k, v in sorted(self.guests.items(), key=lambda kv: -kv[1])]
        lost += [f"service {k} {v:.0f} s" for k, v in sorted(self.services.items(), key=lambda kv: -kv[1])]
        return [f"{head} {', '.join(lost) if lost else 'none'}"]
