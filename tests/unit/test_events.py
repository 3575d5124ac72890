"""console.events.derive on every transition kind; the event store's bounds, rotation and scrubbing."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace

import pytest

from console.event_recorder import EventRecorder, journal_events
from console.event_store import EventLog, append_lines, encode, events_file, read_all, read_file
from console.events import Event, derive, first_seen, vip_holders
from console.poller import Hub, Snapshot
from tests.tui.fixtures import SEEDS

NOW = 1_764_000_000.0


def snaps(**data) -> dict:
    return {source: Snapshot(source, value, ok_at=1.0) for source, value in data.items()}


def seed(source: str):
    return SEEDS[source]()


def kinds(events) -> list[tuple[str, str, str]]:
    return [(e.subject, e.kind, e.severity) for e in events]


def changed(source: str, before, after) -> list[Event]:
    return derive(snaps(**{source: before}), snaps(**{source: after}), NOW)


# ------------------------------------------------------------------ no change, baseline


def test_no_change_no_events_and_a_healthy_baseline_is_silent():
    for source in SEEDS:
        assert changed(source, seed(source), seed(source)) == []
        assert derive({}, snaps(**{source: seed(source)}), NOW) == []


def test_baseline_reports_what_is_already_wrong_as_first_polled():
    pve = seed("proxmox")
    pve = replace(pve, nodes=(replace(pve.nodes[0], status="offline"),) + pve.nodes[1:])
    ceph = seed("ceph")
    ceph = replace(ceph, osds=(replace(ceph.osds[1], up=False),) + ceph.osds[:1] + ceph.osds[2:])
    events = derive({}, snaps(proxmox=pve, ceph=ceph), NOW)
    assert ("pve1", "node-offline", "critical") in kinds(events)
    assert ("osd.1", "osd-down", "critical") in kinds(events)
    assert all(e.text.endswith("(when first polled)") and e.time == NOW for e in events)


# ------------------------------------------------------------------ proxmox


def test_node_offline_then_online():
    pve = seed("proxmox")
    down = replace(pve, nodes=pve.nodes[:1] + (replace(pve.nodes[1], status="offline"),) + pve.nodes[2:])
    assert kinds(changed("proxmox", pve, down)) == [("pve2", "node-offline", "critical")]
    assert kinds(changed("proxmox", down, pve)) == [("pve2", "node-online", "ok")]


def test_node_enters_and_leaves_ha_maintenance():
    pve = seed("proxmox")
    maint = replace(pve, nodes=(replace(pve.nodes[0], ha_lrm="maintenance mode"),) + pve.nodes[1:])
    assert kinds(changed("proxmox", pve, maint)) == [("pve1", "node-maintenance", "info")]
    assert kinds(changed("proxmox", maint, pve)) == [("pve1", "node-maintenance-end", "ok")]


def test_cluster_quorum_lost_and_back():
    pve = seed("proxmox")
    lost = replace(pve, quorate=False)
    assert kinds(changed("proxmox", pve, lost)) == [("homelab", "quorum", "critical")]
    assert kinds(changed("proxmox", lost, pve)) == [("homelab", "quorum", "ok")]


def test_guest_ha_state_change_move_and_status():
    pve = seed("proxmox")
    g = pve.guests[0]
    err = replace(pve, guests=(replace(g, ha_state="error"),) + pve.guests[1:])
    assert kinds(changed("proxmox", pve, err)) == [("vm:100", "ha-state", "critical")]
    assert kinds(changed("proxmox", err, pve)) == [("vm:100", "ha-state", "ok")]
    moved = replace(pve, guests=(replace(g, node="pve3", status="stopped"),) + pve.guests[1:])
    events = changed("proxmox", pve, moved)
    assert kinds(events) == [("100", "guest-moved", "info"), ("100", "guest-status", "warning")]  # HA wants it up
    assert "pve1 → pve3" in events[0].text
    scratch = next(x for x in pve.guests if x.ha_state is None)
    started = replace(pve, guests=tuple(replace(x, status="running") if x is scratch else x for x in pve.guests))
    assert kinds(changed("proxmox", pve, started)) == [(str(scratch.vmid), "guest-status", "info")]


# ------------------------------------------------------------------ ceph


def test_osd_down_up_out_in():
    ceph = seed("ceph")
    down = replace(ceph, osds=(replace(ceph.osds[0], up=False),) + ceph.osds[1:])
    out = replace(ceph, osds=(replace(ceph.osds[0], up=False, in_=False),) + ceph.osds[1:])
    assert kinds(changed("ceph", ceph, down)) == [("osd.0", "osd-down", "critical")]
    assert kinds(changed("ceph", down, out)) == [("osd.0", "osd-out", "warning")]
    assert kinds(changed("ceph", out, ceph)) == [("osd.0", "osd-up", "ok"), ("osd.0", "osd-in", "ok")]
    assert "osd.0 on pve1 is down" in changed("ceph", ceph, down)[0].text


def test_mon_quorum_membership_and_health_and_flags():
    ceph = seed("ceph")
    minus = replace(ceph, quorum=("pve1", "pve3"), health="HEALTH_WARN", flags=frozenset({"noout"}))
    events = changed("ceph", ceph, minus)
    assert kinds(events) == [("ceph", "ceph-health", "warning"), ("mon", "mon-left", "warning"),
                             ("flag noout", "flag-set", "warning")]
    assert "mon pve2 left the quorum (2/3 in quorum)" in events[1].text
    assert kinds(changed("ceph", minus, ceph)) == [("ceph", "ceph-health", "ok"), ("mon", "mon-joined", "ok"),
                                                   ("flag noout", "flag-unset", "ok")]


# ------------------------------------------------------------------ swarm


def test_swarm_node_state_and_availability():
    sw = seed("swarm")
    down = replace(sw, nodes=sw.nodes[:2] + (replace(sw.nodes[2], state="down", availability="drain"),))
    assert kinds(changed("swarm", sw, down)) == [("swarm3", "swarm-node-state", "critical"),
                                                 ("swarm3", "swarm-node-availability", "warning")]
    assert kinds(changed("swarm", down, sw)) == [("swarm3", "swarm-node-state", "ok"),
                                                 ("swarm3", "swarm-node-availability", "ok")]


def test_service_under_replicated_and_converged():
    sw = seed("swarm")
    web = sw.services[1]
    short = replace(sw, services=(sw.services[0], replace(web, replicas_running=1)) + sw.services[2:])
    zero = replace(sw, services=(sw.services[0], replace(web, replicas_running=0)) + sw.services[2:])
    assert kinds(changed("swarm", sw, short)) == [("web", "service-under-replicated", "warning")]
    assert kinds(changed("swarm", sw, zero)) == [("web", "service-under-replicated", "critical")]
    assert changed("swarm", short, zero) == []  # still under-replicated: no new transition
    assert kinds(changed("swarm", zero, sw)) == [("web", "service-converged", "ok")]


# ------------------------------------------------------------------ traefik


def test_router_error_appeared_and_cleared():
    tr = seed("traefik")
    bad = replace(tr, routers=(replace(tr.routers[0], status="warning", errors=("service web@swarm has no servers",)),)
                  + tr.routers[1:])
    events = changed("traefik", tr, bad)
    assert kinds(events) == [("web@swarm", "router-error", "warning")]
    assert "has no servers" in events[0].text
    assert kinds(changed("traefik", bad, tr)) == [("web@swarm", "router-error-cleared", "ok")]


# ------------------------------------------------------------------ vrrp


def _vrrp_master(state, master: str | None, both: bool = False):
    fws = []
    for fw in state.firewalls:
        holds = both or fw.name == master
        fws.append(replace(fw, instances=tuple(replace(i, state="MASTER" if holds else "BACKUP") for i in fw.instances)))
    return replace(state, firewalls=tuple(fws))


def test_vip_holder_change_per_instance_and_split_brain():
    v = seed("vrrp")
    assert vip_holders(v) == {"VI_1": ("fw1",)}
    moved = _vrrp_master(v, "fw2")
    events = changed("vrrp", v, moved)
    assert kinds(events) == [("VI_1", "vip-moved", "info")]
    assert events[0].text == "VI_1 VIP fw1 → fw2"
    split = _vrrp_master(v, None, both=True)
    assert kinds(changed("vrrp", moved, split)) == [("VI_1", "vip-moved", "critical")]
    assert kinds(changed("vrrp", split, v)) == [("VI_1", "vip-moved", "ok")]
    mute = replace(v, firewalls=(v.firewalls[0], replace(v.firewalls[1], answering=False, error="timeout")))
    assert kinds(changed("vrrp", v, mute)) == [("fw2", "keepalived-down", "critical")]


# ------------------------------------------------------------------ sources, hostile text


def test_source_stops_and_resumes_answering():
    ok = Snapshot("swarm", seed("swarm"), ok_at=1.0)
    failing = replace(ok, error="swarm: no answer within 5 s")
    assert kinds(derive({"swarm": ok}, {"swarm": failing}, NOW)) == [("swarm", "source-down", "warning")]
    assert kinds(derive({"swarm": failing}, {"swarm": replace(failing, error=None)}, NOW)) == \
        [("swarm", "source-up", "ok")]


def test_event_text_is_inert_and_capped():
    tr = seed("traefik")
    evil = "\x1b]0;pwned\x07" + "x" * 500
    bad = replace(tr, routers=(replace(tr.routers[0], status="warning", errors=(evil,)),) + tr.routers[1:])
    (event,) = changed("traefik", tr, bad)
    assert "\x1b" not in event.text and "\x07" not in event.text
    assert len(event.text) < 260 and event.text.endswith("chars)")


# ------------------------------------------------------------------ first_seen


def test_first_seen_is_the_start_of_the_current_spell():
    def ev(t, subject, kind, sev):
        return Event(t, "ceph", subject, kind, "", sev)

    events = [ev(1, "mon", "mon-left", "warning"), ev(2, "mon", "mon-left", "critical"),
              ev(3, "mon", "mon-joined", "warning"), ev(4, "osd.1", "osd-down", "critical")]
    assert first_seen(events, "mon") == 1
    assert first_seen(events, "osd.1") == 4
    assert first_seen(events + [ev(5, "mon", "mon-joined", "ok")], "mon") is None
    assert first_seen(events, "pve9") is None
    assert first_seen(events, "mon", layer="source") is None and first_seen(events, "mon", layer="ceph") == 1
    info = [ev(7, "pve1", "node-maintenance", "info")]
    assert first_seen(info, "pve1") is None  # info alone is no trouble ...
    assert first_seen(info, "pve1", "node-maintenance") == 7  # ... unless asked for by kind


# ------------------------------------------------------------------ the store


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    return tmp_path


def test_ring_is_bounded_and_file_round_trips(state_dir):
    log = EventLog(events_file("home"), ring=50)
    log.add(Event(NOW + i, "ceph", f"osd.{i}", "osd-down", f"osd.{i} is down", "critical") for i in range(120))
    assert len(log.ring) == 50 and log.ring[0].subject == "osd.70"
    assert log.flush()
    stored = read_all("home")
    assert len(stored) == 120 and stored[-1] == log.ring[-1]
    assert oct(os.stat(events_file("home")).st_mode & 0o777) == "0o600"
    log.close()
    again = EventRecorder(EventLog.for_cluster("home"), "home")
    again.log.add([Event(NOW + 500, "ceph", "osd.3", "osd-up", "osd.3 is up", "ok")])
    assert asyncio.run(again.load_history()) == 120
    assert again.log.ring[0].subject == "osd.0" and again.log.ring[-1].kind == "osd-up"
    assert again.first_seen("osd.4") == NOW + 4 and again.first_seen("osd.3") is None


def test_file_rotates_and_keeps_three(state_dir):
    path = events_file("home")
    line = encode(Event(NOW, "ceph", "osd.1", "osd-down", "x" * 150, "critical"))
    for _ in range(400):  # ~90 KB in 20 KB files
        append_lines(path, [line], max_bytes=20_000, keep=3)
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["home.jsonl", "home.jsonl.1", "home.jsonl.2", "home.jsonl.3"]
    assert all(p.stat().st_size <= 20_000 for p in path.parent.iterdir())
    assert len(read_all("home")) < 400  # the oldest file was dropped


def test_no_secrets_in_the_file_and_torn_lines_are_skipped(state_dir):
    log = EventLog(events_file("home"))
    log.add([Event(NOW, "source", "proxmox", "source-down",
                   "proxmox stopped answering: Authorization: PVEAPIToken=root@pam!lc=0b3c3e5e-secret password=hunter2",
                   "warning")])
    log.close()
    text = events_file("home").read_text()
    assert "0b3c3e5e-secret" not in text and "hunter2" not in text
    with events_file("home").open("a") as f:
        f.write('{"time": 1, "layer": "ceph", "subj')  # a crash mid-write
    assert len(list(read_file(events_file("home")))) == 1


def test_recorder_on_a_hub_writes_what_changed(state_dir):
    hub = Hub()
    recorder = EventRecorder.attach(hub, "home", wall_clock=lambda: NOW)
    ceph = seed("ceph")
    hub.publish(Snapshot("ceph", ceph, ok_at=1.0))
    hub.publish(Snapshot("ceph", replace(ceph, osds=(replace(ceph.osds[2], up=False),) + ceph.osds[:2]), ok_at=3.0))
    assert kinds(recorder.timeline()) == [("osd.2", "osd-down", "critical")]
    assert recorder.first_seen("osd.2") == NOW
    recorder.detach()
    assert [json.loads(x)["kind"] for x in events_file("home").read_text().splitlines()] == ["osd-down"]


def test_maintenance_journal_steps_become_events(state_dir):
    jdir = state_dir / "journal" / "home"
    jdir.mkdir(parents=True)
    records = [{"t": NOW, "event": "run-start", "kind": "node", "nodes": ["pve2"]},
               {"t": NOW + 1, "event": "apply-start", "node": "pve2", "step": "drain-swarm"},
               {"t": NOW + 2, "event": "call-start", "node": "pve2", "call": "x"},
               {"t": NOW + 3, "event": "apply-failed", "node": "pve2", "step": "drain-swarm", "error": "timeout"}]
    (jdir / "20261201-run.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n{torn")
    events = journal_events("home")
    assert [(e.subject, e.kind, e.severity) for e in events] == [
        ("maintenance", "maint-start", "info"), ("pve2", "maint-step", "info"),
        ("pve2", "maint-step-failed", "critical")]
    assert events[0].text == "maintenance node started on pve2"
    assert "drain-swarm failed: timeout" in events[2].text
    from console.event_recorder import journal_record_event

    assert journal_record_event({"t": 1, "event": "state", "node": "pve2", "state": "failed"}).severity == "critical"
    assert journal_record_event({"t": 1, "event": "run-end", "state": "rolled_back"}).severity == "warning"
    assert journal_record_event({"t": 1, "event": "run-end", "state": "done"}).severity == "ok"
    assert journal_record_event({"event": "run-end"}) is None  # no time: not an event


# ------------------------------------------------------------------ labconsole events


def _store(cluster: str, events: list[Event]) -> None:
    log = EventLog(events_file(cluster))
    log.add(events)
    log.close()


def test_cli_events_text_json_since_limit(state_dir, capsys, monkeypatch):
    import time as _time

    from console.cli import main

    now = _time.time()
    _store("home", [Event(now - 7200, "ceph", "osd.1", "osd-down", "osd.1 on pve2 is down", "critical"),
                    Event(now - 60, "ceph", "osd.1", "osd-up", "osd.1 on pve2 is up", "ok"),
                    Event(now - 30, "vrrp", "VI_1", "vip-moved", "VI_1 VIP fw1 → fw2", "info")])
    assert main(["events", "--cluster", "home"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "crit" in lines[0] and lines[0].endswith("osd.1 on pve2 is down")  # oldest first
    assert main(["events", "--cluster", "home", "--since", "1h", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["kind"] for d in data] == ["osd-up", "vip-moved"]
    assert main(["events", "--cluster", "home", "--limit", "1"]) == 0
    assert "VI_1 VIP fw1 → fw2" in capsys.readouterr().out
    assert main(["events", "--cluster", "home", "--since", "soon"]) == 2
    assert "expected a number with s, m, h, d or w" in capsys.readouterr().err
    # no config file: the one recorded cluster is taken
    monkeypatch.setenv("LABCONSOLE_CONFIG", str(state_dir / "missing.toml"))
    assert main(["events", "--limit", "1"]) == 0
    assert "VI_1" in capsys.readouterr().out
    assert main(["events", "--cluster", "other"]) == 0
    assert "no events for cluster other" in capsys.readouterr().out


# ------------------------------------------------------------------ silences and the journal, read by the recorder


def test_recorder_reads_silences_and_the_journal(state_dir):
    """Silences (console/silences.py) that appeared, expired or were removed between two reads become events."""
    from console import silences

    a1 = silences.add("home", "osd.2", 3600, "disk swap", now=NOW - 10)
    jdir = state_dir / "journal" / "home"
    jdir.mkdir(parents=True)
    (jdir / "run.jsonl").write_text(json.dumps({"t": NOW, "event": "run-start", "kind": "node", "nodes": ["pve1"]}))

    clock = [NOW]
    recorder = EventRecorder(EventLog(events_file("home")), "home", wall_clock=lambda: clock[0])
    added = asyncio.run(recorder.refresh_files())
    assert kinds(added) == [("osd.2", "silence-added", "info")] and "disk swap" in added[0].text
    assert [e.kind for e in recorder.timeline()] == ["silence-added", "maint-start"]
    assert asyncio.run(recorder.refresh_files()) == []  # nothing changed
    silences.add("home", "VI_1", 60, "test", now=NOW + 5)
    clock[0] = NOW + 30
    assert kinds(asyncio.run(recorder.refresh_files())) == [("VI_1", "silence-added", "info")]
    silences.remove("home", a1.id, now=NOW + 31)  # removed by hand
    clock[0] = NOW + 120  # and VI_1's ran out
    changes = asyncio.run(recorder.refresh_files())
    assert sorted(kinds(changes)) == [("VI_1", "silence-expired", "info"), ("osd.2", "silence-removed", "info")]
    recorder.detach()
    # a new session does not record the same silence again
    silences.add("home", "pve3", 3600, "psu", now=NOW + 130)
    again = EventRecorder(EventLog(events_file("home")), "home", wall_clock=lambda: NOW + 200)
    assert kinds(asyncio.run(again.refresh_files())) == [("pve3", "silence-added", "info")]
    again.detach()
    third = EventRecorder(EventLog(events_file("home")), "home", wall_clock=lambda: NOW + 300)
    assert asyncio.run(third.refresh_files()) == []
    third.detach()


def test_without_a_silences_module_nothing_is_recorded(state_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "console.silences", None)  # import fails: not on this branch
    recorder = EventRecorder(EventLog(events_file("home")), "home")
    assert asyncio.run(recorder.refresh_files()) == [] and recorder.maintenance == []
