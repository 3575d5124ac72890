"""Which items of an upgrade-everything run start now (console/upgrade/everything_lanes.py),
decided from the run's state and one read of where the guests are: the node lane one
node at a time with the firewall pair alongside the nodes that hold no firewall; a guest
only on a node that is upgraded and stays so, never two Swarm VMs, at most MAX_GUESTS;
the Swarm images once the nodes and the Swarm VMs are done."""

from __future__ import annotations

from types import SimpleNamespace as NS

from console.upgrade.everything_lanes import MAX_GUESTS, Lanes, lane_of

ORDER = ["firewalls", "pve3", "pve1", "pve2", "200/mail", "201/db", "112/backup-server", "121/swarm1",
         "122/swarm2", "123/swarm3", "service:grafana"]
SWARM = {121, 122, 123}
FIREWALLS = {101, 102}
SEED = {101: "pve1", 102: "pve2", 112: "pve2", 121: "pve1", 122: "pve2", 123: "pve3", 200: "pve1", 201: "pve2"}


def pve(where: dict[int, str] | None = None, **changes: dict) -> NS:
    where = {**SEED, **(where or {})}
    return NS(guests=[NS(**{"vmid": v, "node": n, "status": "running", "lock": None, **changes.get(str(v), {})})
                      for v, n in where.items()])


def plan(*returning: int, swarm_drain: bool = False) -> NS:
    return NS(moves=[NS(vmid=v, target="pve3", returns=True) for v in returning], swarm_drain=swarm_drain)


def lanes(done=(), running=(), plans=None, pinned=()) -> Lanes:
    return Lanes(ORDER, done, running, SWARM, plans or {}, FIREWALLS, set(pinned))


def test_lanes_of_the_items():
    assert [lane_of(i) for i in ("firewalls", "pve1", "200/mail", "service:grafana")] == [
        "nodes", "nodes", "guests", "services"]


def test_the_pair_starts_alongside_the_first_node_when_it_holds_no_firewall():
    assert lanes().startable(pve()) == ["firewalls", "pve3"]
    # a first node holding a firewall waits for the pair (its drain would move a VIP, P7 checks the peer)
    assert lanes().startable(pve({101: "pve3"})) == ["firewalls"]
    assert lanes(running=["firewalls", "pve3"], done=()).startable(pve()) == []  # one node at a time
    after_pve3 = pve({123: "pve2"})  # pve3's Swarm VM parked on the last node
    assert lanes(done=["pve3"], running=["firewalls"]).startable(after_pve3) == []  # pve1 holds fw1


def test_no_guest_starts_on_a_node_still_to_be_drained():
    # nothing upgraded yet: every guest sits on a node still to come
    assert lanes(done=["firewalls"], running=["pve3"], plans={"pve3": plan()}).startable(pve()) == []
    # pve3 done, pve1 drained: mail and swarm1 sit on pve3 now, the rest still on pve2
    moved = pve({200: "pve3", 121: "pve3", 123: "pve2"})
    got = lanes(done=["firewalls", "pve3"], running=["pve1"], plans={"pve1": plan()}).startable(moved)
    assert got == ["121/swarm1", "200/mail"], got  # the Swarm VM first: Swarm VMs go one at a time
    # swarm1 sharing pve3 with swarm3: the last node's R2 may spread them (return_guests.spread_managers)
    shared = pve({200: "pve3", 121: "pve3"})
    got = lanes(done=["firewalls", "pve3"], running=["pve1"], plans={"pve1": plan()}).startable(shared)
    assert got == ["200/mail"], got
    assert "121/swarm1" in lanes(done=["firewalls", "pve3", "pve1", "pve2"]).startable(shared)  # nodes over


def test_a_guest_moving_or_stopped_or_coming_back_waits():
    at_pve3 = {200: "pve3", 121: "pve3", 123: "pve2"}  # swarm1 the only Swarm VM on pve3
    base = {"done": ["firewalls", "pve3"], "running": ["pve1"]}
    assert lanes(**base, plans={"pve1": plan()}).startable(pve(at_pve3, **{"200": {"lock": "migrate"}})) == [
        "121/swarm1"]
    assert lanes(**base, plans={"pve1": plan()}).startable(pve(at_pve3, **{"200": {"status": "stopped"}})) == [
        "121/swarm1"]
    # HA maintenance took mail away and brings it back at pve1's rejoin: not upgraded in between
    assert lanes(**base, plans={"pve1": plan(200)}).startable(pve(at_pve3)) == ["121/swarm1"]
    # the running node has no plan yet: its P0 plans from the memory in use, so no guest restarts meanwhile
    assert lanes(**base).startable(pve(at_pve3)) == []
    assert lanes(**base, pinned={121}).startable(pve({200: "pve3", 122: "pve3", 121: "pve1"})) == []
    assert lanes(**base, plans={"pve1": plan(swarm_drain=True)}).startable(pve(at_pve3)) == ["200/mail"]


def test_never_two_swarm_vms_and_at_most_max_guests():
    on_done = pve({v: "pve3" for v in (112, 121, 122, 123, 200, 201)})
    everything_done = ["firewalls", "pve3", "pve1", "pve2"]
    got = lanes(done=everything_done).startable(on_done)
    assert len([i for i in got if lane_of(i) == "guests"]) == MAX_GUESTS == 2
    assert got == ["121/swarm1", "200/mail"], got
    got = lanes(done=everything_done, running=["122/swarm2"]).startable(on_done)
    assert got == ["200/mail"], got  # a Swarm VM runs: the next guest is not one
    # a node whose drain would stop its Swarm VM does not start while a Swarm VM is upgraded
    busy = lanes(done=["firewalls", "pve3"], running=["123/swarm3"], pinned={121})
    assert busy.startable(pve({123: "pve3", 200: "pve3"})) == ["200/mail"]  # pve1 holds swarm1
    # nor does any node while a guest upgrade runs (its P0 reads the memory in use)
    assert lanes(done=["firewalls", "pve3"], running=["123/swarm3"]).startable(pve({123: "pve3", 200: "pve3"})) == [
        "200/mail"]
    assert lanes(done=["firewalls", "pve3"]).startable(pve({123: "pve3", 200: "pve3"})) == ["pve1"]


def test_swarm_images_last_and_a_never_eligible_guest_still_starts_to_say_why():
    done = ["firewalls", "pve3", "pve1", "pve2", "121/swarm1", "122/swarm2", "200/mail", "201/db",
            "112/backup-server"]
    # swarm3 is stopped: it starts anyway once nothing else runs (its preflight refuses with the reason)
    stopped = pve({123: "pve3"}, **{"123": {"status": "stopped"}})
    assert lanes(done=done).startable(stopped) == ["123/swarm3"]
    assert lanes(done=done, running=["123/swarm3"]).startable(stopped) == []  # the images wait for it
    assert lanes(done=[*done, "123/swarm3"]).startable(stopped) == ["service:grafana"]


def test_a_swarm_vm_waits_while_a_drain_is_still_moving_another_onto_its_node():
    # pve2's drain parks swarm2 and swarm3 on pve1; swarm2 is there, swarm3 still migrating: the last
    # node's R2 will spread them (swarm2 may go back to pve2), so swarm2 is not upgraded meanwhile
    drain = NS(moves=[NS(vmid=122, target="pve1", returns=False), NS(vmid=123, target="pve1", returns=False)],
               swarm_drain=False)
    where = pve({121: "pve3", 122: "pve1", 123: "pve2", 200: "pve3"}, **{"123": {"lock": "migrate"}})
    done = ["firewalls", "pve3", "pve1", "121/swarm1"]
    assert lanes(done=done, running=["pve2"], plans={"pve2": drain}).startable(where) == ["200/mail"]
    alone = NS(moves=[NS(vmid=122, target="pve1", returns=False), NS(vmid=123, target="pve3", returns=False)],
               swarm_drain=False)
    assert lanes(done=done, running=["pve2"], plans={"pve2": alone}).startable(where) == ["122/swarm2", "200/mail"]
