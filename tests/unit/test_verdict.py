"""Verdicts: one level per layer, from the counted findings; VRRP per instance."""

from dataclasses import replace

from console.health import evaluate
from console.poller import Snapshot
from console.verdict import (
    CRIT, OFF, OK, STALE, UNKNOWN, WARN, instance_verdicts, layer_verdicts, overall_status, source_verdicts,
)
from tests.unit.lab_models import NOW, lab, snaps


def verdicts(s, counted=lambda f: f.severity):
    findings = evaluate(s, NOW)
    return layer_verdicts(s, findings, NOW, counted), findings


def test_healthy_lab_every_layer_ok():
    v, findings = verdicts(lab())
    assert {k: x.level for k, x in v.items()} == dict.fromkeys(v, OK), [f.text for f in findings]
    assert overall_status(v) == "ok"
    assert v["vrrp"].summary == "VIP on fw1"


def test_drained_swarm_node_is_not_green():
    v, _ = verdicts(lab(swarm_kw={"drained": ("swarm3",)}))
    assert v["swarm"].level == WARN and "swarm3 not active" in v["swarm"].summary


def test_vrrp_fault_makes_layer_and_instance_critical():
    s = lab(vrrp_args=(("VI_1", "FAULT", "MASTER", 150, 100),))
    v, findings = verdicts(s)
    assert v["vrrp"].level == CRIT
    inst = instance_verdicts(s["vrrp"].data, findings)
    assert [(i.key, i.level) for i in inst] == [("vrrp/VI_1", CRIT)]


def test_both_firewalls_silent_is_critical_and_not_called_no_master():
    s = lab(vrrp_kw={"answering": (False, False)})
    v, findings = verdicts(s)
    assert v["vrrp"].level == CRIT
    assert "keepalived silent on fw1, fw2" in v["vrrp"].summary and "NO MASTER" not in v["vrrp"].summary
    assert source_verdicts(v)["vrrp"].level == CRIT  # the header dot is not green


def test_active_active_pair_is_not_split_brain():
    s = lab(vrrp_args=(("VI_1", "MASTER", "BACKUP", 150, 100), ("VI_2", "BACKUP", "MASTER", 100, 150)))
    v, findings = verdicts(s)
    assert [f.text for f in findings if f.layer == "vrrp"] == []
    assert v["vrrp"].level == OK and v["vrrp"].summary == "VI_1 on fw1, VI_2 on fw2"
    assert "SPLIT" not in " ".join(v["vrrp"].lines)
    assert [i.level for i in instance_verdicts(s["vrrp"].data, findings)] == [OK, OK]


def test_split_brain_on_one_instance_only():
    s = lab(vrrp_args=(("VI_1", "MASTER", "MASTER", 150, 100), ("VI_2", "BACKUP", "MASTER", 100, 150)))
    v, findings = verdicts(s)
    inst = {i.key: i for i in instance_verdicts(s["vrrp"].data, findings)}
    assert inst["vrrp/VI_1"].level == CRIT and "SPLIT BRAIN VI_1" in inst["vrrp/VI_1"].summary
    assert inst["vrrp/VI_2"].level == OK
    assert v["vrrp"].level == CRIT


def test_active_active_preference_is_per_instance():
    # VI_2 fails over to fw1 although fw2 has the higher priority for it
    s = lab(vrrp_args=(("VI_1", "MASTER", "BACKUP", 150, 100), ("VI_2", "MASTER", "BACKUP", 100, 150)))
    _, findings = verdicts(s)
    texts = [f.text for f in findings if f.layer == "vrrp"]
    assert texts == ["VI_2 MASTER is fw1, not the preferred fw2"]


def test_stale_no_data_and_not_configured():
    s = lab()
    s["ceph"] = replace(s["ceph"], ok_at=NOW - 60)
    s["swarm"] = Snapshot("swarm", None, error="connection refused")
    s["traefik"] = Snapshot("traefik", None, configured=False)
    v, _ = verdicts(s)
    assert v["ceph"].level == STALE and v["ceph"].summary.startswith("stale (60 s old): HEALTH_OK")
    assert v["swarm"].level == UNKNOWN and "connection refused" in v["swarm"].summary
    assert v["traefik"].level == OFF
    assert overall_status(v) == "unknown"


def test_counted_severity_decides_the_level():
    s = lab(pve_kw={"down": ("pve3",)})
    v, findings = verdicts(s, counted=lambda f: "info")  # everything silenced
    assert v["cluster"].level == OK and overall_status(v) == "ok"
    v, findings = verdicts(s)
    assert v["cluster"].level == CRIT and source_verdicts(v)["proxmox"].level == CRIT


def test_proxmox_source_is_worst_of_cluster_and_guests():
    s = snaps(proxmox=lab()["proxmox"].data)
    from console.model import Guest, HaService, HaStatus
    pve = s["proxmox"].data
    pve = replace(pve, guests=(Guest(110, "ha", "qemu", "pve1", "stopped", ha_state="error"),),
                  ha=HaStatus(True, "pve1", services=(HaService("vm:110", "error", "pve1", "started"),)))
    s = snaps(proxmox=pve)
    v, _ = verdicts(s)
    assert v["cluster"].level == OK and v["guests"].level == CRIT
    assert source_verdicts(v)["proxmox"].level == CRIT


def test_a_layer_without_a_tile_still_counts():
    from console.model import Finding

    s = lab()
    findings = [*evaluate(s, NOW), Finding("critical", "backup", "job daily", "backup job daily failed its last run")]
    v = layer_verdicts(s, findings, NOW)
    assert v["backup"].level == CRIT and "backup job daily failed" in v["backup"].summary
    assert overall_status(v) == "critical"
