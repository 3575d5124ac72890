"""The end report's service-seconds as the console saw them: sampled from the run's own reads."""

from __future__ import annotations

import asyncio

from console.maintenance.observed import AvailabilityWatch
from console.model import Guest, ProxmoxState, SwarmService, SwarmState


class Services:
    def __init__(self) -> None:
        self.mail_running = True
        self.web_running = 2

    async def pve(self) -> ProxmoxState:
        mail = Guest(201, "mail", "lxc", "pve1", "running" if self.mail_running else "stopped")
        db = Guest(202, "db", "lxc", "pve1", "running")
        return ProxmoxState("lab", True, 3, 3, (), (mail, db))

    def has(self, name: str) -> bool:
        return name == "swarm"

    async def swarm(self) -> SwarmState:
        web = SwarmService("s1", "web", "replicated", self.web_running, 2, "nginx:1")
        return SwarmState((), (web,), (), None)


async def test_counts_what_it_saw_down_and_nothing_else():
    svc = Services()
    watch = AvailabilityWatch(svc, interval=0.05)
    await watch.start()
    await asyncio.sleep(0.12)
    svc.mail_running, svc.web_running = False, 0
    await asyncio.sleep(0.3)
    svc.mail_running, svc.web_running = True, 2
    await asyncio.sleep(0.12)
    await watch.stop()
    assert set(watch.guests) == {"mail (201)"} and 0.15 < watch.guests["mail (201)"] < 0.6
    assert set(watch.services) == {"web"} and 0.15 < watch.services["web"] < 0.6
    line = watch.lines()[0]
    assert "as the console saw them" in line and "mail (201)" in line and "service web" in line
    assert "db" not in line


async def test_a_quiet_run_says_none_and_broken_reads_never_stop_it():
    class Broken:
        async def pve(self):
            raise RuntimeError("no answer")

    watch = AvailabilityWatch(Broken(), interval=0.02)
    await watch.start()
    await asyncio.sleep(0.08)
    await watch.stop()
    assert watch.samples >= 1 and watch.lines()[0].endswith(": none")
