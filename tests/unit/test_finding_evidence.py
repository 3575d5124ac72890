"""Finding.evidence: what the main rules read a finding from, for the detail pane and
`check --json`; and when an incident started (console.incident_start)."""

from __future__ import annotations

from dataclasses import replace

from console.events import Event, first_seen
from console.health import EVIDENCE_LINES, ceph_rules, cluster_rules, swarm_rules, traefik_rules
from console.incident_start import incident_starts, spell_starts
from console.incidents import tell
from console.model import CephCheck, SwarmTask, TraefikRouter
from tests.unit.lab_models import NOW, ceph, lab, pve, swarm, traefik


def by_subject(findings, subject):
    return next(f for f in findings if f.subject == subject)


def test_ceph_check_detail_lines_are_the_evidence_and_are_capped():
    lines = tuple(f"osd.{i} (root=default,host=pve{i % 3 + 1}) is down" for i in range(100))
    state = ceph(down_osds=(1,), checks=(CephCheck("OSD_DOWN", "HEALTH_WARN", "100 osds down", lines),))
    f = by_subject(ceph_rules(state), "OSD_DOWN")
    assert f.evidence[:2] == lines[:2] and len(f.evidence) == EVIDENCE_LINES
    assert f.evidence[-1] == f"... and {100 - EVIDENCE_LINES + 1} more"
    osd = by_subject(ceph_rules(state), "osd.1")
    assert "host: pve2" in osd.evidence and lines[1] in osd.evidence  # its own line of the check's detail


def test_traefik_router_error_is_the_evidence():
    router = TraefikRouter("api@docker", "http", "Host(`api.lab`)", ("websecure",), "api", "disabled",
                           errors=("the service \"api@docker\" does not exist",), provider="docker")
    state = replace(traefik(), routers=traefik().routers + (router,))
    f = by_subject(traefik_rules(state), "api@docker")
    assert f.evidence[0] == "error: the service \"api@docker\" does not exist"
    assert "rule: Host(`api.lab`)" in f.evidence and "entrypoints: websecure" in f.evidence
    down = by_subject(traefik_rules(traefik(all_down=("whoami",))), "whoami@docker")
    assert down.evidence == ("server http://b: DOWN", "used by: whoami@docker")


def test_swarm_task_error_and_exit_code_are_the_evidence():
    base = swarm()
    failed = SwarmTask("t9", "s2", "n2", "failed", "running", 1, "swarm2", error="task: non-zero exit (137)",
                       exit_code=137, timestamp="2026-12-01T18:00:00Z")
    state = replace(base, services=tuple(replace(s, replicas_running=0) if s.name == "whoami" else s
                                         for s in base.services),
                    tasks=tuple(t for t in base.tasks if t.service_id != "s2") + (failed,))
    f = by_subject(swarm_rules(state), "whoami")
    assert "task whoami.1 on swarm2: failed (desired running, exit 137): task: non-zero exit (137)" in f.evidence
    node = by_subject(swarm_rules(swarm(down=("swarm3",))), "swarm3")
    assert "state: down, availability: active" in node.evidence


def test_node_offline_and_guest_down_name_their_state():
    state = pve(down=("pve3",))
    node = by_subject(cluster_rules(state), "pve3")
    assert node.evidence[0].startswith("status: offline")
    assert "  jellyfin (111) unknown, not HA-managed" in node.evidence
    guest = by_subject(cluster_rules(state), "111")
    assert "node: pve3 (offline)" in guest.evidence and any("not managed" in line for line in guest.evidence)
    ha = replace(state.ha, services=tuple(replace(s, state="error") if s.sid == "vm:101" else s
                                          for s in state.ha.services))
    err = by_subject(cluster_rules(replace(pve(), ha=ha)), "vm:101")
    assert "HA vm:101: state error on pve1, requested started" in err.evidence


def test_evidence_reaches_check_json():
    story = tell(lab(ceph_kw={"down_osds": (1,)}), NOW)
    doc = story.incidents[0].to_dict()
    assert doc["root"]["evidence"] and all(isinstance(line, str) for line in doc["root"]["evidence"])


def ev(t, subject, severity, layer="ceph"):
    return Event(t, layer, subject, "k", "text", severity)


def test_spell_starts_follow_first_seen_for_every_subject_in_one_pass():
    events = [ev(10, "osd.1", "warning"), ev(20, "osd.1", "ok"), ev(30, "osd.1", "critical"),
              ev(40, "osd.1", "warning"), ev(35, "pve3", "info", "cluster"), ev(50, "mon", "warning")]
    starts = spell_starts(events)
    assert starts[("ceph", "osd.1")] == 30 == first_seen(events, "osd.1")
    assert ("cluster", "pve3") not in starts  # info opens no spell
    assert starts[("ceph", "mon")] == 50


def test_an_incident_starts_with_its_root_or_else_its_earliest_effect():
    story = tell(lab(pve_kw={"down": ("pve3",)}, ceph_kw={"down_osds": (2,)}, swarm_kw={"down": ("swarm3",)}), NOW)
    root = story.incidents[0]
    assert root.root.finding.subject == "pve3"
    events = [ev(100, "osd.2", "warning"), ev(90, "swarm3", "critical", "swarm"),
              ev(120, "pve3", "critical", "cluster")]
    assert incident_starts(story.incidents, events)[root.key] == 120  # the root's own start
    assert incident_starts(story.incidents, events[:2])[root.key] == 90  # no root event: the earliest effect
    assert root.key not in incident_starts(story.incidents, [])


def test_check_reports_when_each_incident_started_from_the_recorded_timeline(tmp_path, monkeypatch):
    import io
    import json

    from console.check import incident_starts as check_starts
    from console.check import report_json, report_text
    from console.event_store import append_lines, events_file

    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    snapshots = lab(ceph_kw={"down_osds": (1,)})
    story = tell(snapshots, NOW)
    assert check_starts("home", story) == {}  # nothing recorded: no start, and no error
    t0 = 1_764_600_000.0
    append_lines(events_file("home"), [json.dumps(ev(t0, "osd.1", "warning").to_json()) + "\n"])
    starts = check_starts("home", story)
    root = story.incidents[0]
    assert starts == {root.key: t0}
    doc = json.loads(report_json("home", snapshots, story, NOW, starts))
    assert doc["incidents"][0]["started"] == t0
    out = io.StringIO()
    report_text("home", snapshots, story, out, starts)
    assert "osd.1 on pve2 is down  (since " in out.getvalue()


def test_vrrp_findings_carry_each_firewalls_view_of_the_instance():
    from console.health_vrrp import vrrp_rules
    from tests.unit.lab_models import vrrp

    split = by_subject(vrrp_rules(vrrp(("VI_1", "MASTER", "MASTER", 150, 100))), "VI_1")
    assert "SPLIT BRAIN" in split.text
    assert split.evidence == ("fw1 VI_1: MASTER, priority 150/150, VIPs 10.0.0.1/24",
                              "fw2 VI_1: MASTER, priority 100/100, VIPs 10.0.0.1/24")
    silent = by_subject(vrrp_rules(vrrp(answering=(True, False))), "fw2")
    assert silent.evidence[:2] == ("error: connection refused", "host: fw2")
