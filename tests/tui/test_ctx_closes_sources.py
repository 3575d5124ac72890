"""`:ctx` and quit close every source of the cluster left (console/sources/base.py: Source):
its Proxmox, Docker and Traefik sessions and the SSH pool, against the simulated lab."""

from __future__ import annotations

import asyncio
import os
import time

from console.app import ConsoleApp
from console.config import load_config
from console.layers import REPORT_NAMES, SOURCE_NAMES
from console.sources import build_hub


def open_sockets() -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # closed meanwhile
            pass
    return n


async def sockets_after_settling(limit: int, within: float = 8.0) -> int:
    """Open sockets once calls still in flight at close() have ended (each within the source
    timeout): a socket that stays open past that is a leak."""
    deadline = time.monotonic() + within
    while open_sockets() > limit and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return open_sockets()


def counting(built, closed: list[str]):
    """Record each source's close() (and the SSH pool's) while still calling the real one."""
    sources = built[1].sources
    for name, src in sources.by_name.items():
        real = src.close

        async def close(real=real, name=name):
            closed.append(name)
            await real()
        src.close = close
    real_ssh = sources.ssh.close

    async def close_ssh():
        closed.append("ssh")
        await real_ssh()
    sources.ssh.close = close_ssh
    return built


async def test_ctx_switch_and_quit_close_every_source_and_leave_no_socket_open(seed_sim):
    config = load_config(seed_sim.config_path)
    closed: list[str] = []
    builds = []

    def factory(cluster):
        builds.append(counting(build_hub(cluster, read_only=True), closed))
        return builds[-1]

    app = ConsoleApp(config, None, factory, start_polling=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        before = open_sockets()
        snaps = await app.hub.poll_all_once()
        assert {n: s.error for n, s in snaps.items()} == {n: None for n in (*SOURCE_NAMES, *REPORT_NAMES)}
        assert open_sockets() > before  # the sources hold connections (keep-alive, SSH)
        await app.switch_cluster(config.cluster(None).name)
        await pilot.pause()
        assert sorted(closed) == sorted([*SOURCE_NAMES, "ssh"])
        assert await sockets_after_settling(before) <= before, "a session of the cluster left stays open"
        await app.hub.poll_all_once()  # the new cluster's sources connect
        closed.clear()
    assert len(builds) == 2 and sorted(closed) == sorted([*SOURCE_NAMES, "ssh"])
    assert await sockets_after_settling(before) <= before
