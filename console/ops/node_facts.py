"""What the polls already know about one node, gathered for its detail pane:
status, versions from the poll, pending updates, HA (LRM state, HA resources
placed there), its guests counted by state, and the Ceph daemons that run on it.

Pure: it reads a ProxmoxState and a CephState (either may be None) and never asks
the cluster; the node's software (subscription, APT repositories) is read on
demand by console/ops/node_detail.py. Ceph names its mon, mgr and mds daemons
after the host in a PVE cluster (pveceph), so a daemon is "on" a node when its
name is the node's name or starts with it; an OSD says its host.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CephDaemon:
    name: str  # "mon.pve1", "mgr.pve1", "mds.pve1", "osd.3"
    state: str  # "in quorum", "active", "standby", "up, in", "down, out", ...
    ok: bool


@dataclass(frozen=True)
class NodeFacts:
    node: str
    status: str  # "online" | "offline" | "unknown" | "not in the last poll"
    local: bool = False
    pve_version: str | None = None
    kernel: str | None = None  # running, as the poll read it
    pending_updates: int | None = None
    ha_lrm: str | None = None
    ha_resources: int = 0  # HA resources PVE places on this node
    running: int = 0
    stopped: int = 0  # stopped, paused or unknown: everything not running and not a template
    templates: int = 0
    ceph: tuple[CephDaemon, ...] | None = None  # None: no Ceph data


def _on_node(name: str, node: str) -> bool:
    return name == node or name.startswith((f"{node}-", f"{node}."))


def ceph_daemons(node: str, ceph) -> tuple[CephDaemon, ...]:
    out = [CephDaemon(f"mon.{m}", "in quorum" if m in ceph.quorum else "out of quorum", m in ceph.quorum)
           for m in ceph.mons if _on_node(m, node)]
    if ceph.mgr_active and _on_node(ceph.mgr_active, node):
        out.append(CephDaemon(f"mgr.{ceph.mgr_active}", "active" if ceph.mgr_available else "not available",
                              ceph.mgr_available))
    out += [CephDaemon(f"mgr.{m}", "standby", True) for m in ceph.mgr_standbys if _on_node(m, node)]
    out += [CephDaemon(f"mds.{d.name}", d.state + (f" ({d.fs})" if d.fs else ""), d.state.startswith("up"))
            for d in ceph.mds if _on_node(d.name, node)]
    out += [CephDaemon(o.name, f"{'up' if o.up else 'down'}, {'in' if o.in_ else 'out'}", o.up and o.in_)
            for o in sorted(ceph.osds, key=lambda o: o.id) if o.host == node]
    return tuple(out)


def node_facts(node: str, pve, ceph) -> NodeFacts:
    """The facts about `node` in the latest polls (pve: ProxmoxState or None, ceph: CephState or None)."""
    n = next((x for x in pve.nodes if x.name == node), None) if pve is not None else None
    guests = [g for g in pve.guests if g.node == node] if pve is not None else []
    ha = pve.ha if pve is not None else None
    lrm = dict(ha.lrm).get(node) if ha is not None else None
    return NodeFacts(
        node, n.status if n is not None else "not in the last poll", bool(n and n.local),
        n.pve_version if n is not None else None, n.kernel if n is not None else None,
        n.pending_updates if n is not None else None, (n.ha_lrm if n is not None else None) or lrm,
        sum(1 for s in ha.services if s.node == node) if ha is not None else 0,
        sum(1 for g in guests if g.status == "running" and not g.template),
        sum(1 for g in guests if g.status != "running" and not g.template),
        sum(1 for g in guests if g.template),
        ceph_daemons(node, ceph) if ceph is not None else None)
