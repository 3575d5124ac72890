"""Swarm in the World: scheduling, drain, node loss, rolling update, failure action, rollback, logs."""

from __future__ import annotations

import copy

import pytest

from console.sim.world import SimError, World


@pytest.fixture
def w() -> World:
    return World("seed", manual_clock=True)


def node_id(w: World, hostname: str) -> str:
    return next(i for i, s in w.swarm_nodes.items() if s.hostname == hostname)


def svc(w: World, name: str):
    return next(s for s in w.services.values() if s.name == name)


def live_tasks(w: World, service, node: str | None = None):
    return [t for t in w.tasks.values()
            if t.service_id == service.id and t.desired_state == "running" and (node is None or t.node_id == node)]


def test_seed_swarm_is_spread_and_global_traefik_on_every_node(w):
    assert len(w.swarm_nodes) == 3 and sum(s.leader for s in w.swarm_nodes.values()) == 1
    assert len(w.services) >= 8
    traefik = svc(w, "traefik")
    assert traefik.mode == "global"
    assert {t.node_id for t in live_tasks(w, traefik)} == set(w.swarm_nodes)
    for s in w.services.values():
        if s.mode == "replicated" and s.replicas == 2:
            assert len({t.node_id for t in live_tasks(w, s)}) == 2  # spread


def test_drain_moves_tasks_and_activate_does_not_rebalance(w):
    n1 = node_id(w, "swarm1")
    version = w.swarm_nodes[n1].version
    w.swarm_node_update(n1, version, {"Availability": "drain", "Role": "manager"})
    assert w.swarm_nodes[n1].version == version + 1
    w.advance(3)
    running_on_n1 = [t for t in w.tasks.values() if t.node_id == n1 and t.state == "running"]
    assert running_on_n1 == []
    for s in w.services.values():
        assert w.service_running_tasks(s.id) == w.service_desired(s)
    assert w.availability.services.get("whoami", 0) == 0  # 2 replicas: never at zero
    with pytest.raises(SimError) as err:
        w.swarm_node_update(n1, version, {"Availability": "active"})  # stale version
    assert err.value.status == 500 and "out of sequence" in err.value.message
    w.swarm_node_update(n1, version + 1, {"Availability": "active", "Role": "manager"})
    w.advance(3)
    traefik = svc(w, "traefik")
    assert len(live_tasks(w, traefik, n1)) == 1  # global services come back
    assert live_tasks(w, svc(w, "whoami"), n1) == []  # replicated ones are not rebalanced


def test_vm_loss_reschedules_after_heartbeat(w):
    n2 = node_id(w, "swarm2")
    w.inject("node-down", "pve2")
    assert w.swarm_node_state(n2) == "ready"  # managers have not noticed yet
    w.advance(w.duration("swarm_heartbeat") + 0.1)
    assert w.swarm_node_state(n2) == "down"
    w.advance(3)
    for s in w.services.values():
        assert w.service_running_tasks(s.id) == w.service_desired(s)
    single = [s.name for s in w.services.values() if s.mode == "replicated" and s.replicas == 1]
    lost = [name for name in single if w.availability.services.get(name)]
    assert lost  # a 1-replica service on swarm2 was down until rescheduled


def test_a_vm_back_before_the_heartbeat_restarts_its_tasks_as_dockerd_does(w):
    # a Swarm VM rebooted in place (no drain): its containers die with it, even those still starting;
    # back before the managers noticed, its dockerd starts afresh and Swarm restarts the slots there
    n1 = node_id(w, "swarm1")
    w.advance(30)
    on_node = [t for t in w.tasks.values() if t.node_id == n1 and t.desired_state == "running"]
    assert on_node
    from console.sim.dynamics_ops import guest_reboot

    assert w.duration("guest_start") < w.duration("swarm_heartbeat")  # back before it is noticed
    guest_reboot(w, w.guests[121])
    w.advance(w.duration("guest_shutdown") + w.duration("guest_start") + 30)
    assert w.swarm_node_state(n1) == "ready"
    assert all(t.state == "failed" and "dockerd restarted" in (t.error or "") for t in on_node), on_node
    for s in w.services.values():
        assert w.service_running_tasks(s.id) == w.service_desired(s), s.name


def test_leader_moves_when_leader_vm_dies(w):
    n1 = node_id(w, "swarm1")
    assert w.swarm_leader() == n1
    w.inject("node-down", "pve1")
    w.advance(6)
    assert w.swarm_leader() not in (None, n1)


def update_image(w: World, name: str, image: str, failure_action: str = "pause"):
    s = svc(w, name)
    spec = copy.deepcopy(s.spec)
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = image
    spec["UpdateConfig"]["FailureAction"] = failure_action
    return s, w.service_update(s.id, s.version, spec, rollback=False)


def test_rolling_update_replaces_tasks_one_by_one(w):
    s, warnings = update_image(w, "grafana", "grafana/grafana:11.2.1")
    assert warnings == []
    assert s.update_status["State"] == "updating"
    w.advance(15)
    assert s.update_status["State"] == "completed"
    images = {t.image for t in live_tasks(w, s)}
    assert images == {"grafana/grafana:11.2.1"} and w.service_running_tasks(s.id) == 2
    assert s.previous_spec["TaskTemplate"]["ContainerSpec"]["Image"] == "grafana/grafana:11.2.0"


def test_failing_update_pauses_then_manual_rollback(w):
    s, _ = update_image(w, "whoami", "traefik/whoami:broken")
    w.advance(10)
    assert s.update_status["State"] == "paused"
    assert any(t.state == "failed" for t in w.tasks.values() if t.service_id == s.id)
    w.service_update(s.id, s.version, None, rollback=True)
    assert s.update_status["State"] == "rollback_started"
    w.advance(20)
    assert s.update_status["State"] == "rollback_completed"
    assert w.service_running_tasks(s.id) == 2
    assert {t.image for t in live_tasks(w, s)} == {"traefik/whoami:v1.10.3"}


def test_failure_action_rollback_rolls_back_by_itself(w):
    s = svc(w, "vaultwarden")
    s.failing_image = True  # any new image of this service fails
    update_image(w, "vaultwarden", "vaultwarden/server:1.33.0", failure_action="rollback")
    w.advance(20)
    assert s.update_status["State"] == "rollback_completed"
    assert s.image == "vaultwarden/server:1.32.0"


def test_rollback_without_previous_spec_and_stale_version(w):
    s = svc(w, "gitea")
    with pytest.raises(SimError) as err:
        w.service_update(s.id, s.version, None, rollback=True)
    assert "previous spec" in err.value.message
    with pytest.raises(SimError):
        w.service_update(s.id, s.version - 1, copy.deepcopy(s.spec))


def test_scale_changes_replicas_without_restarting(w):
    s = svc(w, "prometheus")
    old = {t.id for t in live_tasks(w, s)}
    spec = copy.deepcopy(s.spec)
    spec["Mode"]["Replicated"]["Replicas"] = 3
    w.service_update(s.id, s.version, spec)
    w.advance(3)
    assert w.service_running_tasks(s.id) == 3 and old <= {t.id for t in live_tasks(w, s)}


def test_logs_have_timestamps_and_tail(w):
    s = svc(w, "whoami")
    w.advance(60)
    lines = w.service_logs(s.id, tail=5, timestamps=True)
    assert len(lines) == 5
    stamps = [ts for ts, _ in lines]
    assert stamps == sorted(stamps) and stamps[-1] <= w.now()
    assert all("HTTP/1.1" in text for _, text in lines)
    assert w.service_logs(s.id, tail=0, timestamps=False) == []
