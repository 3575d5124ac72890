"""run_batch's limit (h-guestui): at most N items run at once, shared between batches through one gate
(the TUI's queue), each item with its progress notes and result; a guest that is not there fails alone."""

from __future__ import annotations

import asyncio

from console.config import load_config
from console.ops import guest_batch
from console.sources import build_sources


async def test_two_batches_share_one_gate_of_two(lab):
    sources = build_sources(load_config(lab.config_path).cluster(None))
    running, most, notes = set(), 0, []

    def changed(item):
        nonlocal most
        (running.add if item.state == "running" else running.discard)(item.vmid)
        most = max(most, len(running))

    try:
        gate = asyncio.Semaphore(2)
        first = [guest_batch.BatchItem(v, "reboot") for v in (121, 122, 123)]
        second = [guest_batch.BatchItem(112, "migrate", "pve3"), guest_batch.BatchItem(999, "start")]
        await asyncio.gather(
            guest_batch.run_batch(sources, first, on_change=changed, gate=gate, on_note=lambda i: notes.append(i.vmid)),
            guest_batch.run_batch(sources, second, on_change=changed, gate=gate))
    finally:
        await sources.get("proxmox").close()
    assert most == 2
    assert [i.state for i in first + second] == ["done", "done", "done", "done", "failed"]
    assert "no guest 999 in the cluster" in second[1].message
    assert set(notes) == {121, 122, 123}  # the task log lines, per item
    assert all(i.result is not None and i.result.visible_after is not None for i in first)
