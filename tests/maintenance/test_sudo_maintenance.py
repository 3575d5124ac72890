"""A whole node maintenance as an SSH user other than root: every command that
needs root goes through `sudo -n` (the sim's hosts refuse them otherwise, as
real nodes do), and the run ends done."""

from __future__ import annotations

import dataclasses

from tests.maintenance.conftest import Maint, guests_by_vmid, problems_after, upgraded


async def test_full_maintenance_as_a_sudo_user(lab):
    before = await guests_by_vmid(lab)
    async with Maint(lab) as m:
        ssh = m.cluster.ssh
        assert ssh.user == "root" or all(h.user == "root" for h in ssh.hosts)  # the sim's own config
        m.cluster = dataclasses.replace(m.cluster, ssh=dataclasses.replace(
            ssh, user="labconsole", hosts=tuple(dataclasses.replace(h, user="labconsole") for h in ssh.hosts)))
    async with m:  # sources built again, on the non-root SSH config
        assert m.sources.ssh.needs_sudo("pve2")
        state = await m.start(["pve2"]).run()
        assert state == "done", f"{state}; failures {m.failures()}\n{m.transcript()}"
    assert upgraded(lab, "pve2")
    assert await problems_after(lab, before) == []
    calls = [e.text for e in m.events if e.text and "sudo: " in e.text]
    assert calls == []  # sudo never refused or complained
