"""Fault mon-down: one ceph-mon daemon stops while its node stays up (MON_DOWN, quorum shrinks)."""

from __future__ import annotations

import pytest

from console.sim import ceph_json
from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def test_mon_down_shrinks_the_quorum_and_raises_mon_down_only(w):
    w.inject("mon-down", "pve2")  # by the node that hosts it (the seed's mons are named after their nodes)
    assert w.mon_quorum() == ["pve1", "pve3"]
    assert w.nodes["pve2"].status == "online" and all(o.up for o in w.osds.values())
    doc = ceph_json.status(w)
    assert doc["quorum_names"] == ["pve1", "pve3"] and doc["health"]["status"] == "HEALTH_WARN"
    assert set(doc["health"]["checks"]) == {"MON_DOWN"}
    detail = ceph_json.health_detail(w)["checks"]["MON_DOWN"]
    assert "1/3 mons down" in detail["summary"]["message"]
    assert any("mon.pve2" in d["message"] for d in detail["detail"])
    assert w.faults_dict()["mon_down"] == ["pve2"]


def test_mon_up_and_clear_restore_the_quorum(w):
    w.inject("mon-down", "mon.pve1")
    w.inject("mon-up", "pve1")
    assert w.mon_quorum() == ["pve1", "pve2", "pve3"]
    w.inject("mon-down", "pve3")
    w.clear("mon-down")
    assert w.mon_quorum() == ["pve1", "pve2", "pve3"] and ceph_json.status(w)["health"]["status"] == "HEALTH_OK"


def test_two_mons_down_lose_the_quorum_and_a_bad_name_is_a_clear_error(w):
    w.inject("mon-down", "pve1")
    w.inject("mon-down", "pve2")
    assert w.mon_quorum() == []
    with pytest.raises(SimError) as err:
        w.inject("mon-down", "pve9")
    assert err.value.status == 404 and "pve9" in err.value.message and "pve1" in err.value.message
