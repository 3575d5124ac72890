"""console.ha_rules.placement: where the CRM may put an HA resource under the rules."""

from __future__ import annotations

from console.ha_rules import placement, rules_for
from console.model import HaRule

PIN = HaRule("pin", "node-affinity", ("vm:110",), nodes=(("pve1", 0),), strict=True)
PREFER = HaRule("prefer", "node-affinity", ("ct:201",), nodes=(("pve2", 2), ("pve3", 1)))
APART = HaRule("apart", "resource-affinity", ("vm:101", "vm:102"), affinity="negative")
TOGETHER = HaRule("together", "resource-affinity", ("vm:110", "ct:200"), affinity="positive")


def test_no_rules_allow_every_candidate():
    assert placement("vm:999", (PIN,), ["pve2", "pve3"], {}).nodes == ("pve2", "pve3")


def test_strict_rule_with_its_only_node_going_down_leaves_nowhere():
    p = placement("vm:110", (PIN,), ["pve2", "pve3"], {})
    assert p.nodes == () and p.narrowed_by is PIN
    assert p.why == "strict rule pin allows only pve1, none of them online and out of maintenance"
    assert placement("vm:110", (PIN,), ["pve1", "pve3"], {}).nodes == ("pve1",)
    disabled = HaRule("pin", "node-affinity", ("vm:110",), nodes=(("pve1", 0),), strict=True, disabled=True)
    assert placement("vm:110", (disabled,), ["pve2"], {}).nodes == ("pve2",)


def test_non_strict_prefers_its_highest_priority_online_node_then_any():
    assert placement("ct:201", (PREFER,), ["pve1", "pve2", "pve3"], {}).nodes == ("pve2",)
    assert placement("ct:201", (PREFER,), ["pve1", "pve3"], {}).nodes == ("pve3",)
    assert placement("ct:201", (PREFER,), ["pve1"], {}).nodes == ("pve1",)  # none listed online: anywhere


def test_negative_affinity_keeps_partners_apart_and_can_leave_nowhere():
    assert placement("vm:101", (APART,), ["pve2", "pve3"], {"vm:102": "pve2"}).nodes == ("pve3",)
    p = placement("vm:101", (APART,), ["pve2"], {"vm:102": "pve2"})
    assert p.nodes == () and p.narrowed_by is APART and p.why == "negative rule apart keeps it off pve2 (vm:102)"


def test_positive_affinity_follows_partners_that_are_placed():
    assert placement("vm:110", (TOGETHER,), ["pve2", "pve3"], {"ct:200": "pve3"}).nodes == ("pve3",)
    assert placement("vm:110", (TOGETHER,), ["pve2", "pve3"], {"ct:200": "pve1"}).nodes == ("pve2", "pve3")


def test_rules_for_lists_enabled_first():
    off = HaRule("zz", "node-affinity", ("vm:110",), nodes=(("pve2", 0),), disabled=True)
    assert [r.name for r in rules_for((off, PIN, TOGETHER, PREFER), "vm:110")] == ["pin", "together", "zz"]
    assert rules_for(None, "vm:110") == []
