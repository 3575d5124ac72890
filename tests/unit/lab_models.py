"""A small lab built from model objects (3 nodes, Ceph, Swarm VMs, Traefik, a firewall pair) for the
verdict and incident tests; each builder takes overrides."""

from dataclasses import replace

from console.model import (
    CephCheck, CephState, Firewall, Guest, HaService, HaStatus, Node, Osd, ProxmoxState, SwarmNode, SwarmService,
    SwarmState, SwarmTask, TraefikRouter, TraefikServer, TraefikService, TraefikState, VrrpInstance, VrrpState,
)
from console.poller import Snapshot

NOW = 1000.0


def pve(down=(), maint=(), guests=None, **kw):
    nodes = tuple(Node(f"pve{i}", "offline" if f"pve{i}" in down else "online",
                       ha_lrm="maintenance mode" if f"pve{i}" in maint else "active") for i in (1, 2, 3))
    if guests is None:
        guests = (Guest(101, "fw1", "qemu", "pve1", "running", ha_state="started"),
                  Guest(102, "fw2", "qemu", "pve2", "running", ha_state="started"),
                  Guest(111, "jellyfin", "qemu", "pve3", "unknown" if "pve3" in down else "running"),
                  *(Guest(120 + i, f"swarm{i}", "qemu", f"pve{i}", "unknown" if f"pve{i}" in down else "running")
                    for i in (1, 2, 3)))
    ha = HaStatus(True, "pve1", "active", services=(HaService("vm:101", "started", "pve1", "started"),
                                                    HaService("vm:102", "started", "pve2", "started")))
    votes = 3 - len(down)
    return replace(ProxmoxState("lab", votes * 2 > 3, votes, 3, nodes, guests, ha), **kw)


def ceph(down_osds=(), flags=frozenset(), **kw):
    osds = tuple(Osd(i, f"pve{i + 1}", i not in down_osds, True, utilization=30.0) for i in range(3))
    checks = ()
    pg_states = (("active+clean", 128),)
    health = "HEALTH_OK"
    if down_osds:
        health = "HEALTH_WARN"
        checks = (CephCheck("OSD_DOWN", "HEALTH_WARN", f"{len(down_osds)} osds down"),
                  CephCheck("PG_DEGRADED", "HEALTH_WARN", "Degraded data redundancy"))
        pg_states = (("active+undersized+degraded", 128),)
    if flags:
        health = "HEALTH_WARN"
        checks += (CephCheck("OSDMAP_FLAGS", "HEALTH_WARN", "noout flag(s) set"),)
    base = CephState(health, checks, mons=("pve1", "pve2", "pve3"), quorum=("pve1", "pve2", "pve3"),
                     mgr_active="pve1", mgr_available=True, mgr_standbys=("pve2",), osds=osds, num_osds=3,
                     num_up_osds=3 - len(down_osds), num_in_osds=3, flags=frozenset(flags), pg_states=pg_states,
                     num_pgs=128)
    return replace(base, **kw)


def swarm(down=(), drained=()):
    nodes = tuple(SwarmNode(f"n{i}", f"swarm{i}", "manager", "drain" if f"swarm{i}" in drained else "active",
                            "down" if f"swarm{i}" in down else "ready", i == 1,
                            "unreachable" if f"swarm{i}" in down else "reachable") for i in (1, 2, 3))
    services = (SwarmService("s1", "web", "replicated", 2, 2, "img"), SwarmService("s2", "whoami", "replicated", 1, 1, "img"))
    tasks = (SwarmTask("t1", "s1", "n1", "running", "running", 1, "swarm1"),
             SwarmTask("t2", "s1", "n3", "running", "shutdown" if "swarm3" in down else "running", 2, "swarm3"),
             SwarmTask("t3", "s2", "n2", "running", "running", 1, "swarm2"))
    return SwarmState(nodes, services, tasks)


def traefik(down_servers=(), all_down=()):
    def lb(name, urls):
        state = "DOWN" if name in all_down else None
        return TraefikService(f"{name}@docker", "http", "loadbalancer", "enabled",
                              tuple(TraefikServer(u, state or ("DOWN" if u in down_servers else "UP")) for u in urls),
                              used_by=(f"{name}@docker",))
    routers = (TraefikRouter("web@docker", "http", "Host(`web.lab`)", ("websecure",), "web", "enabled"),
               TraefikRouter("whoami@docker", "http", "Host(`whoami.lab`)", ("websecure",), "whoami", "enabled"))
    return TraefikState("3.1", routers, (lb("web", ("http://a", "http://c")), lb("whoami", ("http://b",))))


def vrrp(*instances, answering=(True, True), preferred="fw1"):
    """instances: (name, fw1 state, fw2 state, fw1 priority, fw2 priority)."""
    instances = instances or (("VI_1", "MASTER", "BACKUP", 150, 100),)
    fws = []
    for k, fw in enumerate(("fw1", "fw2")):
        insts = tuple(VrrpInstance(name, 50 + n, states[k], prio[k], prio[k], (f"10.0.0.{n + 1}/24",))
                      for n, (name, *rest) in enumerate(instances) for states, prio in [(rest[:2], rest[2:])])
        ok = answering[k]
        fws.append(Firewall(fw, fw, ok, None if ok else "connection refused", insts if ok else ()))
    return VrrpState(tuple(fws), preferred_master=preferred)


def snaps(**data):
    return {k: Snapshot(k, v, ok_at=NOW, interval=2.0) for k, v in data.items()}


def lab(pve_kw=None, ceph_kw=None, swarm_kw=None, traefik_kw=None, vrrp_args=(), vrrp_kw=None):
    return snaps(proxmox=pve(**(pve_kw or {})), ceph=ceph(**(ceph_kw or {})), swarm=swarm(**(swarm_kw or {})),
                 traefik=traefik(**(traefik_kw or {})), vrrp=vrrp(*vrrp_args, **(vrrp_kw or {})))
