"""A guest whose only backup copy lies on a node-local storage of a node that cannot be read
(it is rebooting, the guest migrated away before) is "unknown", never "never backed up":
a maintenance run must not page for backups it cannot see."""

from __future__ import annotations

import console.ops.backups as backups
from console.errors import ConsoleError
from console.health_backups import backup_rules
from console.incident_graph import Graph, entity_of
from console.ops.guests import GuestRef, NodeRef

NOW = 1_000_000.0


class FakeOps:
    """The PVE reads backup_report makes: one job to the node-local storage `local`. `failing`:
    (node, storage) pairs whose reads fail as a node going down for its reboot fails them."""

    def __init__(self, failing=(), shared=()):
        self.failing = set(failing)
        self.shared = set(shared)

    async def backup_jobs(self):
        return [{"id": "weekly-local", "storage": "local", "vmid": "121,200", "enabled": 1}]

    async def not_backed_up(self):
        return []

    async def cluster_tasks(self):
        return []

    async def storages(self, node, content):
        if (node, None) in self.failing:
            raise ConsoleError("proxmox", f"/nodes/{node}/storage: 595 No route to host")
        return [{"storage": "local", "type": "dir", "shared": 0},
                *({"storage": s, "type": "pbs", "shared": 1} for s in sorted(self.shared))]

    async def storage_content(self, node, storage, content):
        if (node, storage) in self.failing:
            raise ConsoleError("proxmox", f"/nodes/{node}/storage/{storage}/content: 595 No route to host")
        if storage in self.shared:
            return []
        # pve2's local storage holds 200's copy; 121's copy is on pve1 (unread)
        return [{"vmid": 200, "volid": "local:backup/vzdump-lxc-200.tar.zst", "ctime": int(NOW) - 3600}] \
            if node == "pve2" else []


def _report(monkeypatch, pve1_online: bool, ops: FakeOps | None = None, full: bool = False):
    async def guests(_sources):
        return [GuestRef(121, "swarm1", "qemu", "pve2", "running"), GuestRef(200, "mail", "lxc", "pve2", "running")]

    async def nodes(_sources):
        return [NodeRef("pve1", pve1_online, 0, 0), NodeRef("pve2", True, 0, 0)]

    monkeypatch.setattr(backups, "pve", lambda _sources: ops or FakeOps())
    monkeypatch.setattr(backups, "list_guests", guests)
    monkeypatch.setattr(backups, "list_nodes", nodes)
    import asyncio

    rep = asyncio.run(backups.backup_report(object(), now=NOW))
    return rep if full else {g.vmid: g.state for g in rep.guests}


def test_a_copy_on_an_unread_nodes_local_storage_is_unknown_not_never(monkeypatch):
    assert _report(monkeypatch, pve1_online=False) == {121: "unknown", 200: "fresh"}


def test_with_every_node_read_a_missing_copy_is_never(monkeypatch):
    assert _report(monkeypatch, pve1_online=True) == {121: "never", 200: "fresh"}


def test_a_node_listed_online_whose_storage_read_fails_is_unread_too(monkeypatch):
    """pve1 still online in /nodes while its API already fails (going down for its reboot): 121's
    copy may be there, so it is unknown, and the failure is said once, about pve1."""
    for failing in ([("pve1", "local")], [("pve1", None)]):
        rep = _report(monkeypatch, True, FakeOps(failing), full=True)
        assert {g.vmid: g.state for g in rep.guests} == {121: "unknown", 200: "fresh"}, failing
        assert list(rep.errors) == ["pve1"] and "595 No route to host" in rep.errors["pve1"][0]
        assert rep.exit_code() == 1
        found = [f for f in backup_rules(rep)]
        assert [(f.severity, f.subject) for f in found] == [("unknown", "pve1")]
        assert found[0].text.startswith("backup storage not readable on pve1: ")
        graph = Graph()
        graph.node_names.add("pve1")
        assert entity_of(found[0], graph) == ("node", "pve1")  # pve1's maintenance or outage explains it


def test_a_shared_storage_one_node_cannot_read_is_read_through_another(monkeypatch):
    rep = _report(monkeypatch, True, FakeOps([("pve1", "pbs")], shared={"pbs"}), full=True)
    assert rep.errors == {} and {g.vmid: g.state for g in rep.guests} == {121: "never", 200: "fresh"}
    rep = _report(monkeypatch, True, FakeOps([("pve1", "pbs"), ("pve2", "pbs")], shared={"pbs"}), full=True)
    assert list(rep.errors) == ["pve2"] and rep.errors["pve2"][0].startswith("pbs: ")
