"""The simulated PVE's HA rules: the API's refusals, and HA placement under the rules
(maintenance, fence recovery, a rule that changes) on a manual clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from console.sim import pve_ha_rules as H
from console.sim.pve_routes import PveError
from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def call(w: World, handler, **params):
    return asyncio.run(handler(SimpleNamespace(world=w, local="pve1"), params))


def refused(w: World, handler, **params) -> PveError:
    with pytest.raises(PveError) as e:
        call(w, handler, **params)
    return e.value


# -- the API ------------------------------------------------------------------


def test_seed_rules_as_the_api_lists_them(w):
    rows = {r["rule"]: r for r in call(w, H.rules_index)}
    assert rows["firewalls-apart"]["resources"] == "vm:101,vm:102"
    assert rows["firewalls-apart"]["affinity"] == "negative" and "nodes" not in rows["firewalls-apart"]
    assert rows["db-prefers-pve2"]["nodes"] == "pve2:2,pve3:1" and rows["db-prefers-pve2"]["strict"] == 0
    assert len({r["digest"] for r in rows.values()}) == 1
    assert [r["rule"] for r in call(w, H.rules_index, resource="ct:201")] == ["db-prefers-pve2"]
    assert [r["rule"] for r in call(w, H.rules_index, type="resource-affinity")] == ["firewalls-apart"]


def test_create_update_delete_and_what_pve_refuses(w):
    e = refused(w, H.rule_create, rule="x1", type="node-affinity", resources="vm:111", nodes="pve1")
    assert (e.status, e.message) == (500, "cannot use unmanaged resource(s) vm:111.")
    e = refused(w, H.rule_create, rule="x1", type="node-affinity", resources="vm:110", nodes="pve9")
    assert e.message == "cannot use non-existent node(s) pve9."
    e = refused(w, H.rule_create, rule="x1", type="node-affinity", resources="vm:110")
    assert e.status == 400 and "nodes" in e.errors
    e = refused(w, H.rule_create, rule="x1", type="resource-affinity", resources="vm:110,ct:200", nodes="pve1",
                affinity="positive")
    assert e.status == 400 and "not allowed" in e.errors["nodes"]
    e = refused(w, H.rule_create, rule="x1", type="node-affinity", resources="ct:201", nodes="pve1")
    assert (e.status, e.message) == (400, "Rule 'x1' is invalid.")  # ct:201 is in db-prefers-pve2
    assert "db-prefers-pve2" in e.errors["resources"]
    e = refused(w, H.rule_create, rule="firewalls-apart", type="resource-affinity", resources="vm:110,ct:200",
                affinity="positive")
    assert "already defined" in e.message

    call(w, H.rule_create, rule="home", type="node-affinity", resources="vm:110", nodes="pve1:2,pve3", comment="c")
    row = call(w, H.rule_read, rule="home")
    assert (row["nodes"], row["comment"], "strict" in row) == ("pve1:2,pve3", "c", False)
    e = refused(w, H.rule_update, rule="home", type="node-affinity", strict=1, digest="0" * 40)
    assert "detected modified configuration" in e.message
    call(w, H.rule_update, rule="home", type="node-affinity", strict=1, delete="comment", digest=row["digest"])
    row = call(w, H.rule_read, rule="home")
    assert (row["strict"], "comment" in row) == (1, False)
    e = refused(w, H.rule_update, rule="home", type="resource-affinity", affinity="negative")
    assert e.status == 400 and "type" in e.errors
    call(w, H.rule_delete, rule="home")
    assert refused(w, H.rule_read, rule="home").message == "no such ha rule 'home'"

    w.ha_rules_api = False  # a PVE 8 cluster
    e = refused(w, H.rules_index)
    assert (e.status, e.message) == (501, "Method 'GET /cluster/ha/rules' not implemented")
    assert [g["group"] for g in call(w, H.groups_index)] == ["db-prefers-pve2"]


# -- placement ----------------------------------------------------------------


def test_seed_maintenance_outcome_is_what_it_was_without_rules_but_the_apart_one(w):
    w.ha_node_maintenance("pve2", True)
    w.advance(15)
    assert w.guests[201].node == "pve3"  # db's second choice, and the one the usage count picks too
    assert w.guests[102].node == "pve3"  # fw2: pve1 has fw1
    w.ha_node_maintenance("pve2", False)
    w.advance(15)
    assert (w.guests[201].node, w.guests[102].node) == ("pve2", "pve2")


def test_strict_pin_keeps_the_guest_on_its_node_which_then_stops_it_at_reboot(w):
    w.inject("ha-pin", "110")
    assert w.faults_dict()["ha_pinned"] == [110]
    w.ha_node_maintenance("pve1", True)
    w.advance(15)
    assert {w.guests[v].node for v in (101, 200)} != {"pve1"}
    g = w.guests[110]
    assert (g.node, g.status, g.lock) == ("pve1", "running", None)  # PVE has nowhere to put it
    w.reboot_node("pve1")
    w.advance(8)
    assert g.status == "stopped" and g.node == "pve1"
    w.advance(120)
    assert w.node_online("pve1") and g.status == "running" and g.node == "pve1"
    assert w.availability.guests[110] > 0  # the downtime a plan has to own up to
    w.clear("ha-pin")
    assert "pin-110" not in w.ha_rules


def test_strict_rule_blocks_recovery_after_a_fence(w):
    w.inject("ha-pin", "110")
    w.inject("node-down", "pve1")
    w.advance(200)
    assert w.guests[110].node == "pve1" and w.guests[110].status == "stopped"
    assert w.guests[200].node != "pve1" and w.guests[200].status == "running"  # no rule: recovered


def test_negative_affinity_with_nowhere_left_keeps_the_guest(w):
    w.inject("node-down", "pve3")
    w.advance(200)
    w.ha_node_maintenance("pve1", True)
    w.advance(15)
    assert w.guests[101].node == "pve1"  # pve2 holds fw2, pve3 is down
    assert w.guests[110].node == "pve2"


def test_a_new_rule_moves_a_guest_to_its_preferred_node(w):
    assert w.guests[200].node == "pve1"
    call(w, H.rule_create, rule="mail-on-pve3", type="node-affinity", resources="ct:200", nodes="pve3")
    assert w.guests[200].migrating_to == "pve3"  # failback is on: non-strict rules are followed too
    w.advance(20)
    assert w.guests[200].node == "pve3"
    call(w, H.rule_create, rule="home-with-mail", type="resource-affinity", resources="vm:110,ct:200",
         affinity="positive")
    w.advance(20)
    assert w.guests[110].node == "pve3"


def test_failback_off_leaves_a_guest_below_its_preferred_node_until_it_is_on_again(w):
    from console.sim import pve_bulk as B
    from console.sim import pve_render as R

    call(w, B.ha_resource_update, sid="ct:200", failback=False)
    assert next(r for r in R.ha_resources(w, None) if r["sid"] == "ct:200")["failback"] == 0
    call(w, H.rule_create, rule="mail-on-pve3", type="node-affinity", resources="ct:200", nodes="pve3:2,pve1:1")
    w.advance(20)
    assert w.guests[200].node == "pve1" and w.guests[200].migrating_to is None  # allowed where it is: it stays
    call(w, B.ha_resource_update, sid="ct:200", failback=True)  # on again: the CRM follows the preference
    w.advance(20)
    assert w.guests[200].node == "pve3"
    with pytest.raises(PveError):
        call(w, B.ha_resource_update, sid="vm:111", failback=False)  # not an HA resource


def test_pin_refuses_a_guest_not_ha_or_already_ruled(w):
    with pytest.raises(SimError) as e:
        w.inject("ha-pin", "111")
    assert "not HA-managed" in e.value.message
    with pytest.raises(SimError) as e:
        w.inject("ha-pin", "201")
    assert "db-prefers-pve2" in e.value.message
