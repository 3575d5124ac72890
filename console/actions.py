"""What the operator can do from the console: every mutating call goes through
here, and the read-only guard lives here (below the UI), so every screen and
the maintenance engine inherit it."""

from __future__ import annotations

import logging

from console.errors import ConsoleError, ReadOnlyError
from console.ops.command_log import RecordingSource
from console.ops.guest_actions import GuestActions  # h-guestui: guest lifecycle, migrate, batches, snapshots
from console.ops.operate_actions import OperateActions  # h-operate2: swarm, vip, ceph flags, shells
from console.sources import Sources

log = logging.getLogger(__name__)


class Actions(OperateActions, GuestActions):
    def __init__(self, sources: Sources):
        self.sources = sources

    @property
    def read_only(self) -> bool:
        return self.sources.read_only

    @property
    def cluster_name(self) -> str:
        return self.sources.cluster.name

    def _guard(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(action, self.cluster_name)
        log.info("action on %s: %s", self.cluster_name, action)

    def _need(self, name: str):
        src = self.sources.get(name)
        if src is None:
            raise ConsoleError(name, "not configured for this cluster")
        return RecordingSource(name, src)  # writes land in the command log (console/ops/command_log.py)

    # reads that are not part of a poll
    async def service_logs(self, service: str, tail: int = 200) -> list[str]:
        return await self._need("swarm").service_logs(service, tail=tail, timestamps=True)

    # writes
    async def guest_power(self, node: str, vmid: int, kind: str, action: str) -> str:
        self._guard(f"{action} {kind} {vmid}")
        return await self._need("proxmox").guest_power(node, vmid, kind, action)

    async def migrate(self, node: str, vmid: int, kind: str, target: str) -> str:
        self._guard(f"migrate {kind} {vmid} to {target}")
        online = kind == "qemu"
        return await self._need("proxmox").migrate(node, vmid, kind, target, online=online, restart=not online)

    async def node_availability(self, node: str, availability: str) -> None:
        self._guard(f"swarm node {node} -> {availability}")
        await self._need("swarm").node_availability(node, availability)

    async def service_rollback(self, service: str) -> None:
        self._guard(f"rollback service {service}")
        await self._need("swarm").service_rollback(service)

    async def set_ceph_flag(self, flag: str, on: bool) -> None:
        self._guard(f"ceph osd {'set' if on else 'unset'} {flag}")
        await self._need("ceph").set_flag(flag, on)
