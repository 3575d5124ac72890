"""RrdReader through the real ProxmoxSource against the simulated PVE API over HTTPS."""

from __future__ import annotations

from console.sources.proxmox import ProxmoxSource
from console.sources.proxmox_rrd import RrdReader
from tests.data.test_proxmox_source import PveLab, lab  # noqa: F401  (lab is a fixture)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_node_history_is_read_every_ttl_and_moves(lab):
    src = ProxmoxSource(lab.config())
    clock = Clock()
    reader = RrdReader(src, clock=clock, node_ttl=30)
    try:
        assert await reader.refresh_nodes(["pve1", "pve2"])
        first = reader.nodes["pve2"]
        assert len(first.cpu) == 70 and all(c is None or 0 <= c <= 1 for c in first.cpu)
        assert all(m is None or 0 < m < 1 for m in first.mem) and first.net[-1] > 0
        lab.world._epoch0 += 600  # ten sim minutes later (the sim clock is epoch0 + elapsed * speed)
        assert not await reader.refresh_nodes(["pve1", "pve2"])  # within the TTL: nothing is read
        clock.now += 30
        assert await reader.refresh_nodes(["pve1", "pve2"])
        later = reader.nodes["pve2"]
        assert later.times[-1] >= first.times[-1] + 600 and later.cpu != first.cpu
        assert await reader.refresh_nodes(["pve1"], force=True) is not None and "pve2" not in reader.nodes
    finally:
        await src.close()


async def test_guest_history_on_demand_and_errors_kept_quiet(lab):
    src = ProxmoxSource(lab.config())
    reader = RrdReader(src)
    try:
        g = next(g for g in lab.world.guests.values() if g.status == "running")
        series = await reader.refresh_guest(g.node, g.type, g.vmid)
        assert series is not None and len(series.cpu) == 70 and series.disk[-1] > 0
        wrong = "lxc" if g.type == "qemu" else "qemu"
        assert await reader.refresh_guest(g.node, wrong, g.vmid) is None  # PVE's 500: no series, no exception
        assert "does not exist" in reader.errors[f"{wrong}/{g.vmid}"]
        lab.world.inject("node-down", "pve3")
        assert not await reader.refresh_nodes(["pve3"], force=True)
        assert "pve3" not in reader.nodes and "node/pve3" in reader.errors
    finally:
        await src.close()
