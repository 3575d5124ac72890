"""PVE's per-node Ceph service lists: GET /nodes/{n}/ceph/pool, /mgr, /mds, /mon.

Shaped like PVE::API2::Ceph (Pools.pm lspools, MGR.pm, MDS.pm, Mon.pm): each is
PVE::Ceph::Services::get_services_info (name, host, state "stopped" for a
known daemon that is not running) overlaid with what the mons say (mgr dump:
active/standby; fsmap: up:active/up:standby with rank and addr; quorum_status:
rank, addr, quorum and state "running"). Pools come from `osd dump` + `df`:
percent_used is the fraction (0..1) Ceph's df gives.
"""

from __future__ import annotations

from typing import Any

from console.sim import ceph_json
from console.sim import ceph_state as cs
from console.sim.pve_render_ops import ceph_version

CRUSH_RULE_NAME = "replicated_rule"  # the rule pveceph creates pools with (id 0)


def pools(world) -> list[dict[str, Any]]:
    stats = {p["id"]: p["stats"] for p in ceph_json.df(world)["pools"]}
    out = []
    for p in sorted(world.pools, key=lambda p: p.id):
        s = stats.get(p.id, {})
        out.append({
            "pool": p.id, "pool_name": p.name, "size": p.size, "min_size": p.min_size, "pg_num": p.pg_num,
            "crush_rule": 0, "crush_rule_name": CRUSH_RULE_NAME, "pg_autoscale_mode": "on", "type": "replicated",
            "bytes_used": int(s.get("bytes_used", 0)), "percent_used": float(s.get("percent_used", 0.0)),
            "application_metadata": {"cephfs": {"data": p.name}} if p.application == "cephfs" else {p.application: {}},
        })
    return out


def mgrs(world) -> list[dict[str, Any]]:
    active = cs.mgr_active(world)
    standbys = set(cs.mgr_standbys(world))
    out = []
    for name in sorted(world.ceph.mgrs):
        host = cs.mgr_host(world, name)
        state = "active" if name == active else "standby" if name in standbys else "stopped"
        out.append({"name": name, "host": host, "addr": cs.addr_of(world, host), "state": state})
    return out


def mds(world) -> list[dict[str, Any]]:
    states = world.mds_states()
    out = []
    for i, (name, host) in enumerate(sorted(world.ceph.mds.items())):
        entry: dict[str, Any] = {"name": name, "host": host, "state": "stopped"}
        if name in states:
            entry.update({"state": states[name], "rank": 0 if states[name] == "up:active" else -1,
                          "addr": f"{cs.addr_of(world, host)}:6801/{2000 + i}", "standby_replay": False})
        out.append(entry)
    return out


def mons(world) -> list[dict[str, Any]]:
    quorum = set(cs.quorum_names(world))
    out = []
    for rank, name in enumerate(cs.mon_names(world)):
        host = world.ceph.mons[name]
        short, long = ceph_version(world.nodes[host]) if host in world.nodes else ("", "")
        entry: dict[str, Any] = {"name": name, "host": host, "rank": rank, "addr": f"{cs.addr_of(world, host)}:6789/0",
                                 "state": "stopped", "service": 1, "ceph_version": long, "ceph_version_short": short}
        if name in quorum:
            entry.update({"quorum": 1, "state": "running"})
        out.append(entry)
    return out
