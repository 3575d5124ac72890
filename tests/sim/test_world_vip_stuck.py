"""Fault vip-stuck stops the peer taking the VIP over, not the old master taking it back;
HA guests still leaving when maintenance ends go home once their migration is done."""

from console.sim.world import World


def run(w, seconds):
    for _ in range(int(seconds * 10)):
        w.advance(0.1)


def masters(w):
    return sorted(f.name for f in w.firewalls.values() if f.state == 2)


def test_vip_stuck_blocks_the_peer_but_not_the_way_back():
    w = World("seed", speed=1.0, manual_clock=True)
    run(w, 1)
    assert masters(w) == ["fw1"]
    w.inject("vip-stuck")
    w.set_track_file("fw1", 1)
    run(w, 10)
    assert masters(w) == []  # the peer did not take over: the fault
    w.set_track_file("fw1", 0)
    run(w, 10)
    assert masters(w) == ["fw1"]  # the old master took it back


def test_ha_guest_still_leaving_returns_after_maintenance_disable():
    w = World("seed", speed=1.0, manual_clock=True)
    run(w, 1)
    home = w.guests[110].node
    w.ha_node_maintenance(home, True)
    run(w, 0.5)
    assert w.guests[110].lock  # mid-migration
    w.ha_node_maintenance(home, False)
    run(w, 60)
    assert w.guests[110].node == home and w.guests[110].status == "running" and not w.guests[110].lock
