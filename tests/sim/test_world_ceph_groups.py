"""Ceph group flags (`ceph osd set-group`), the degraded-objects ratio and ok-to-stop on unknown OSDs."""

from __future__ import annotations

import pytest

from console.sim import ceph_json
from console.sim.world import SimError, World

SUMMARY = "OSDs or CRUSH {nodes, device-classes} have {NOUP,NODOWN,NOIN,NOOUT} flags set"


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def check(w: World, code: str) -> dict | None:
    return next((c for c in w.ceph_health()[1] if c["code"] == code), None)


def test_set_group_noout_on_a_host_reports_osd_flags(w):
    assert w.set_ceph_group_flag("noout", "pve1", True) == ""
    assert w.ceph.group_flags == {"pve1": {"noout"}}
    c = check(w, "OSD_FLAGS")
    assert c["summary"] == f"1 {SUMMARY}" and c["detail"] == ["host pve1 has flags noout"]
    assert check(w, "OSDMAP_FLAGS") is None  # the global flag is not set
    w.set_ceph_group_flag("noin", "pve1", True)
    w.set_ceph_group_flag("noout", "osd.2", True)
    c = check(w, "OSD_FLAGS")
    assert c["summary"] == f"2 {SUMMARY}"
    assert c["detail"] == ["osd.2 has flags noout", "host pve1 has flags noin,noout"]
    dump = ceph_json.osd_dump(w)
    assert dump["crush_node_flags"] == {"pve1": ["noin", "noout"]}
    assert "noout" in next(o for o in dump["osds"] if o["osd"] == 2)["state"]
    for flag, who in (("noout", "pve1"), ("noin", "pve1"), ("noout", "2")):
        w.set_ceph_group_flag(flag, who, False)
    assert w.ceph.group_flags == {} and check(w, "OSD_FLAGS") is None and w.ceph_health()[0] == "HEALTH_OK"


def test_group_noout_keeps_that_hosts_osds_in_while_down(w):
    w.set_ceph_group_flag("noout", "pve1", True)
    w.inject("node-down", "pve1")
    w.inject("node-down", "pve2")
    w.advance(w.osd_out_interval + 5)
    assert not w.osds[0].up and w.osds[0].in_  # pve1: noout for its host
    assert not w.osds[1].up and not w.osds[1].in_  # pve2: auto-out as usual


def test_group_flag_errors_are_cephs(w):
    with pytest.raises(SimError) as err:
        w.set_ceph_group_flag("norebalance", "pve1", True)
    assert err.value.message == "unrecognized flag 'norebalance', must be one of {noup,nodown,noin,noout}"
    with pytest.raises(SimError) as err:
        w.set_ceph_group_flag("noout", "pve9", True)
    assert err.value.message.startswith('unable to parse osd id or crush node or device class: "pve9"')
    assert w.set_ceph_group_flag("noout", "osd.77", True) == "osd.77 does not exist. "
    assert w.ceph.group_flags == {}


def test_pg_degraded_divides_by_object_copies_like_ceph(w):
    w.inject("osd-down", "osd.1")
    c = check(w, "PG_DEGRADED")
    degraded, total = c["summary"].split(": ", 1)[1].split(" objects", 1)[0].split("/")
    size = max(p.size for p in w.pools)
    assert int(total) == w.ceph.total_objects * size == w.object_copies()
    status = ceph_json.status(w)["pgmap"]
    assert status["num_objects"] == w.ceph.total_objects
    assert (int(degraded), int(total)) == (status["degraded_objects"], status["degraded_total"])
    # one OSD of three down with size 3: one copy of every object is missing
    assert int(degraded) == pytest.approx(int(total) / size, rel=0.01)
    assert "(33.3" in c["summary"]


def test_ok_to_stop_on_an_osd_that_does_not_exist(w):
    ok, doc = w.osd_ok_to_stop([99])
    assert ok and doc["ok_to_stop"] is True and doc["osds"] == [99]
    assert doc["num_ok_pgs"] == 0 and doc["num_not_ok_pgs"] == 0
    ok, doc = w.osd_ok_to_stop([0])
    assert ok and doc["num_ok_pgs"] == w.num_pgs()  # every PG has a copy on each of the 3 hosts
