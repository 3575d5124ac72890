"""The guest-agent routes, called once each by the PVE conformance test (tests/sim/test_pve_conformance.py)."""

from __future__ import annotations

import asyncio
from typing import Any


async def walk_agent(rec: Any, world: Any) -> None:
    vm = next(g for g in world.guests.values() if g.type == "qemu" and g.name.startswith("swarm")
              and world.guest_available(g))
    base = f"/nodes/{vm.node}/qemu/{vm.vmid}/agent"
    await rec.call("POST", "/nodes/{node}/qemu/{vmid}/agent/ping", f"{base}/ping")
    started = await rec.call("POST", "/nodes/{node}/qemu/{vmid}/agent/exec", f"{base}/exec",
                             command="apt-get")  # one word: its answer (E: No operation) is beside the point
    for _ in range(100):
        st = await rec.call("GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status", f"{base}/exec-status",
                            pid=started["pid"])
        if st["exited"]:
            break
        await asyncio.sleep(0.02)
    assert st["exited"] and st["exitcode"] == 100, st
