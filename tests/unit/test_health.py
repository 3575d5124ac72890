"""Health rules: each rule fires on the state it is about, and only then."""

from dataclasses import replace

from console.health import evaluate, overall
from console.model import (
    CephCheck,
    CephState,
    Firewall,
    Guest,
    HaService,
    HaStatus,
    Node,
    Osd,
    ProxmoxState,
    SwarmNode,
    SwarmService,
    SwarmState,
    TraefikRouter,
    TraefikServer,
    TraefikService,
    TraefikState,
    VrrpInstance,
    VrrpState,
)
from console.poller import Snapshot

NOW = 1000.0


def pve(**kw):
    nodes = tuple(Node(f"pve{i}", "online") for i in (1, 2, 3))
    guests = (Guest(100, "web", "qemu", "pve1", "running"),)
    ha = HaStatus(True, "pve1", "active", services=(HaService("vm:100", "started", "pve1", "started"),))
    base = ProxmoxState("lab", True, 3, 3, nodes, guests, ha)
    return replace(base, **kw)


def ceph(**kw):
    osds = tuple(Osd(i, f"pve{i + 1}", True, True, utilization=40.0) for i in range(3))
    base = CephState("HEALTH_OK", osds=osds, num_osds=3, num_up_osds=3, num_in_osds=3, mons=("a", "b", "c"),
                     quorum=("a", "b", "c"), mgr_active="a", mgr_available=True, mgr_standbys=("b",),
                     pg_states=(("active+clean", 128),), num_pgs=128)
    return replace(base, **kw)


def vrrp(states, answering=(True, True)):
    fws = tuple(Firewall(f"fw{i + 1}", f"fw{i + 1}", ans, None if ans else "connection refused",
                         (VrrpInstance("VI_1", 51, st, 150 - 50 * i, 150 - 50 * i),) if ans else ())
                for i, (st, ans) in enumerate(zip(states, answering, strict=False)))
    return VrrpState(fws, preferred_master="fw1")


def snaps(**data):
    return {k: Snapshot(k, v, ok_at=NOW, interval=2.0) for k, v in data.items()}


def texts(findings):
    return [f.text for f in findings]


def test_healthy_lab_is_ok():
    sw = SwarmState((SwarmNode("a", "swarm1", "manager", "active", "ready", True),),
                    (SwarmService("s", "web", "replicated", 2, 2, "img"),), ())
    tr = TraefikState("3.1", (TraefikRouter("web@docker", "http", "Host(`a`)", ("web",), "web", "enabled"),),
                      (TraefikService("web@docker", "http", "loadbalancer", "enabled",
                                      (TraefikServer("http://1", "UP"),)),))
    f = evaluate(snaps(proxmox=pve(), ceph=ceph(), swarm=sw, traefik=tr, vrrp=vrrp(["MASTER", "BACKUP"])), NOW)
    assert overall(f) == "ok", texts(f)


def test_node_offline_and_quorum_risk():
    nodes = (Node("pve1", "online"), Node("pve2", "offline"), Node("pve3", "online"))
    f = evaluate(snaps(proxmox=pve(nodes=nodes, votes=2)), NOW)
    assert any("pve2 is offline" in t for t in texts(f))
    assert any("quorum at risk" in t for t in texts(f))
    assert overall(f) == "critical"


def test_quorum_lost():
    f = evaluate(snaps(proxmox=pve(quorate=False, votes=1)), NOW)
    assert any("lost quorum" in t for t in texts(f))


def test_ha_error_and_guest_expected_running():
    ha = HaStatus(True, "pve1", "active", services=(HaService("vm:100", "error", "pve1", "started"),))
    guests = (Guest(100, "web", "qemu", "pve1", "stopped"),)
    f = evaluate(snaps(proxmox=pve(ha=ha, guests=guests)), NOW)
    t = texts(f)
    assert any("vm:100 is in state error" in x for x in t)
    assert any("should run but is stopped" in x for x in t)


def test_ceph_osd_down_names_osd_and_host_and_flag_noout():
    osds = (Osd(0, "pve1", True, True), Osd(1, "pve2", False, True), Osd(2, "pve3", True, True, utilization=91.0))
    c = ceph(health="HEALTH_WARN", osds=osds, flags=frozenset({"noout"}),
             checks=(CephCheck("OSD_DOWN", "HEALTH_WARN", "1 osds down"),),
             pg_states=(("active+clean", 100), ("active+undersized+degraded", 28)))
    t = texts(evaluate(snaps(ceph=c), NOW))
    assert any("osd.1 on pve2 is down" in x for x in t)
    assert any("OSD_DOWN" in x for x in t)
    assert any("flag noout" in x for x in t)
    assert any("28/128 PGs not active+clean" in x for x in t)
    assert any("osd.2 on pve3 is 91% full" in x for x in t)


def test_ceph_no_standby_mgr_or_mds():
    from console.model import MdsDaemon
    c = ceph(mgr_standbys=(), mds=(MdsDaemon("a", "up:active", "cephfs"),))
    t = texts(evaluate(snaps(ceph=c), NOW))
    assert any("no standby mgr" in x for x in t)
    assert any("no standby MDS" in x for x in t)


def test_swarm_rules():
    nodes = (SwarmNode("a", "swarm1", "manager", "drain", "ready", True),
             SwarmNode("b", "swarm2", "manager", "active", "down"),
             SwarmNode("c", "swarm3", "manager", "active", "ready"))
    services = (SwarmService("1", "web", "replicated", 1, 2, "img"),
                SwarmService("2", "db", "replicated", 0, 1, "img"),
                SwarmService("3", "api", "replicated", 2, 2, "img", update_state="paused",
                             update_message="task failed"))
    t = texts(evaluate(snaps(swarm=SwarmState(nodes, services, ())), NOW))
    assert any("swarm1 is drained" in x for x in t)
    assert any("swarm2 is down" in x for x in t)
    assert any("web is under-replicated (1/2)" in x for x in t)
    assert any("db has no running task" in x for x in t)
    assert any("api: update paused" in x for x in t)
    assert any("one more loss ends the majority" in x for x in t)


def test_traefik_rules():
    tr = TraefikState("3",
                      (TraefikRouter("bad@file", "http", None, (), "nope", "disabled",
                                     errors=("the service does not exist",)),),
                      (TraefikService("web@docker", "http", "loadbalancer", "enabled",
                                      (TraefikServer("http://a", "DOWN"), TraefikServer("http://b", "UP"))),))
    t = texts(evaluate(snaps(traefik=tr), NOW))
    assert any("router bad@file is disabled" in x for x in t)
    assert any("1/2 servers DOWN" in x for x in t)


def test_vrrp_split_brain_no_master_not_preferred_and_dead_daemon():
    t = texts(evaluate(snaps(vrrp=vrrp(["MASTER", "MASTER"])), NOW))
    assert any("SPLIT BRAIN" in x for x in t)
    t = texts(evaluate(snaps(vrrp=vrrp(["BACKUP", "BACKUP"])), NOW))
    assert any("no MASTER" in x for x in t)
    t = texts(evaluate(snaps(vrrp=vrrp(["BACKUP", "MASTER"])), NOW))
    assert any("not the preferred fw1" in x for x in t)
    f = evaluate(snaps(vrrp=vrrp(["MASTER", "BACKUP"], answering=(False, True))), NOW)
    assert any("fw1 is not answering" in x for x in texts(f))
    assert overall(f) == "critical"


def test_stale_unreachable_and_unconfigured_sources():
    stale = Snapshot("ceph", ceph(), ok_at=NOW - 40, error="ceph: timeout", interval=2.0)
    never = Snapshot("swarm", None, error="swarm: connection refused")
    absent = Snapshot("traefik", configured=False)
    f = evaluate({"ceph": stale, "swarm": never, "traefik": absent}, NOW)
    by_subject = {x.subject: x for x in f}
    assert by_subject["ceph"].severity == "warning" and "40 s old" in by_subject["ceph"].text
    assert by_subject["swarm"].severity == "unknown"
    assert by_subject["traefik"].severity == "info" and "not configured" in by_subject["traefik"].text
    assert overall(f) == "unknown"


def test_findings_sorted_by_severity():
    f = evaluate(snaps(proxmox=pve(nodes=(Node("pve1", "online"), Node("pve2", "offline"), Node("pve3", "online")),
                                   votes=2),
                       vrrp=vrrp(["BACKUP", "MASTER"])), NOW)
    order = [x.severity for x in f]
    assert order == sorted(order, key=lambda s: {"critical": 0, "unknown": 1, "warning": 2, "info": 3}[s])


def test_many_near_full_osds_are_one_finding():
    osds = tuple(Osd(i, f"pve{i % 3 + 1}", True, True, utilization=86.0 + i % 5) for i in range(12))
    t = texts(evaluate(snaps(ceph=ceph(osds=osds, num_osds=12, num_up_osds=12, num_in_osds=12)), NOW))
    assert [x for x in t if "full" in x] == ["12 OSDs are over 85% full (fullest osd.4 90%)"]
