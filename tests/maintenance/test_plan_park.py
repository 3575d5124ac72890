"""Parking in a rolling run (plan_park.py), the planner alone: guests go to upgraded nodes
and stay; HA rules still decide; the first node's guests go to the node maintained last."""

from dataclasses import replace

from console.maintenance.plan_park import Rolling, rolling_spot
from console.maintenance.planner import make_plan
from console.maintenance.runner import rolling_order
from console.model import Guest, HaRule, Node
from tests.maintenance.test_planner import CLUSTER, G, pve


def _guests():
    return [Guest(200, "mail", "lxc", "pve2", "running", maxmem=2 * G, ha_state="started"),
            Guest(201, "db", "lxc", "pve2", "running", maxmem=2 * G, ha_state="started"),
            Guest(122, "vm", "qemu", "pve2", "running", maxmem=4 * G),
            Guest(123, "ct", "lxc", "pve2", "running", maxmem=1 * G),
            Guest(101, "fw1", "qemu", "pve1", "running", maxmem=1 * G, ha_state="started"),
            Guest(102, "fw2", "qemu", "pve2", "running", maxmem=1 * G, ha_state="started")]


def _state(rules=()):
    ha = [("ct:200", "pve2"), ("ct:201", "pve2"), ("vm:101", "pve1"), ("vm:102", "pve2")]
    return replace(pve(_guests(), ha=ha), ha_rules=tuple(rules))


def test_rank_prefers_upgraded_nodes_then_the_one_maintained_last():
    spot = rolling_spot(["pve1", "pve2", "pve3", "pve4"], ["pve1"], "pve2", ["pve1", "pve2", "pve3", "pve4", "pve5"])
    assert spot.upgraded == frozenset({"pve1", "pve5"}) and spot.later == ("pve3", "pve4")
    assert sorted(["pve3", "pve4", "pve1", "pve5"], key=spot.rank)[:2] == ["pve1", "pve5"]
    assert spot.rank("pve4") < spot.rank("pve3")


def test_guests_park_on_the_upgraded_node_and_stay():
    plan = make_plan("pve2", _state(), CLUSTER, rolling=Rolling(frozenset({"pve3"}), ("pve1",)))
    assert plan.ok and plan.park, plan.problems
    where = {m.vmid: m.target for m in plan.moves}
    assert where == {200: "pve3", 201: "pve3", 122: "pve3", 123: "pve3", 102: "pve3"}
    assert not any(m.returns for m in plan.moves)
    assert "guests stay where they go" in plan.text()
    # the same node outside a rolling run: every guest comes back, spread by free memory
    alone = make_plan("pve2", _state(), CLUSTER)
    assert all(m.returns for m in alone.moves) and not alone.park


def test_ha_rules_still_decide_and_a_preferred_node_brings_its_guest_back():
    rules = [HaRule("apart", "resource-affinity", ("vm:101", "vm:102"), affinity="negative"),
             HaRule("db-prefers-pve2", "node-affinity", ("ct:201",), nodes=(("pve2", 2), ("pve1", 1)))]
    plan = make_plan("pve2", _state(rules), CLUSTER, rolling=Rolling(frozenset({"pve1"}), ("pve3",)))
    moves = {m.vmid: m for m in plan.moves}
    assert moves[102].target == "pve3"  # apart from fw1 on pve1, although pve1 is upgraded
    assert moves[201].target == "pve1" and moves[201].returns  # its rule prefers pve2: back at rejoin
    assert moves[200].target == "pve1" and not moves[200].returns
    assert "back to this node when it rejoins (their HA rules prefer it and failback is on" in plan.text()
    assert plan.text().rstrip().count("CT 201 db") >= 1
    # failback off on ct:201 (PVE 9): the CRM leaves it on pve1, so it stays where the run put it
    state = _state(rules)
    state = replace(state, guests=tuple(replace(g, ha_failback=g.vmid != 201) for g in state.guests))
    moves = {m.vmid: m for m in make_plan("pve2", state, CLUSTER, rolling=Rolling(frozenset({"pve1"}),
                                                                                  ("pve3",))).moves}
    assert moves[201].target == "pve1" and not moves[201].returns


def test_guests_that_fit_only_on_a_later_node_go_there():
    nodes = (Node("pve1", "online", maxmem=16 * G, mem=15 * G, pve_version="8.2.4"),
             Node("pve2", "online", maxmem=16 * G, mem=4 * G, pve_version="8.2.4"),
             Node("pve3", "online", maxmem=16 * G, mem=4 * G, pve_version="8.2.4"))
    state = replace(_state(), nodes=nodes)
    plan = make_plan("pve2", state, CLUSTER, rolling=Rolling(frozenset({"pve1"}), ("pve3",)))
    where = {m.vmid: m.target for m in plan.moves}
    assert where[122] == "pve3" and where[123] == "pve1", where  # the 4 GiB VM does not fit on pve1
    text = plan.text()
    assert "move again at its turn: " in text and "VM 122 vm (pve3)" in text and "CT 123 ct (pve1)" not in text


def test_rolling_order_starts_with_the_node_with_fewest_containers():
    state = pve(_guests() + [Guest(300, "a", "qemu", "pve3", "running", maxmem=G),
                             Guest(301, "b", "qemu", "pve3", "running", maxmem=G),
                             Guest(302, "c", "lxc", "pve1", "running", maxmem=G)])
    assert rolling_order(state) == ["pve3", "pve1", "pve2"]  # 0 CTs (2 guests), 1 CT, 3 CTs
