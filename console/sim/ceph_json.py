"""Ceph's JSON documents rendered from the sim's World.

Shapes follow what Ceph Pacific and later print for `ceph <cmd> -f json`
(flat `osdmap`, `health.checks.CODE.{severity, summary{message,count}, muted}`),
checked against real outputs in ../shared/upstream-fixtures/ceph by
tests/sim/test_ceph_json_conformance.py. Used by the SSH front (`ceph ... -f json`)
and by the PVE API front (`/cluster/ceph/status` returns `status(world)`).

`osd tree|dump|df` live in ceph_json_osd, `df`, `mon dump`, `mgr stat` in
ceph_json_cluster, shared state in ceph_state; all are re-exported here so
callers only need `ceph_json`.
"""

from __future__ import annotations

from typing import Any

from console.sim import ceph_state as cs
from console.sim.ceph_json_cluster import df, mgr_stat, mon_dump
from console.sim.ceph_json_osd import osd_df, osd_dump, osd_tree
from console.sim.ceph_state import OSDMAP_FLAG_BITS, SETTABLE_FLAGS

__all__ = [
    "OSDMAP_FLAG_BITS", "SETTABLE_FLAGS", "df", "health", "health_detail", "mgr_stat", "mon_dump", "mon_stat",
    "osd_df", "osd_dump", "osd_tree", "pg_stat", "status",
]


# --------------------------------------------------------------- documents
def health(world, detail: bool = False) -> dict:
    """`ceph health [detail] -f json`."""
    status, checks = cs.health_checks(world, detail)
    return {"status": status, "checks": checks, "mutes": []}


def health_detail(world) -> dict:
    return health(world, detail=True)


def status(world) -> dict:
    """`ceph status -f json` (Pacific+ flat shape) — also PVE's /cluster/ceph/status."""
    t = cs.tracker(world)
    now = world.now()
    mons = cs.mon_names(world)
    quorum_names = cs.quorum_names(world)
    osds = list(world.osds.values())
    pg_states = [(s, int(n)) for s, n in world.pg_states() if n]
    num_pgs = sum(n for _, n in pg_states)
    totals = cs.pg_totals(world)
    pgmap: dict[str, Any] = {
        "pgs_by_state": [{"state_name": s, "count": n} for s, n in sorted(pg_states, key=lambda x: -x[1])],
        "num_pgs": num_pgs,
        "num_pools": len(world.pools),
        "num_objects": int(world.ceph.total_objects),
        **totals,
    }
    ceph = world.ceph
    if ceph.degraded_objects:
        degraded_total = world.object_copies()
        pgmap["degraded_objects"] = int(ceph.degraded_objects)
        pgmap["degraded_total"] = degraded_total
        pgmap["degraded_ratio"] = ceph.degraded_objects / degraded_total if degraded_total else 0.0
    if ceph.recovering_pgs:
        # one 1 GbE link per node: recovery tops out near 110 MiB/s of 4 MiB RBD objects
        rate = min(110 * 2**20, ceph.recovering_pgs * 2**20)
        pgmap["recovering_objects_per_sec"] = rate // (4 * 2**20)
        pgmap["recovering_bytes_per_sec"] = rate
        pgmap["recovering_keys_per_sec"] = 0
        pgmap["num_objects_recovered"] = 2 * (rate // (4 * 2**20))
        pgmap["num_bytes_recovered"] = 2 * rate
        pgmap["num_keys_recovered"] = 0
    running_guests = sum(1 for g in world.guests.values() if g.status == "running")
    from console.sim.pve_rrd import wave  # h-events: client IO moves a little every 4 s (sparklines)

    busy = wave("ceph/client", int(world.now()), 4)
    pgmap["read_bytes_sec"] = int(41_000 * running_guests * busy)
    pgmap["write_bytes_sec"] = int(97_000 * running_guests * busy)
    pgmap["read_op_per_sec"] = int(3 * running_guests * busy)
    pgmap["write_op_per_sec"] = int(7 * running_guests * busy)

    progress: dict[str, Any] = {}
    if ceph.recovering_pgs or ceph.degraded_pgs:
        if not t.recovery_total:
            t.recovery_started = now
        t.recovery_total = max(t.recovery_total, ceph.recovering_pgs + ceph.degraded_pgs)
        left = ceph.recovering_pgs + ceph.degraded_pgs
        frac = 1.0 - left / t.recovery_total if t.recovery_total else 0.0
        bar = "=" * int(frac * 28) + "." * (28 - int(frac * 28))
        progress[t.recovery_event] = {
            "message": f"Global Recovery Event ({int(now - t.recovery_started)}s)\n      [{bar}] ",
            "progress": frac,
            "add_to_ceph_s": True,
        }
    else:
        t.recovery_total = 0

    mds_up = cs.mds_up(world)
    active = ceph.mds_active if ceph.mds_active in mds_up else None
    fsmap: dict[str, Any] = {"epoch": t.fsmap_epoch}
    if ceph.mds:
        fsmap.update({"id": 1, "up": 1 if active else 0, "in": 1, "max": 1})
    fsmap["by_rank"] = (
        [{"filesystem_id": 1, "rank": 0, "name": active, "status": "up:active", "gid": 24100 + sorted(ceph.mds).index(active)}]
        if active
        else []
    )
    fsmap["up:standby"] = len([m for m in mds_up if m != active])

    hst_status, checks = cs.health_checks(world, detail=False)
    mgr_active = cs.mgr_active(world)
    return {
        "fsid": ceph.fsid,
        "health": {"status": hst_status, "checks": checks, "mutes": []},
        "election_epoch": t.election_epoch,
        "quorum": [mons.index(m) for m in quorum_names],
        "quorum_names": quorum_names,
        "quorum_age": int(now - t.quorum_since),
        "monmap": {"epoch": 3, "min_mon_release_name": cs.MON_RELEASE, "num_mons": len(mons)},
        "osdmap": {
            "epoch": t.osdmap_epoch,
            "num_osds": len(osds),
            "num_up_osds": sum(1 for o in osds if o.up),
            "osd_up_since": int(t.up_since),
            "num_in_osds": sum(1 for o in osds if o.in_),
            "osd_in_since": int(t.in_since),
            "num_remapped_pgs": 0,
        },
        "pgmap": pgmap,
        "fsmap": fsmap,
        "mgrmap": {
            "available": mgr_active is not None,
            "num_standbys": len(cs.mgr_standbys(world)),
            "modules": list(cs.MGR_MODULES),
            "services": {"restful": f"https://{cs.addr_of(world, mgr_active)}:8003/"} if mgr_active else {},
        },
        "servicemap": {"epoch": 1, "modified": cs.iso(t.created), "services": {}},
        "progress_events": progress,
    }


def pg_stat(world) -> dict:
    """`ceph pg stat -f json`."""
    states = [(s, int(n)) for s, n in world.pg_states() if n]
    totals = cs.pg_totals(world)
    summary: dict[str, Any] = {
        "num_pg_by_state": [{"name": s, "num": n} for s, n in sorted(states, key=lambda x: -x[1])],
        "num_pgs": sum(n for _, n in states),
        "num_bytes": totals["data_bytes"],
        "total_bytes": totals["bytes_total"],
        "total_avail_bytes": totals["bytes_avail"],
        "total_used_bytes": totals["bytes_used"],
        "total_used_raw_bytes": totals["bytes_used"],
    }
    ceph = world.ceph
    if ceph.degraded_objects:
        total = world.object_copies()
        summary["degraded_objects"] = int(ceph.degraded_objects)
        summary["degraded_total"] = total
        summary["degraded_ratio"] = ceph.degraded_objects / total if total else 0.0
    return {"pg_ready": True, "pg_summary": summary}


def mon_stat(world) -> dict:
    """`ceph mon stat -f json`."""
    cs.tracker(world)
    mons = cs.mon_names(world)
    q = cs.quorum_names(world)
    return {
        "epoch": 3,
        "min_mon_release_name": cs.MON_RELEASE,
        "num_mons": len(mons),
        "leader": q[0] if q else "",
        "quorum": [{"rank": mons.index(m), "name": m} for m in q],
    }
