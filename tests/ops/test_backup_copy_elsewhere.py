"""A guest whose only backup copy lies on a node-local storage of a node that cannot be read
(it is rebooting, the guest migrated away before) is "unknown", never "never backed up":
a maintenance run must not page for backups it cannot see."""

from __future__ import annotations

import console.ops.backups as backups
from console.ops.guests import GuestRef, NodeRef

NOW = 1_000_000.0


class FakeOps:
    """The PVE reads backup_report makes: one job to the node-local storage `local`."""

    async def backup_jobs(self):
        return [{"id": "weekly-local", "storage": "local", "vmid": "121,200", "enabled": 1}]

    async def not_backed_up(self):
        return []

    async def cluster_tasks(self):
        return []

    async def storages(self, node, content):
        return [{"storage": "local", "type": "dir", "shared": 0}]

    async def storage_content(self, node, storage, content):
        # pve2's local storage holds 200's copy; 121's copy is on pve1 (unread)
        return [{"vmid": 200, "volid": "local:backup/vzdump-lxc-200.tar.zst", "ctime": int(NOW) - 3600}] \
            if node == "pve2" else []


def _report(monkeypatch, pve1_online: bool):
    async def guests(_sources):
        return [GuestRef(121, "swarm1", "qemu", "pve2", "running"), GuestRef(200, "mail", "lxc", "pve2", "running")]

    async def nodes(_sources):
        return [NodeRef("pve1", pve1_online, 0, 0), NodeRef("pve2", True, 0, 0)]

    monkeypatch.setattr(backups, "pve", lambda _sources: FakeOps())
    monkeypatch.setattr(backups, "list_guests", guests)
    monkeypatch.setattr(backups, "list_nodes", nodes)
    import asyncio

    rep = asyncio.run(backups.backup_report(object(), now=NOW))
    return {g.vmid: g.state for g in rep.guests}


def test_a_copy_on_an_unread_nodes_local_storage_is_unknown_not_never(monkeypatch):
    assert _report(monkeypatch, pve1_online=False) == {121: "unknown", 200: "fresh"}


def test_with_every_node_read_a_missing_copy_is_never(monkeypatch):
    assert _report(monkeypatch, pve1_online=True) == {121: "never", 200: "fresh"}
