"""Incidents: root cause with effects; maintenance-expected findings; silences."""

import time

from console.incidents import MaintenanceRun, tell
from console.maintenance_view import run_from_records
from console.silences import Silence
from tests.unit.lab_models import NOW, lab


def summary(story):
    return [(i.severity, i.root.finding.text, [e.finding.text for e in i.effects]) for i in story.incidents]


def node_down_lab():
    return lab(pve_kw={"down": ("pve3",)}, ceph_kw={"down_osds": (2,)}, swarm_kw={"down": ("swarm3",)},
               traefik_kw={"down_servers": ("http://c",)})


def test_healthy_lab_has_no_incident():
    story = tell(lab(), NOW)
    assert story.incidents == () and story.status == "ok" and story.exit_code == 0


def test_node_down_is_one_incident_with_its_effects_and_impact():
    story = tell(node_down_lab(), NOW)
    assert len(story.incidents) == 1, summary(story)
    inc = story.incidents[0]
    assert inc.root.finding.text == "node pve3 is offline" and inc.severity == "critical"
    effects = " | ".join(e.finding.text for e in inc.effects)
    for part in ("osd.2 on pve3 is down", "swarm node swarm3 is down", "quorum at risk", "PGs not active+clean",
                 "OSD_DOWN", "Ceph is HEALTH_WARN", "web@docker: 1/2 servers DOWN",
                 "jellyfin (111) is unavailable: its node pve3 is down"):
        assert part in effects, part
    assert inc.impact == ("degraded: web.lab",)
    # every finding is in the story exactly once
    assert len(story.findings) == 1 + len(inc.effects)


def test_jellyfin_is_a_finding_when_its_node_is_down():
    story = tell(node_down_lab(), NOW)
    jelly = [a for a in story.findings if a.finding.subject == "111"]
    assert len(jelly) == 1 and jelly[0].finding.severity == "warning" and jelly[0].finding.layer == "guests"


def test_osd_down_alone_is_one_incident_naming_the_osd():
    story = tell(lab(ceph_kw={"down_osds": (1,)}), NOW)
    assert len(story.incidents) == 1, summary(story)
    assert story.incidents[0].root.finding.subject == "osd.1"


def test_unrelated_findings_stay_apart():
    story = tell(lab(ceph_kw={"down_osds": (1,)}, traefik_kw={"all_down": ("whoami",)}), NOW)
    roots = [i.root.finding.subject for i in story.incidents]
    assert roots == ["whoami@docker", "osd.1"], summary(story)
    assert story.incidents[0].impact == ("down: whoami.lab",)


def test_swarm_node_down_explains_degraded_traefik_service():
    story = tell(lab(swarm_kw={"down": ("swarm3",)}, traefik_kw={"down_servers": ("http://c",)}), NOW)
    assert [i.root.finding.subject for i in story.incidents] == ["swarm3"], summary(story)


def maintenance_lab():
    # pve1 in maintenance: VIP moved (fw1 FAULT via its track file), swarm1 drained, noout set
    return lab(pve_kw={"maint": ("pve1",)}, ceph_kw={"flags": {"noout"}}, swarm_kw={"drained": ("swarm1",)},
               vrrp_args=(("VI_1", "FAULT", "MASTER", 150, 100),))


RUN = MaintenanceRun("20261201-run", ("pve1",), "in progress", ("fw1",), ("swarm1",), ("osd.0",))


def test_without_a_run_maintenance_pages():
    story = tell(maintenance_lab(), NOW)
    assert story.exit_code == 2  # "fw1 VI_1 is in FAULT"


def test_planned_maintenance_is_one_expected_incident_and_never_exit_2():
    story = tell(maintenance_lab(), NOW, runs=(RUN,))
    assert story.exit_code <= 1, summary(story)
    inc = [i for i in story.incidents if i.expected_run]
    assert len(inc) == 1 and inc[0].root.finding.text.startswith("maintenance of pve1 (in progress")
    texts = [e.finding.text for e in inc[0].effects]
    assert "fw1 VI_1 is in FAULT" in texts and "swarm node swarm1 is drained" in texts
    assert "Ceph flag noout is set" in texts and "node pve1 is in HA maintenance mode" in texts
    assert all(e.expected_run == RUN.run_id for e in inc[0].effects)
    assert story.layers["vrrp"].level == "warn"  # the tile says it, dimmed to a warning, not green


def test_other_trouble_during_maintenance_still_pages():
    s = maintenance_lab()
    s2 = lab(traefik_kw={"all_down": ("whoami",)})
    s["traefik"] = s2["traefik"]
    story = tell(s, NOW, runs=(RUN,))
    assert story.exit_code == 2
    assert story.incidents[0].root.finding.subject == "whoami@docker" and story.incidents[0].expected_run is None


def test_silenced_root_silences_its_effects():
    sil = Silence("abc123", "pve3", NOW + 3600, "PSU replaced tomorrow", NOW)
    story = tell(node_down_lab(), NOW, silences=(sil,))
    assert story.exit_code == 0 and story.status == "ok"
    inc = story.incidents[0]
    assert inc.root.silenced_by == "abc123" and all(e.silenced_by == "abc123" for e in inc.effects)
    assert story.sources["proxmox"].level == "ok"


def test_silence_by_layer_and_subject_only_that_finding():
    sil = Silence("s1", "traefik:whoami@docker", NOW + 60, "known", NOW)
    story = tell(lab(traefik_kw={"all_down": ("whoami",)}, ceph_kw={"down_osds": (1,)}), NOW, silences=(sil,))
    assert story.status == "warning"  # the OSD still counts
    assert [a.silenced_by for a in story.findings if a.finding.subject == "whoami@docker"] == ["s1"]


def test_json_shape_of_an_incident():
    doc = tell(node_down_lab(), NOW).incidents[0].to_dict()
    assert set(doc) >= {"root", "effects", "severity", "impact"}
    assert set(doc["root"]) >= {"severity", "layer", "subject", "text", "hint"}


def test_run_from_journal_records():
    records = [
        {"event": "run-start", "nodes": ["pve1", "pve2"], "run": "r1"},
        {"event": "apply-start", "node": "pve1", "step": "P1",
         "facts": {"plan": {"node": "pve1", "firewall": "fw1", "vip_move": True, "swarm_node": "swarm1", "osds": [0]}}},
        {"event": "state", "node": "pve1", "state": "failed"},
    ]
    records.insert(2, {"event": "apply-failed", "node": "pve1", "step": "U1", "error": "apt-get failed\x1b[31m"})
    run = run_from_records("r1", records, "failed", None)
    assert run == MaintenanceRun("r1", ("pve1",), "paused after a failure", ("fw1",), ("swarm1",), ("osd.0",),
                                 "U1: apt-get failed␛[31m", waiting=True)
    assert run_from_records("r1", records[:2], "running", False).state == "interrupted"


def test_active_runs_read_the_journal(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    from console.maintenance.journal import Journal
    from console.maintenance_view import active_runs

    assert active_runs("home") == []
    j = Journal.create("home", "node", ["pve2"])
    j.append("apply-start", node="pve2", step="D1",
             facts={"plan": {"node": "pve2", "firewall": "fw2", "vip_move": False, "swarm_node": "swarm2",
                             "osds": [1]}})
    runs = active_runs("home")
    assert [(r.run_id, r.nodes, r.firewalls, r.swarm_nodes, r.osds) for r in runs] == \
        [(j.run_id, ("pve2",), (), ("swarm2",), ("osd.1",))]
    j.append("run-end", state="done")
    settling = active_runs("home")  # its changes take a poll or two to clear
    assert len(settling) == 1 and "settling" in settling[0].state and not settling[0].waiting
    assert active_runs("home", now=time.time() + 600) == []


def test_paused_run_is_a_warning_incident_that_names_the_failure():
    run = MaintenanceRun("r9", ("pve1",), "paused after a failure", ("fw1",), ("swarm1",),
                         error="U1: apt-get dist-upgrade exited 100", waiting=True)
    story = tell(maintenance_lab(), NOW, runs=(run,))
    inc = story.incidents[0]
    assert inc.expected_run == "r9" and inc.root.finding.severity == "warning"
    assert "U1: apt-get dist-upgrade exited 100" in inc.root.finding.text and story.exit_code == 1


def _mail_stopped_on(node: str):
    """maintenance_lab plus an HA container `mail` that should run but is stopped on `node`."""
    from dataclasses import replace

    from console.model import Guest, HaService

    s = maintenance_lab()
    pve = s["proxmox"].data
    mail = Guest(200, "mail", "lxc", node, "stopped", ha_state="started")
    ha = replace(pve.ha, services=(*pve.ha.services, HaService("ct:200", "started", node, "started")))
    s["proxmox"] = replace(s["proxmox"], data=replace(pve, guests=(*pve.guests, mail), ha=ha))
    return s


def test_a_guest_stopped_on_the_node_being_drained_is_expected_not_paging():
    story = tell(_mail_stopped_on("pve1"), NOW, runs=(RUN,))
    assert story.exit_code <= 1, summary(story)
    run = next(i for i in story.incidents if i.expected_run)
    assert "mail (200) should run but is stopped on pve1" in [e.finding.text for e in run.effects]


def test_a_guest_stopped_elsewhere_still_pages_and_a_paused_run_says_so_itself():
    assert tell(_mail_stopped_on("pve2"), NOW, runs=(RUN,)).exit_code == 2
    from dataclasses import replace

    waiting = replace(RUN, state="paused after a failure", waiting=True)
    story = tell(_mail_stopped_on("pve1"), NOW, runs=(waiting,))
    run = next(i for i in story.incidents if i.expected_run)
    assert run.root.finding.severity == "warning" and story.exit_code == 1  # the run's own row: resume or roll back


def test_a_guest_the_run_moves_stopped_on_its_target_is_expected_while_the_run_goes_on():
    from dataclasses import replace

    moving = replace(RUN, moving=("200",))  # pve1's plan moves mail; HA starts it on pve2 a moment after
    story = tell(_mail_stopped_on("pve2"), NOW, runs=(moving,))
    assert story.exit_code <= 1, summary(story)
    # once the run ended (settling) or waits for the operator, a guest left stopped pages again
    assert tell(_mail_stopped_on("pve2"), NOW, runs=(replace(moving, moving=()),)).exit_code == 2


def test_run_from_journal_records_names_the_guests_its_plan_moves_while_in_progress():
    plan = {"node": "pve1", "moves": [{"vmid": 200, "target": "pve2"}, {"vmid": 111, "target": None}]}
    records = [{"event": "run-start", "nodes": ["pve1"]}, {"event": "apply-done", "node": "pve1", "step": "P0",
                                                           "facts": {"plan": plan}}]
    assert run_from_records("r1", records, "running", True).moving == ("200",)
    assert run_from_records("r1", records, "failed", True).moving == ()


def test_the_holder_in_fault_during_the_closing_vip_failback_is_expected():
    """The run's end fails the VIP back by putting its holder fw2 (not the run's own firewall) in
    FAULT for a moment: while that goes on, and a poll or two after it, it does not page."""
    from dataclasses import replace

    s = lab(vrrp_args=(("VI_1", "MASTER", "FAULT", 150, 100),))  # fw2, the holder, in FAULT
    assert tell(s, NOW, runs=(RUN,)).exit_code == 2, "fw2 is not the run's firewall"
    story = tell(s, NOW, runs=(replace(RUN, failing_back=True),))
    assert story.exit_code <= 1, summary(story)
    assert any("fw2" in e.finding.text and "FAULT" in e.finding.text for i in story.incidents if i.expected_run
               for e in i.effects)


def test_the_failback_window_read_from_the_journal(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    from console.maintenance.journal import ClusterLock, Journal
    from console.maintenance_view import FAILBACK_SETTLE, active_runs

    with ClusterLock("home"):
        j = Journal.create("home", "node", ["pve1"])
        assert [r.failing_back for r in active_runs("home")] == [False]
        j.append("vip-failback-start", node="pve1")
        assert [r.failing_back for r in active_runs("home")] == [True]
        j.append("vip-failback", failback={"moved": [], "skipped": []})
        assert [r.failing_back for r in active_runs("home")] == [False]  # done: fw2 has left FAULT
        j.append("run-end", state="done")
    [settling] = active_runs("home")
    assert settling.failing_back  # a FAULT read during the fail-back may be judged a poll later
    assert not active_runs("home", now=time.time() + FAILBACK_SETTLE + 1)[0].failing_back
