"""What maintenance steps drive: the cluster's live sources, the plan, and waits.

Steps never talk to a protocol directly; they go through the same Sources
the console polls with, so the read-only guard and the error handling are
the same everywhere.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from console.config_model import ClusterConfig
from console.errors import ConsoleError, ReadOnlyError
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.planner import Plan


@dataclass
class MaintenanceServices:
    cluster: ClusterConfig
    sources: Any  # console.sources.Sources
    plans: dict[str, Plan] = field(default_factory=dict)
    poll: float = 1.0  # seconds between checks while waiting
    scale: float = 1.0  # multiply timeouts (tests against a fast sim use < 1)
    writable: bool = True  # False: planning only

    def __post_init__(self) -> None:
        if self.writable and self.sources.read_only:
            raise ReadOnlyError("node maintenance", self.cluster.name)

    # ------------------------------------------------------------ sources
    def src(self, name: str) -> Any:
        s = self.sources.get(name)
        if s is None:
            raise ConsoleError(name, "not configured for this cluster")
        return s

    def has(self, name: str) -> bool:
        return self.sources.get(name) is not None

    @property
    def ssh(self):
        return self.sources.ssh

    async def pve(self):
        return await self.src("proxmox").fetch()

    async def ceph(self):
        return await self.src("ceph").fetch()

    async def swarm(self):
        return await self.src("swarm").fetch()

    async def vrrp(self):
        return await self.src("vrrp").fetch()

    async def sh(self, node: str, command: str, timeout: float = 120.0, check: bool = True):
        """Run a command on a PVE node over SSH; a non-zero exit is a StepFailed."""
        r = await self.ssh.run(node, command, timeout=timeout)
        if check and r.exit_status != 0:
            err = (r.stderr or r.stdout).strip().splitlines()
            raise StepFailed(node, f"`{command}` exited {r.exit_status}: {err[-1] if err else 'no output'}")
        return r

    def plan(self, node: str) -> Plan:
        p = self.plans.get(node)
        if p is None:
            raise ConsoleError("maintenance", f"no plan for {node}")
        return p

    def timeout(self, seconds: float) -> float:
        return seconds * self.scale

    # ------------------------------------------------------------ waiting
    async def wait_for(self, ctx: StepContext, what: str, probe: Callable[[], Awaitable[str | None]],
                       timeout: float) -> None:
        """Call `probe` until it returns None (done); it returns a status text while waiting.
        Transient source errors while waiting (a node rebooting) are reported, not fatal."""
        deadline = time.monotonic() + self.timeout(timeout)
        last = None
        while True:
            try:
                status = await probe()
            except ConsoleError as exc:
                status = f"({exc.message})"
            if status is None:
                return
            if status != last:
                ctx.progress(f"waiting: {what}: {status}")
                last = status
            if time.monotonic() > deadline:
                raise StepFailed(ctx.step_id or "?", f"timed out after {self.timeout(timeout):.0f} s waiting: "
                                 f"{what} ({status})")
            await asyncio.sleep(self.poll)

    async def wait_task(self, ctx: StepContext, node: str, upid: str, what: str, timeout: float) -> None:
        pve = self.src("proxmox")
        status = await pve.wait_task(node, upid, self.timeout(timeout), on_line=ctx.progress)
        if status != "OK":
            raise StepFailed(ctx.step_id or "?", f"{what}: task ended with {status!r}")
