"""Ceph in the World: OSD down/out, noout, PG states, recovery, health checks, ok-to-stop."""

from __future__ import annotations

import pytest

from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def codes(w: World) -> set[str]:
    return {c["code"] for c in w.ceph_health()[1]}


def test_osd_down_degrades_every_pg_of_a_3_osd_size_3_pool(w):
    w.inject("osd-down", "osd.1")
    assert not w.osds[1].up and w.osds[1].in_
    assert dict(w.pg_states()) == {"active+undersized+degraded": w.num_pgs()}
    assert {"OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"} == codes(w)  # one OSD per host: its host is down too
    health, checks = w.ceph_health()
    assert health == "HEALTH_WARN"
    deg = next(c for c in checks if c["code"] == "PG_DEGRADED")
    assert f"{w.num_pgs()} pgs degraded" in deg["summary"]


def test_whole_host_down_reports_osd_host_down_and_mon_down(w):
    w.inject("node-down", "pve3")
    assert {"OSD_DOWN", "OSD_HOST_DOWN", "MON_DOWN", "PG_DEGRADED"} <= codes(w)
    assert w.mon_quorum() == ["pve1", "pve2"]


def test_down_osd_goes_out_after_interval_without_noout(w):
    w.inject("osd-down", "2")
    w.advance(w.osd_out_interval - 10)
    assert w.osds[2].in_
    w.advance(20)
    assert not w.osds[2].in_
    # 3 hosts, size 3: nowhere to backfill, PGs stay undersized
    w.advance(200)
    assert "active+undersized+degraded" in dict(w.pg_states())


def test_noout_keeps_osd_in_and_shows_osdmap_flags(w):
    w.set_ceph_flag("noout", True)
    assert codes(w) == {"OSDMAP_FLAGS"}
    w.inject("osd-down", "0")
    w.advance(w.osd_out_interval * 2)
    assert w.osds[0].in_
    w.set_ceph_flag("noout", False)
    w.advance(1)
    assert not w.osds[0].in_  # unset: the long-down OSD is marked out now
    with pytest.raises(SimError) as err:
        w.set_ceph_flag("nosuchflag", True)
    assert err.value.status == 400 and "flag" in err.value.errors


def test_returning_osd_recovers_to_active_clean(w):
    w.inject("osd-down", "0")
    w.advance(30)
    w.clear("osd-down", "0")
    w.advance(w.duration("osd_boot") + 1)
    assert w.osds[0].up
    states = dict(w.pg_states())
    assert states.get("active+recovering+degraded", 0) > 0
    assert "PG_DEGRADED" in codes(w)
    w.advance(w.duration("ceph_recovery") + 1)
    assert w.pg_states() == [("active+clean", w.num_pgs())]
    assert w.ceph_health() == ("HEALTH_OK", [])


def test_osd_stuck_does_not_come_back(w):
    w.inject("osd-stuck", "1")
    w.reboot_node("pve2")
    w.advance(60)
    assert w.nodes["pve2"].status == "online" and not w.osds[1].up
    w.clear("osd-stuck")
    w.advance(5)
    assert w.osds[1].up


def test_ok_to_stop(w):
    ok, doc = w.osd_ok_to_stop([0])
    assert ok and doc["ok_to_stop"] is True and doc["osds"] == [0] and doc["num_not_ok_pgs"] == 0
    assert len(doc["ok_become_degraded"]) == w.num_pgs()
    w.inject("osd-down", "1")
    ok, doc = w.osd_ok_to_stop([0])
    assert not ok and doc["num_not_ok_pgs"] == w.num_pgs() and doc["bad_become_inactive"]
    ok, msg = w.mon_ok_to_stop(["pve1"])
    assert ok and "quorum should be preserved" in msg
    w.inject("node-down", "pve2")
    ok, msg = w.mon_ok_to_stop(["pve1"])
    assert not ok


def test_two_osds_down_makes_pgs_inactive(w):
    w.inject("osd-down", "0")
    w.inject("osd-down", "1")
    assert dict(w.pg_states()) == {"undersized+degraded+peered": w.num_pgs()}
    assert "PG_AVAILABILITY" in codes(w)


def test_mds_and_mgr_fail_over(w):
    assert w.ceph.mds_active == "pve1" and w.ceph.mgr_active == "pve1"
    ok, _ = w.mds_ok_to_stop(["pve1"])
    assert ok
    w.inject("node-down", "pve1")
    assert w.ceph.mds_active == "pve2" and w.ceph.mgr_active == "pve2"
    assert "MDS_INSUFFICIENT_STANDBY" in codes(w)
    ok, _ = w.mds_ok_to_stop(["pve2"])
    assert not ok
    w.clear("node-down", "pve1")
    w.advance(w.duration("reboot") + 10)  # powering on takes the boot time
    assert w.mds_states() == {"pve1": "up:standby", "pve2": "up:active"}


def test_large_scenario_single_osd_down_degrades_a_share(w):
    big = World("large", manual_clock=True)
    assert len(big.osds) >= 96
    big.inject("osd-down", "5")
    states = dict(big.pg_states())
    degraded = states["active+undersized+degraded"]
    assert 0 < degraded < big.num_pgs() / 10


def test_large_scenario_whole_host_down_keeps_pgs_active():
    big = World("large", manual_clock=True)
    big.inject("node-down", "pve03")
    states = dict(big.pg_states())
    share = states["active+undersized+degraded"] / big.num_pgs()
    assert share == pytest.approx(3 / 16, abs=0.01)  # replicas on 3 of 16 hosts
    assert "undersized+degraded+peered" not in states  # CRUSH spreads replicas over hosts
    assert big.osd_ok_to_stop([0])[0] is False  # a second host would make PGs inactive
