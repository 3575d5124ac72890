"""A whole node maintenance done by hand against the World, as the engine will do it, and the
availability it costs, compared with the naive way (upgrade + reboot with no drain)."""

from __future__ import annotations

import pytest

from console.sim.world import World

ADVERT = 1.0


def wait(w: World, cond, limit: float = 300.0, step: float = 0.5) -> None:
    waited = 0.0
    while not cond():
        assert waited < limit, "condition not reached in the lab"
        w.advance(step)
        waited += step


def tasks_ok(w: World, upids: list[str]) -> bool:
    return all(not w.pve_tasks[u].running for u in upids)


async def maintain(w: World, node: str) -> None:
    others = [n for n in w.nodes if n != node]
    # D1: move the VIP away by stopping keepalived on the master if it runs here
    fw_here = [f for f in w.firewalls.values() if w.guests[f.vmid].node == node and f.state == 2]
    for f in fw_here:
        w.keepalived(f.name, False)
        wait(w, lambda: bool(w.vip_holder()))
    # D3: HA maintenance moves the HA guests
    w.ha_node_maintenance(node, True)
    wait(w, lambda: not any(g.ha and g.node == node and g.ha_state != "error" for g in w.guests.values()))
    # D4: non-HA guests that can move: live migration (VMs) / restart migration (CTs)
    origin: dict[int, str] = {}
    upids = []
    for g in sorted(w.guests.values(), key=lambda g: g.vmid):
        if g.node == node and not g.ha and not g.local_resources and g.status == "running":
            target = min(others, key=lambda n: -w.node_free_for_placement(n))
            upids.append(w.migrate(node, g.vmid, target, online=g.type == "qemu", restart=g.type == "lxc"))
            origin[g.vmid] = node
    wait(w, lambda: tasks_ok(w, upids))
    # D5 + U1 + U2
    w.set_ceph_flag("noout", True)
    assert await w.dist_upgrade(node, lambda line: None) == 0
    w.reboot_node(node)
    w.advance(1)
    wait(w, lambda: w.node_online(node) and all(o.up for o in w.osds.values()))
    assert node not in w.verify_failed and w.nodes[node].kernel == "6.8.12-5-pve"
    # R1..R4
    w.set_ceph_flag("noout", False)
    wait(w, lambda: w.ceph_health()[0] == "HEALTH_OK")
    w.ha_node_maintenance(node, False)
    back = [w.migrate(w.guests[v].node, v, node, online=w.guests[v].type == "qemu", restart=w.guests[v].type == "lxc")
            for v in origin]
    wait(w, lambda: tasks_ok(w, back) and not any(g.lock for g in w.guests.values()))
    for f in fw_here:
        w.keepalived(f.name, True)
    w.advance(5)


async def naive(w: World, node: str) -> None:
    assert await w.dist_upgrade(node, lambda line: None) == 0
    w.reboot_node(node)
    w.advance(1)
    wait(w, lambda: w.node_online(node) and w.ceph_health()[0] == "HEALTH_OK")
    w.advance(10)


@pytest.mark.parametrize("node", ["pve1", "pve2"])
async def test_maintenance_of_one_node_loses_no_vm_second(node):
    w = World("seed", speed=100_000, manual_clock=True)
    placement = {v: g.node for v, g in w.guests.items()}
    await maintain(w, node)
    assert {v: g.node for v, g in w.guests.items()} == placement  # everything went home
    assert w.nodes[node].packages["pve-manager"] == "8.2.5" and not w.nodes[node].ha_maintenance
    av = w.availability
    vms = {v: s for v, s in av.guests.items() if w.guests[v].type == "qemu"}
    assert vms == {}
    for vmid, lost in av.guests.items():  # containers: no more than their restart migrations (2 moves)
        assert w.guests[vmid].type == "lxc" and lost <= 2 * (w.duration("ct_shutdown") + w.duration("ct_move")
                                                             + w.duration("ct_start"))
    multi = {s.name for s in w.services.values() if s.mode == "global" or s.replicas >= 2}
    assert not (set(av.services) & multi)
    assert av.vip_longest_gap <= 2 * ADVERT
    assert w.ceph_health() == ("HEALTH_OK", [])
    assert all(g.status == ("running" if g.vmid in w.desired_running else "stopped") and g.lock is None
               for g in w.guests.values())


async def test_rolling_upgrade_costs_under_5_percent_of_the_naive_way():
    careful = World("seed", speed=100_000, manual_clock=True)
    for node in ("pve1", "pve2", "pve3"):
        await maintain(careful, node)
    rough = World("seed", speed=100_000, manual_clock=True)
    for node in ("pve1", "pve2", "pve3"):
        await naive(rough, node)

    def lost(w: World) -> float:
        av = w.availability
        # jellyfin (hostpci0) cannot move: it is lost either way, leave it out of the comparison
        return sum(s for v, s in av.guests.items() if v != 111) + sum(av.services.values()) + av.vip_absent

    assert all(n.kernel == "6.8.12-5-pve" for n in careful.nodes.values())
    assert lost(rough) > 100
    assert lost(careful) < 0.05 * lost(rough)
