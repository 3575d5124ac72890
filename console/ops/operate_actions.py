"""The operations of issue 11 items 5-7 and 9 as Actions methods (what the TUI
calls): swarm scale/update/force-update/rollback/availability and the log
stream, VIP fail-back, Ceph flags, shells, node software. Each method is the
console.ops function on the Actions' sources: guarded (read-only refusal)
and recorded in the command log there, not here."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


class OperateActions:
    sources: Any

    # swarm
    async def swarm_service(self, ref: str):
        from console.ops import swarm

        return await swarm.find_service(self.sources, ref)

    async def swarm_scale(self, ref: str, replicas: Any, info=None):
        from console.ops import swarm

        return await swarm.scale(self.sources, ref, replicas, info=info)

    async def swarm_update(self, ref: str, image: str, info=None):
        from console.ops import swarm

        return await swarm.update_image(self.sources, ref, image, info=info)

    async def swarm_force_update(self, ref: str, info=None):
        from console.ops import swarm

        return await swarm.force_update(self.sources, ref, info=info)

    async def swarm_rollback(self, ref: str, info=None):
        from console.ops import swarm

        return await swarm.rollback(self.sources, ref, info=info)

    async def swarm_availability(self, node: str, value: str):
        from console.ops import swarm

        return await swarm.set_availability(self.sources, node, value)

    async def stream_service_logs(self, service: str, on_line: Callable[[str], None], stop: asyncio.Event,
                                  tail: int = 200) -> None:
        from console.ops import swarm

        await swarm.stream_logs(self.sources, service, on_line, stop, tail=tail)

    # firewalls
    async def vip_failback_plan(self):
        from console.ops import firewall

        src = self.sources.get("vrrp")
        if src is None:
            from console.errors import ConsoleError

            raise ConsoleError("vrrp", "not configured for this cluster")
        return firewall.plan_failback(self.sources, await src.fetch())

    async def vip_failback(self, plan=None):
        from console.ops import firewall

        return await firewall.failback(self.sources, plan=plan)

    # ceph
    async def ceph_flag(self, flag: str, on: bool):
        from console.ops import ceph_flags

        return await ceph_flags.set_flag(self.sources, flag, on)

    # shells and node software
    async def shell_plan(self, target: str):
        from console.ops import shells

        return await shells.resolve(self.sources, target)

    async def node_software(self, node: str):
        from console.ops import node_detail

        return await node_detail.node_software(self.sources, node)
