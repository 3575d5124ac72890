"""`ceph df`, `ceph mon dump` and `ceph mgr stat` (-f json) from the World, in the
shapes a real Ceph 16.2.15 printed here (the console's Ceph source reads them)."""

from __future__ import annotations

from datetime import UTC, datetime

from console.sim import ceph_state as cs

MON_RELEASE_NUMBER = 18  # reef
MON_FEATURES = ["kraken", "luminous", "mimic", "osdmap-prune", "nautilus", "octopus", "pacific", "elector-pinging",
                "quincy", "reef"]


def _iso_z(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def df(world) -> dict:
    """`ceph df -f json`: raw totals, per device class, per pool."""
    totals = cs.pg_totals(world)
    total, used, avail = totals["bytes_total"], totals["bytes_used"], totals["bytes_avail"]
    raw = {
        "total_bytes": total,
        "total_avail_bytes": avail,
        "total_used_bytes": used,
        "total_used_raw_bytes": used,
        "total_used_raw_ratio": used / total if total else 0.0,
    }
    by_class: dict[str, dict] = {}
    for o in world.osds.values():
        c = by_class.setdefault(o.device_class,
                                {"total_bytes": 0, "total_avail_bytes": 0, "total_used_bytes": 0,
                                 "total_used_raw_bytes": 0})
        c["total_bytes"] += o.size
        c["total_used_bytes"] += cs.osd_used(o)
        c["total_used_raw_bytes"] += cs.osd_used(o)
        c["total_avail_bytes"] += o.size - cs.osd_used(o)
    for c in by_class.values():
        c["total_used_raw_ratio"] = c["total_used_raw_bytes"] / c["total_bytes"] if c["total_bytes"] else 0.0
    stored_all = sum(p.stored for p in world.pools) or 1
    pools = []
    for p in world.pools:
        # as Ceph estimates it: what still fits given replication and the full ratio
        max_avail = int(avail * 0.95 / max(p.size, 1))
        bytes_used = int(p.stored * p.size)
        pools.append(
            {
                "name": p.name,
                "id": p.id,
                "stats": {
                    "stored": int(p.stored),
                    "objects": int(world.ceph.total_objects * p.stored / stored_all),
                    "kb_used": bytes_used // 1024,
                    "bytes_used": bytes_used,
                    "percent_used": bytes_used / (bytes_used + max_avail * p.size) if bytes_used else 0,
                    "max_avail": max_avail,
                },
            }
        )
    n = len(world.osds)
    return {"stats": {**raw, "num_osds": n, "num_per_pool_osds": n, "num_per_pool_omap_osds": n},
            "stats_by_class": by_class, "pools": pools}


def mon_dump(world) -> dict:
    """`ceph mon dump -f json` (Ceph also writes "dumped monmap epoch N" to stderr)."""
    t = cs.tracker(world)
    mons = cs.mon_names(world)
    quorum = cs.quorum_names(world)
    out = []
    for rank, m in enumerate(mons):
        ip = cs.addr_of(world, world.ceph.mons[m])
        out.append(
            {
                "rank": rank,
                "name": m,
                "public_addrs": {"addrvec": [{"type": "v2", "addr": f"{ip}:3300", "nonce": 0},
                                             {"type": "v1", "addr": f"{ip}:6789", "nonce": 0}]},
                "addr": f"{ip}:6789/0",
                "public_addr": f"{ip}:6789/0",
                "priority": 0,
                "weight": 0,
                "crush_location": "{}",
            }
        )
    return {
        "epoch": 3,
        "fsid": world.ceph.fsid,
        "modified": _iso_z(t.created + 600),
        "created": _iso_z(t.created),
        "min_mon_release": MON_RELEASE_NUMBER,
        "min_mon_release_name": cs.MON_RELEASE,
        "election_strategy": 1,
        "disallowed_leaders: ": "",  # sic: Ceph's key has the colon and space
        "stretch_mode": False,
        "tiebreaker_mon": "",
        "removed_ranks: ": "",
        "features": {"persistent": list(MON_FEATURES), "optional": []},
        "mons": out,
        "quorum": [mons.index(m) for m in quorum],
    }


def mgr_stat(world) -> dict:
    """`ceph mgr stat -f json`."""
    t = cs.tracker(world)
    active = cs.mgr_active(world)
    return {"epoch": t.mgrmap_epoch, "available": active is not None, "active_name": active or "",
            "num_standby": len(cs.mgr_standbys(world))}
