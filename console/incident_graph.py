"""The dependency graph of the lab, built from the snapshots. Pure, no I/O.

An entity is (kind, name). An edge cause -> effect says "when the cause is
broken, the effect is expected to look broken too":

    node -> its guests, OSDs, mon/mgr/MDS, the cluster quorum
    guest (Swarm VM) -> Swarm node -> the services with tasks on it -> their
        Traefik services -> the routers that use them
    guest (firewall VM) -> firewall -> its VRRP instances
    OSD -> OSD summary checks, PGs -> Ceph health
    Swarm manager -> the managers' majority

`entity_of` says which entity a finding is about, so that findings can be
grouped under the finding that explains them (console.incidents).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.model import Finding

Entity = tuple[str, str]

QUORUM: Entity = ("quorum", "cluster")
HA: Entity = ("ha", "cluster")
CEPH_HEALTH: Entity = ("ceph-health", "ceph")
OSD_SUMMARY: Entity = ("osd-summary", "ceph")
PGS: Entity = ("pgs", "ceph")
MON_SUMMARY: Entity = ("mon-summary", "ceph")
MGR: Entity = ("mgr", "ceph")
MDS: Entity = ("mds", "ceph")
FLAGS: Entity = ("flags", "ceph")
SWARM_MANAGERS: Entity = ("swarm-managers", "swarm")
# Ceph health check codes by what they summarise
CEPH_CODE_ENTITY = (("OSD_FLAGS", FLAGS), ("OSD_", OSD_SUMMARY), ("PG_", PGS), ("MON_", MON_SUMMARY), ("MGR_", MGR),
                    ("MDS_", MDS),
                    ("FS_", MDS), ("OSDMAP_FLAGS", FLAGS), ("OBJECT_", PGS))
PASS_THROUGH = {"swarm-service"}
HOST_RULE = re.compile(r"Host(?:SNI)?\(`([^`]+)`")
LIVE_TASK_STATES = {"running", "starting", "preparing", "assigned", "accepted", "pending", "ready", "orphaned"}


@dataclass
class Graph:
    edges: dict[Entity, set[Entity]] = field(default_factory=dict)
    node_names: set[str] = field(default_factory=set)
    swarm_hosts: set[str] = field(default_factory=set)
    swarm_services: set[str] = field(default_factory=set)
    traefik_services: set[str] = field(default_factory=set)
    routers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # traefik service -> routers using it
    servers: dict[str, tuple[int, int]] = field(default_factory=dict)  # traefik service -> (DOWN, all)
    router_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # router -> hosts in its rule
    firewalls: set[str] = field(default_factory=set)
    vips: dict[str, tuple[str, ...]] = field(default_factory=dict)  # VRRP instance -> its VIPs
    cluster_names: set[str] = field(default_factory=set)
    guest_names: dict[str, str] = field(default_factory=dict)  # vmid -> name

    def add(self, cause: Entity, effect: Entity) -> None:
        if cause != effect:
            self.edges.setdefault(cause, set()).add(effect)

    def reach(self, start: Entity, broken: set[Entity] | None = None) -> set[Entity]:
        """Everything `start` explains, transitively (not itself). With `broken` (the entities
        that have findings), a chain passes only through broken entities (and Swarm services,
        which converge before Traefik notices): pve3 does not explain HEALTH_WARN through an
        osd.2 that is up, nor through a standby mgr it may have held."""
        seen: set[Entity] = set()
        todo = deque(self.edges.get(start, ()))
        while todo:
            e = todo.popleft()
            if e in seen or e == start:
                continue
            seen.add(e)
            if broken is None or e in broken or e[0] in PASS_THROUGH:
                todo.extend(self.edges.get(e, ()))
        return seen


def _data(snapshots: Mapping[str, object], name: str):
    snap = snapshots.get(name)
    return getattr(snap, "data", None)


def build_graph(snapshots: Mapping[str, object]) -> Graph:
    g = Graph()
    pve, ceph = _data(snapshots, "proxmox"), _data(snapshots, "ceph")
    swarm, traefik, vrrp = _data(snapshots, "swarm"), _data(snapshots, "traefik"), _data(snapshots, "vrrp")
    guest_by_name: dict[str, str] = {}
    if pve is not None:
        g.cluster_names = {pve.cluster_name or "cluster", "cluster"}
        for n in pve.nodes:
            g.node_names.add(n.name)
            if n.status != "online":
                g.add(("node", n.name), QUORUM)
                g.add(("node", n.name), HA)
        edges = g.edges
        for guest in pve.guests:  # hot at scale (thousands of guests): no method call per edge
            vmid = str(guest.vmid)
            edges.setdefault(("node", guest.node), set()).add(("guest", vmid))
            g.guest_names[vmid] = guest.name
            guest_by_name[guest.name] = vmid
        for svc in (pve.ha.services if pve.ha else ()):
            g.add(("node", svc.node), ("guest", svc.sid.split(":")[-1]))
    if ceph is not None:
        for osd in ceph.osds:
            if osd.host:
                g.add(("node", osd.host), ("osd", osd.name))
            g.add(("osd", osd.name), OSD_SUMMARY)
            g.add(("osd", osd.name), PGS)
            g.add(("osd", osd.name), CEPH_HEALTH)
        present = {ceph.mgr_active, *ceph.mgr_standbys} | {m.name for m in ceph.mds if m.state.startswith("up")}
        down_nodes = {n.name for n in pve.nodes if n.status != "online"} if pve is not None else set()
        for mon in ceph.mons:
            if mon not in ceph.quorum:
                g.add(("node", mon), MON_SUMMARY)
                g.add(("node", mon), CEPH_HEALTH)
        for node in down_nodes - present:  # its mgr/MDS (if it had one) is gone with it
            g.add(("node", node), MGR)
            g.add(("node", node), MDS)
        for chk in ceph.checks:
            entity = next((e for prefix, e in CEPH_CODE_ENTITY if chk.code.startswith(prefix)),
                          ("ceph-check", chk.code))
            g.add(entity, CEPH_HEALTH)
        for part in (OSD_SUMMARY, PGS, MON_SUMMARY, MGR, MDS, FLAGS):
            g.add(part, CEPH_HEALTH)
        g.add(OSD_SUMMARY, PGS)
    if swarm is not None:
        by_id = {n.id: n for n in swarm.nodes}
        svc_name = {s.id: s.name for s in swarm.services}
        g.swarm_services = set(svc_name.values())
        for n in swarm.nodes:
            g.swarm_hosts.add(n.hostname)
            vm = guest_by_name.get(n.hostname) or guest_by_name.get(n.hostname.split(".")[0])
            if vm is not None:
                g.add(("guest", vm), ("swarm-node", n.hostname))
            if n.role == "manager":
                g.add(("swarm-node", n.hostname), SWARM_MANAGERS)
        pairs = set()
        for t in swarm.tasks:
            if t.state in LIVE_TASK_STATES or t.desired_state == "running":
                host = t.node_name or (by_id[t.node_id].hostname if t.node_id in by_id else None)
                if host and t.service_id in svc_name:
                    pairs.add((host, t.service_id))
        for host, sid in pairs:
            g.add(("swarm-node", host), ("swarm-service", svc_name[sid]))
    if traefik is not None:
        for r in traefik.routers:
            g.router_hosts[r.name] = tuple(HOST_RULE.findall(r.rule or ""))
        for s in traefik.services:
            g.traefik_services.add(s.name)
            g.routers[s.name] = tuple(s.used_by)
            g.servers[s.name] = (sum(x.status == "DOWN" for x in s.servers), len(s.servers))
            for r in s.used_by:
                g.add(("traefik-service", s.name), ("router", r))
            base = s.name.split("@")[0]
            if base in g.swarm_services:
                g.add(("swarm-service", base), ("traefik-service", s.name))
    if vrrp is not None:
        from console.verdict import group_views, vrrp_instances

        views = vrrp_instances(vrrp)
        groups = group_views(vrrp, views)  # a sync group is an entity like an instance: findings name it
        for fw in vrrp.firewalls:
            g.firewalls.add(fw.name)
            vm = guest_by_name.get(fw.name)
            if vm is not None:
                g.add(("guest", vm), ("firewall", fw.name))
            for view in views:  # a silent firewall's instances are unknown: it may hold any of them
                if not fw.answering or fw.name in dict(view.members):
                    g.add(("firewall", fw.name), ("vrrp-instance", view.name))
            for grp in groups:
                if not fw.answering or any(fw.name in dict(v.members) for v in grp.instances):
                    g.add(("firewall", fw.name), ("vrrp-instance", grp.name))
        for view in views:
            g.vips[view.name] = view.vips
        for grp in groups:
            g.vips[grp.name] = grp.vips
    return g


def entity_of(f: Finding, g: Graph, source_finding: bool = False) -> Entity:
    """Which entity a finding is about (its own ("finding", ...) when nothing fits)."""
    s = f.subject
    if source_finding:
        return ("source", s)
    if f.layer == "cluster":
        if s in g.node_names:
            return ("node", s)
        if s == "ha":
            return HA
        if s in g.cluster_names:
            return QUORUM
    elif f.layer == "guests":
        if s in g.node_names:  # its backup storages not readable
            return ("node", s)
        vmid = s.split(":")[-1]
        if vmid.isdigit():
            return ("guest", vmid)
    elif f.layer == "ceph":
        if s.startswith("osd."):
            return ("osd", s)
        if s == "ceph":
            return CEPH_HEALTH
        if s in ("pgs",):
            return PGS
        if s == "osds":
            return OSD_SUMMARY
        if s == "mon":
            return MON_SUMMARY
        if s in ("mgr", "mds"):
            return MGR if s == "mgr" else MDS
        if s.startswith("flag "):
            return FLAGS
        for prefix, entity in CEPH_CODE_ENTITY:
            if s.startswith(prefix):
                return entity
        return ("ceph-check", s)
    elif f.layer == "swarm":
        if s in g.swarm_hosts:
            return ("swarm-node", s)
        if s == "managers":
            return SWARM_MANAGERS
        return ("swarm-service", s)
    elif f.layer == "traefik":
        return ("traefik-service", s) if s in g.traefik_services else ("router", s)
    elif f.layer == "vrrp":
        return ("firewall", s) if s in g.firewalls else ("vrrp-instance", s)
    return ("finding", f"{f.layer}|{s}")
