"""The planner alone: from snapshots to a plan, no I/O."""

from console.config_model import ClusterConfig, FirewallConfig, SwarmConfig, VrrpConfig
from console.maintenance.planner import make_plan, place_guests
from console.model import (
    CephState,
    Firewall,
    Guest,
    HaService,
    HaStatus,
    MdsDaemon,
    Node,
    Osd,
    ProxmoxState,
    SwarmNode,
    SwarmState,
    VrrpInstance,
    VrrpState,
)

G = 1024**3
CLUSTER = ClusterConfig(name="lab", swarm=SwarmConfig(managers=("unix:///x",)),
                        vrrp=VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1", 101),
                                                   FirewallConfig("fw2", "fw2", 102))))


def pve(guests, nodes=None, ha=()):
    nodes = nodes or tuple(Node(f"pve{i}", "online", maxmem=16 * G, mem=4 * G, pve_version="8.2.4") for i in (1, 2, 3))
    return ProxmoxState("lab", True, 3, 3, nodes, tuple(guests),
                        HaStatus(True, "pve1", "active",
                                 services=tuple(HaService(s, "started", n, "started") for s, n in ha)))


def test_place_guests_biggest_first_onto_most_free():
    assert place_guests([Guest(1, "a", "qemu", "x", "running", maxmem=6 * G),
                         Guest(2, "b", "qemu", "x", "running", maxmem=5 * G)],
                        {"pve2": 8 * G, "pve3": 7 * G}) == {1: "pve2", 2: "pve3"}
    assert place_guests([Guest(1, "a", "qemu", "x", "running", maxmem=9 * G)], {"pve2": 8 * G}) == {1: None}


def test_methods_per_kind_and_local_resources():
    guests = [Guest(101, "fw1", "qemu", "pve1", "running", maxmem=1 * G, ha_state="started"),
              Guest(110, "vm", "qemu", "pve1", "running", maxmem=2 * G),
              Guest(200, "mail", "lxc", "pve1", "running", maxmem=2 * G),
              Guest(111, "gpu", "qemu", "pve1", "running", maxmem=4 * G),
              Guest(113, "tmpl", "qemu", "pve1", "stopped", maxmem=2 * G)]
    plan = make_plan("pve1", pve(guests, ha=[("vm:101", "pve1")]), CLUSTER, local_resources={111: ["hostpci0"]})
    how = {m.vmid: m.method for m in plan.moves}
    assert how == {101: "ha", 110: "live", 200: "restart", 111: "stays"}
    assert plan.ok, plan.problems
    text = plan.text()
    assert "restart-migrate" in text and "local resources (hostpci0)" in text


def test_guests_that_do_not_fit_block_the_plan():
    nodes = (Node("pve1", "online", maxmem=16 * G, mem=15 * G, pve_version="8.2.4"),
             Node("pve2", "online", maxmem=16 * G, mem=15 * G, pve_version="8.2.4"))
    plan = make_plan("pve1", pve([Guest(1, "big", "qemu", "pve1", "running", maxmem=8 * G)], nodes), CLUSTER)
    assert not plan.ok and "does not fit" in plan.problems[0]


def test_never_onto_an_older_pve():
    nodes = (Node("pve1", "online", maxmem=16 * G, pve_version="8.3.0"),
             Node("pve2", "online", maxmem=16 * G, pve_version="8.2.4"))
    plan = make_plan("pve1", pve([Guest(1, "a", "qemu", "pve1", "running", maxmem=G)], nodes), CLUSTER)
    assert any("same or a newer PVE" in p for p in plan.problems)


def test_vip_moves_first_when_the_master_firewall_is_here_and_swarm_drains_only_when_it_stops():
    guests = [Guest(101, "fw1", "qemu", "pve1", "running", maxmem=G),
              Guest(102, "fw2", "qemu", "pve2", "running", maxmem=G),
              Guest(121, "swarm1", "qemu", "pve1", "running", maxmem=G)]
    vrrp = VrrpState((Firewall("fw1", "fw1", True, instances=(VrrpInstance("VI_1", 51, "MASTER", 150, 150),)),
                      Firewall("fw2", "fw2", True, instances=(VrrpInstance("VI_1", 51, "BACKUP", 100, 100),))))
    swarm = SwarmState(tuple(SwarmNode(str(i), f"swarm{i}", "manager", "active", "ready") for i in (1, 2, 3)), (), ())
    plan = make_plan("pve1", pve(guests), CLUSTER, swarm=swarm, vrrp=vrrp)
    assert plan.firewall == "fw1" and plan.vip_move and plan.peer_firewall == "fw2"
    assert plan.swarm_node == "swarm1" and not plan.swarm_drain  # it live-migrates
    stays = make_plan("pve1", pve(guests), CLUSTER, swarm=swarm, vrrp=vrrp, local_resources={121: ["usb0"]})
    assert stays.swarm_drain


def test_ceph_stopping_the_standby_mds_is_fine_the_active_needs_a_standby():
    osds = tuple(Osd(i, f"pve{i + 1}", True, True) for i in range(3))
    base = dict(health="HEALTH_OK", osds=osds, mons=("pve1", "pve2", "pve3"), quorum=("pve1", "pve2", "pve3"),
                mgr_active="pve1", mgr_available=True, mgr_standbys=("pve2", "pve3"), pg_states=(("active+clean", 64),),
                num_pgs=64)
    ceph = CephState(mds=(MdsDaemon("pve1", "up:active"), MdsDaemon("pve2", "up:standby")), **base)
    standby_node = make_plan("pve2", pve([]), CLUSTER, ceph=ceph, ceph_ok_to_stop=(True, []))
    assert standby_node.ceph_can_spare and standby_node.osds == [1] and standby_node.mds == ["pve2"]
    lonely = CephState(mds=(MdsDaemon("pve1", "up:active"),), **base)
    active_node = make_plan("pve1", pve([]), CLUSTER, ceph=lonely, ceph_ok_to_stop=(True, []))
    assert active_node.ceph_can_spare is False
    assert any("active MDS runs here" in r for r in active_node.ceph_reasons)
