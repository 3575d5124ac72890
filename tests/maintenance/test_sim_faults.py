"""A fault injected at each stage of a maintenance: the run stops at the first sign of
trouble with every guest still running, and a rollback leaves the lab as it was
(guests home, no Ceph flag, no HA maintenance, swarm active, one VIP holder)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from tests.maintenance.conftest import (Maint, guests_by_vmid, noout_on, not_upgraded, problems_after,
                                         running_elsewhere)


@dataclass(frozen=True)
class Fault:
    name: str
    node: str
    at: tuple[str, str] | None  # (event kind, step) when the fault is injected; None: before the run
    inject: Callable
    fails_at: str  # the step that must fail
    drained: bool  # at the stop, no guest is left on the node
    noout: bool  # at the stop, noout is set (the node's OSD is, or may be, down)
    clear: Callable | None = None  # what the operator fixes before rolling back (None: nothing)
    zfs: bool = True  # False: no root snapshot, the rollback downgrades the recorded packages


FAULTS = [
    Fault("api-errors-during-migration", "pve1", ("step-started", "D4"),
          lambda lab: lab.control("error-rate", "pve", 1.0), "D4", drained=False, noout=False,
          clear=lambda lab: lab.clear("error-rate")),
    Fault("apt-failure", "pve2", None, lambda lab: lab.control("apt-fail", "pve2"), "U1",
          drained=True, noout=True),
    Fault("node-not-back-from-reboot", "pve1", ("step-started", "U2"),
          lambda lab: lab.control("no-return", "pve1"), "U2", drained=True, noout=True,
          clear=lambda lab: lab.clear("no-return", "pve1")),
    Fault("new-kernel-fails-verification", "pve2", None, lambda lab: lab.control("bad-kernel", "pve2"), "V2",
          drained=True, noout=True),
    Fault("new-kernel-fails-verification-no-zfs", "pve2", None, lambda lab: lab.control("bad-kernel", "pve2"),
          "V2", drained=True, noout=True, zfs=False),
    Fault("osd-not-coming-up", "pve3", ("step-started", "U2"), lambda lab: lab.control("osd-stuck", "2"), "V4",
          drained=True, noout=True, clear=lambda lab: lab.control("osd-up", "2")),
    # the fault stays on through the rollback: the failed D1 restored fw1's track file at once
    Fault("vip-not-moving", "pve1", None, lambda lab: lab.control("vip-stuck"), "D1", drained=False, noout=False),
]
STAYS = {"pve3": {111}}  # jellyfin has a PCI device: it cannot leave pve3


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_fault_stops_safe_then_rolls_back(lab, fault):
    before = await guests_by_vmid(lab)
    async with Maint(lab, root_dataset=None if fault.zfs else "") as m:
        if fault.at is None:
            fault.inject(lab)
        else:
            m.on(*fault.at, lambda: fault.inject(lab))
        run = m.start([fault.node])
        state = await run.run()
        assert state == "failed", f"{fault.name}: {state}\n{m.transcript()}"
        failed = [e.step for e in m.events if e.kind == "step-failed"]
        assert failed == [fault.fails_at], m.transcript()
        waiting = m.events[-1]
        assert waiting.kind == "waiting" and "rollback" in waiting.choices

        # stopped safe: every guest that ran still runs; a drained node holds none of them
        if fault.clear is not None and fault.name.startswith("api"):
            fault.clear(lab)  # the lab is unreadable while the API fails
        stays = STAYS.get(fault.node, set())
        problems = await running_elsewhere(lab, before, fault.node, stays)
        if not fault.drained:
            problems = [p for p in problems if "still on" not in p]
        assert problems == [], f"{fault.name}: not safe at the stop: {problems}"
        assert noout_on(lab, fault.node) == fault.noout
        assert "noout" not in lab.state()["ceph"]["flags"]  # only the node's group: not cluster-wide
        if fault.name == "vip-not-moving":  # the VIP went straight back to the old master
            lab.wait_until(lambda st: st["vrrp"]["vip_holder"] == ["fw1"], timeout=10)

        if fault.clear is not None:
            fault.clear(lab)
        assert await run.rollback() == "rolled_back", f"{fault.name}: {m.failures()}\n{m.transcript()}"
    assert await problems_after(lab, before) == []
    assert not_upgraded(lab, fault.node), lab.state()["nodes"][fault.node]
    assert not lab.state()["nodes"][fault.node]["verify_failed"]
    texts = [e.text or "" for e in m.events if e.kind == "progress"]
    upgrading = [s.id for s in run.engine.steps].index(fault.fails_at) > [s.id for s in run.engine.steps].index("U0")
    if fault.zfs and upgrading:
        assert any(t.startswith("zfs snapshot rpool/ROOT/pve-1@labconsole-") for t in texts)
    elif not fault.zfs:  # downgraded; the new kernel stays installed, so the old one is pinned for good
        assert not any(t.startswith("zfs ") for t in texts)
        assert any(t.startswith("downgrading 11 packages") for t in texts), texts
        assert f"proxmox-boot-tool kernel pin 6.8.12-4-pve; rebooting" in texts
    undone = [e.step for e in m.events if e.kind == "undo-done"]
    assert undone and undone == sorted(undone, key=[s.id for s in run.engine.steps].index, reverse=True)


@pytest.mark.slow
async def test_flaky_api_is_ridden_out_or_stopped_safe_then_retried(lab):
    """One Proxmox API request in eight fails for the whole run: reads are tried again; a failed
    write stops the run safely, and `retry` (what the operator would choose) carries on."""
    before = await guests_by_vmid(lab)
    lab.control("error-rate", "pve", 0.125)
    async with Maint(lab) as m:
        run = m.start(["pve1"])
        state = await run.run()
        retries = 0
        while state == "failed" and retries < 8:
            assert "retry" in m.events[-1].choices
            retries += 1
            state = await run.retry()
        assert state == "done", f"{state} after {retries} retries: {m.failures()}"
    lab.clear("error-rate")
    assert await problems_after(lab, before) == []
    assert lab.state()["nodes"]["pve1"]["upgradable"] == 0


@pytest.mark.slow
async def test_rollback_that_fails_keeps_guests_safe_and_can_be_run_again(lab):
    """The new kernel fails verification; during the rollback the node does not come back
    from its reboot: the rollback stops (needs attention) with every guest running
    elsewhere; once the node is up again a second rollback finishes the job."""
    before = await guests_by_vmid(lab)
    lab.control("bad-kernel", "pve1")
    async with Maint(lab) as m:
        run = m.start(["pve1"])
        assert await run.run() == "failed"
        lab.control("no-return", "pve1")
        assert await run.rollback() == "rollback_failed", m.transcript()
        assert [e.step for e in m.events if e.kind == "undo-failed"] == ["U2"]
        assert await running_elsewhere(lab, before, "pve1") == []
        assert noout_on(lab, "pve1")  # the drain below U2 is still in place
        lab.clear("no-return", "pve1")
        assert await run.rollback() == "rolled_back", m.transcript()
    assert await problems_after(lab, before) == []
    assert not_upgraded(lab, "pve1")
