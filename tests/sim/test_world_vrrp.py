"""VRRP in the World: election, graceful and abrupt failover, nopreempt, split brain, vip-stuck."""

from __future__ import annotations

import pytest

from console.sim.world import World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def test_keepalived_stop_hands_over_within_one_advert(w):
    w.keepalived("fw1", False)
    assert w.vip_holder() == []
    w.advance(w.duration("vrrp_advert"))
    assert w.vip_holder() == ["fw2"]
    assert w.availability.vip_longest_gap <= w.duration("vrrp_advert")
    assert w.firewalls["fw1"].release_master == 1 and w.firewalls["fw2"].become_master == 1


def test_track_file_fault_state(w):
    w.set_track_file("fw1", 1)
    assert w.firewalls["fw1"].state == 3  # FAULT
    w.advance(1)
    assert w.vip_holder() == ["fw2"]
    w.set_track_file("fw1", 0)
    w.advance(5)
    assert w.firewalls["fw1"].state == 1 and w.vip_holder() == ["fw2"]  # nopreempt


def test_abrupt_loss_waits_for_master_down_interval(w):
    w.inject("node-down", "pve1")
    w.advance(2.5)
    assert w.vip_holder() == []  # 3 adverts + skew not over yet
    w.advance(1.5)
    assert w.vip_holder() == ["fw2"]
    assert 3.0 <= w.availability.vip_longest_gap <= 4.0


def test_preempt_when_nopreempt_is_off(w):
    w.keepalived("fw1", False)
    w.advance(1)
    w.firewalls["fw1"].nopreempt = False
    w.keepalived("fw1", True)
    w.advance(1)
    assert w.vip_holder() == ["fw1"]


def test_split_brain_and_recovery(w):
    w.inject("split-brain")
    assert w.vip_holder() == ["fw1", "fw2"]
    w.clear("split-brain")
    assert w.vip_holder() == ["fw1"]


def test_vip_stuck_leaves_no_holder(w):
    w.inject("vip-stuck")
    w.keepalived("fw1", False)
    w.advance(10)
    assert w.vip_holder() == []
    assert w.availability.vip_absent == pytest.approx(10.0)
    w.clear("vip-stuck")
    w.advance(5)
    assert w.vip_holder() == ["fw2"]


def test_live_migrating_the_master_keeps_the_vip(w):
    upid = w.migrate("pve1", 101, "pve3", online=True)
    w.advance(10)
    assert w.pve_tasks[upid].exitstatus == "OK"
    assert w.vip_holder() == ["fw1"] and w.availability.vip_absent == 0.0
