"""HA rules: the parsers (PVE 9 rules, PVE 8 groups as rules) and ProxmoxSource reading them
from the simulated PVE over HTTPS, in both its PVE 9 and PVE 8 guises."""

from __future__ import annotations

import pytest

from console.model import HaRule
from console.sources import proxmox_parse as pp
from console.sources.proxmox import ProxmoxSource
from console.sources.shape import ShapeError
from tests.data.test_proxmox_source import lab  # noqa: F401 - the fixture

# What PVE 9 answers (PVE::API2::HA::Rules: the whole rule, digest and order)
RULES = [
    {"rule": "pin-db", "type": "node-affinity", "resources": "ct:201", "nodes": "pve1:2,pve2", "strict": 1,
     "digest": "ab12", "order": 2},
    {"rule": "apart", "type": "resource-affinity", "resources": "vm:101,vm:102", "affinity": "negative",
     "digest": "ab12", "order": 1, "comment": "VRRP pair"},
    {"rule": "prefer", "type": "node-affinity", "resources": "vm:110", "nodes": "pve3", "disable": 1,
     "digest": "ab12", "order": 3},
]


def test_rules_parse_to_the_model():
    rules = {r.name: r for r in pp.parse_ha_rules(RULES)}
    assert rules["pin-db"] == HaRule(name="pin-db", kind="node-affinity", resources=("ct:201",),
                                     nodes=(("pve1", 2), ("pve2", 0)), strict=True)
    assert rules["apart"].affinity == "negative" and rules["apart"].resources == ("vm:101", "vm:102")
    assert rules["apart"].comment == "VRRP pair" and rules["apart"].nodes == ()
    assert rules["prefer"].disabled and not rules["prefer"].strict
    assert rules["pin-db"].summary() == "node-affinity pin-db: strict pve1:2,pve2"
    assert rules["apart"].summary() == "resource-affinity apart: negative with vm:101, vm:102"
    assert rules["prefer"].summary() == "node-affinity prefer: non-strict pve3 (disabled)"


def test_an_unknown_rule_type_is_left_out_and_bad_fields_are_named():
    assert pp.parse_ha_rules([{"rule": "x", "type": "node-anti-affinity", "resources": "vm:1"}]) == ()
    with pytest.raises(ShapeError) as e:
        pp.parse_ha_rules([{"rule": "x", "type": "resource-affinity", "resources": "vm:1", "affinity": "maybe"}])
    assert "proxmox /cluster/ha/rules" in str(e.value) and "positive or negative" in str(e.value)
    with pytest.raises(ShapeError) as e:
        pp.parse_ha_rules([{"rule": "x", "type": "node-affinity", "resources": "vm:1", "nodes": "pve1:high"}])
    assert "priority of pve1" in str(e.value)
    with pytest.raises(ShapeError):
        pp.parse_ha_rules({"rule": "x"})  # not a list


def test_pve8_groups_become_node_affinity_rules_with_their_resources():
    groups = [{"group": "only-pve1", "type": "group", "nodes": "pve1", "restricted": 1, "digest": "d"},
              {"group": "likes-pve2", "type": "group", "nodes": "pve2:3,pve3:1", "digest": "d"}]
    resources = [{"sid": "vm:110", "group": "only-pve1"}, {"sid": "ct:201", "group": "likes-pve2"},
                 {"sid": "ct:200"}]
    rules = {r.name: r for r in pp.parse_ha_groups(groups, resources)}
    assert rules["only-pve1"] == HaRule(name="only-pve1", kind="node-affinity", resources=("vm:110",),
                                        nodes=(("pve1", 0),), strict=True, origin="group")
    assert not rules["likes-pve2"].strict and rules["likes-pve2"].nodes == (("pve2", 3), ("pve3", 1))
    assert rules["likes-pve2"].summary() == "group likes-pve2: non-strict pve2:3,pve3:1"


async def test_source_reads_the_rules_of_a_pve9_cluster(lab):  # noqa: F811
    s = await ProxmoxSource(lab.config()).fetch()
    rules = {r.name: r for r in s.ha_rules}
    assert rules["firewalls-apart"].affinity == "negative"
    assert rules["firewalls-apart"].resources == ("vm:101", "vm:102")
    assert rules["db-prefers-pve2"].nodes == (("pve2", 2), ("pve3", 1)) and not rules["db-prefers-pve2"].strict
    lab.world.inject("ha-pin", "110")
    s = await ProxmoxSource(lab.config()).fetch()
    pin = next(r for r in s.ha_rules if r.name == "pin-110")
    assert pin.strict and pin.resources == ("vm:110",) and pin.nodes == ((lab.world.guests[110].node, 0),)


async def test_source_reads_groups_on_a_pve8_cluster_and_remembers_it(lab, caplog):  # noqa: F811
    lab.world.ha_rules_api = False  # /cluster/ha/rules answers 501 "not implemented", like PVE 8
    lab.world.inject("ha-pin", "110")
    src = ProxmoxSource(lab.config())
    s = await src.fetch()
    rules = {r.name: r for r in s.ha_rules}
    assert set(rules) == {"db-prefers-pve2", "pin-110"}  # resource affinity does not exist on PVE 8
    assert rules["pin-110"].origin == "group" and rules["pin-110"].strict
    assert rules["pin-110"].resources == ("vm:110",) and rules["db-prefers-pve2"].resources == ("ct:201",)
    assert src._rules_api is False
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]  # not a failure


async def test_a_pve8_cluster_without_groups_has_no_rules(lab):  # noqa: F811
    lab.world.ha_rules_api = False
    lab.world.ha_rules.clear()
    s = await ProxmoxSource(lab.config()).fetch()
    assert s.ha_rules == ()  # known: none (None would mean "could not tell")
    assert s.guests
