"""Faults, the availability record, the summary and the large scenario."""

from __future__ import annotations

import json
import time

import pytest

from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def test_unknown_kind_and_bad_targets_are_clear_errors(w):
    with pytest.raises(SimError) as err:
        w.inject("meteor-strike")
    assert err.value.status == 400 and "node-down" in err.value.message
    for kind, target in [("node-down", "pve9"), ("osd-down", "osd.77"), ("ha-error", "999"),
                         ("traefik-backend-down", "nope")]:
        with pytest.raises(SimError) as err:
            w.inject(kind, target)
        assert err.value.status == 404 and str(target).split(".")[-1] in err.value.message
    with pytest.raises(SimError):
        w.inject("latency", "smtp", 1.0)
    with pytest.raises(SimError):
        w.inject("error-rate", "pve", 2.0)


def test_latency_and_error_rate_hooks(w):
    assert w.fault_delay("pve") == 0.0 and not w.fault_error("pve")
    w.inject("latency", "docker", 0.75)
    w.inject("error-rate", "pve", 1.0)
    w.inject("error-rate", "traefik", 0.5)
    assert w.fault_delay("docker") == 0.75
    assert all(w.fault_error("pve") for _ in range(20))
    hits = sum(w.fault_error("traefik") for _ in range(400))
    assert 120 < hits < 280
    w.clear("error-rate", "pve")
    assert not w.fault_error("pve") and w.fault_delay("docker") == 0.75
    w.clear()
    assert w.fault_delay("docker") == 0.0 and w.faults.api_error_rate == {}


def test_traefik_backend_down_and_up(w):
    assert w.backend_up("whoami")
    w.inject("traefik-backend-down", "whoami")
    assert not w.backend_up("whoami") and w.backend_up("grafana")
    w.inject("traefik-backend-up", "whoami")
    assert w.backend_up("whoami")


def test_availability_counts_exact_seconds_and_resets(w):
    w.inject("node-down", "pve3")
    w.advance(10)
    av = w.availability
    assert av.guests[111] == pytest.approx(10.0) and av.guests[123] == pytest.approx(10.0)
    assert 113 not in av.guests  # a stopped guest is not lost service
    assert av.vip_absent == 0.0
    w.reset_availability()
    assert w.availability.guests == {}
    w.advance(2)
    assert w.availability.guests[111] == pytest.approx(2.0)
    d = w.availability_dict()
    assert d["guests"]["111"] == pytest.approx(2.0) and d["guest_seconds_total"] >= 2.0


def test_summary_is_json(w):
    w.inject("osd-down", "0")
    s = json.loads(json.dumps(w.summary()))
    assert s["ceph"]["health"] == "HEALTH_WARN" and s["faults"]["osd_down"] == [0]
    assert s["vrrp"]["vip_holder"] == ["fw1"]
    assert s["swarm"]["services_converged"] == s["swarm"]["services"]


def test_real_clock_advances_with_speed():
    w = World("seed", speed=20.0)
    t0 = w.now()
    time.sleep(0.05)
    assert w.now() - t0 >= 0.05 * 20 * 0.9


def test_large_scenario_sizes_and_health():
    w = World("large", manual_clock=True)
    assert len(w.nodes) >= 16 and len(w.guests) >= 2000 and len(w.osds) >= 96
    assert len(w.services) >= 300 and len(w.tasks) >= 1000 and len(w.routers) >= 600
    assert w.ceph_health()[0] == "HEALTH_OK"
    assert all(w.service_running_tasks(sid) == w.service_desired(s) for sid, s in w.services.items())
    w.inject("node-down", "pve05")
    w.advance(10)
    assert all(w.service_running_tasks(sid) == w.service_desired(s) for sid, s in w.services.items())
