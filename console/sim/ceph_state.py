"""Ceph state the JSON renderers share: constants, the per-World tracker of
epochs and "since" times, and small derived reads (quorum, mgr, MDS, totals).

Counters a real cluster keeps (osdmap epoch, election epoch, "since" times) are
derived from what this module has seen of the world: a small tracker per World
bumps them whenever the observed state changes, so they move the way Ceph's do.
"""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OSDMAP_FLAG_BITS: dict[str, int] = {
    "nearfull": 1 << 0,
    "full": 1 << 1,
    "pauserd": 1 << 2,
    "pausewr": 1 << 3,
    "pauserec": 1 << 4,
    "noup": 1 << 5,
    "nodown": 1 << 6,
    "noout": 1 << 7,
    "noin": 1 << 8,
    "nobackfill": 1 << 9,
    "norecover": 1 << 10,
    "noscrub": 1 << 11,
    "nodeep-scrub": 1 << 12,
    "notieragent": 1 << 13,
    "norebalance": 1 << 14,
    "sortbitwise": 1 << 15,
    "recovery_deletes": 1 << 19,
    "purged_snapdirs": 1 << 20,
    "nosnaptrim": 1 << 21,
    "pglog_hardlimit": 1 << 22,
}
SETTABLE_FLAGS = (
    "full", "pause", "noup", "nodown", "noout", "noin", "nobackfill", "norebalance",
    "norecover", "noscrub", "nodeep-scrub", "notieragent", "nosnaptrim", "pglog_hardlimit",
)
MGR_MODULES = ["iostat", "nfs", "restful"]
MON_RELEASE = "reef"  # Proxmox VE 8.2 ships Ceph Reef 18.2
KB = 1024
CRUSH_ROOT_TYPE_ID = 11  # type ids since Pacific: osd 0, host 1, ..., zone 10, root 11


@dataclass
class _Tracker:
    """Ceph's epochs and timestamps, advanced as the observed world changes."""

    created: float
    osdmap_epoch: int = 40
    osdmap_sig: Any = None
    election_epoch: int = 12
    quorum_sig: Any = None
    quorum_since: float = 0.0
    up_since: float = 0.0
    in_since: float = 0.0
    up_sig: Any = None
    in_sig: Any = None
    fsmap_epoch: int = 9
    fsmap_sig: Any = None
    mgrmap_epoch: int = 20
    mgr_sig: Any = None
    up_from: dict[int, int] = field(default_factory=dict)
    down_at: dict[int, int] = field(default_factory=dict)
    modified: float = 0.0
    recovery_event: str = field(default_factory=lambda: str(uuid.uuid4()))
    recovery_total: int = 0
    recovery_started: float = 0.0


_TRACKERS: weakref.WeakKeyDictionary[Any, _Tracker] = weakref.WeakKeyDictionary()


def tracker(world) -> _Tracker:
    t = _TRACKERS.get(world)
    now = world.now()
    if t is None:
        t = _Tracker(created=now - 400 * 86400, quorum_since=now - 3600, up_since=now - 3600, in_since=now - 3600,
                     modified=now - 3600)
        _TRACKERS[world] = t
    # osdmap: up/in sets and flags
    up = frozenset(o.id for o in world.osds.values() if o.up)
    in_ = frozenset(o.id for o in world.osds.values() if o.in_)
    sig = (up, in_, frozenset(world.ceph.flags), group_flags_sig(world))
    if t.osdmap_sig is None:
        t.osdmap_sig, t.up_sig, t.in_sig = sig, up, in_
        for oid in world.osds:
            t.up_from[oid] = t.osdmap_epoch - 30
            t.down_at[oid] = 0
    elif sig != t.osdmap_sig:
        t.osdmap_epoch += 1
        t.modified = now
        for oid in up - t.up_sig:
            t.up_from[oid] = t.osdmap_epoch
        for oid in t.up_sig - up:
            t.down_at[oid] = t.osdmap_epoch
        if up - t.up_sig:
            t.up_since = now
        if in_ - t.in_sig:
            t.in_since = now
        t.osdmap_sig, t.up_sig, t.in_sig = sig, up, in_
    q = tuple(quorum_names(world))
    if t.quorum_sig is None:
        t.quorum_sig = q
    elif q != t.quorum_sig:
        t.election_epoch += 2
        t.quorum_since = now
        t.quorum_sig = q
    fs_sig = (world.ceph.mds_active, tuple(sorted(mds_up(world))))
    if t.fsmap_sig is None:
        t.fsmap_sig = fs_sig
    elif fs_sig != t.fsmap_sig:
        t.fsmap_epoch += 1
        t.fsmap_sig = fs_sig
    mgr_sig = (mgr_active(world), tuple(mgr_standbys(world)))
    if t.mgr_sig is None:
        t.mgr_sig = mgr_sig
    elif mgr_sig != t.mgr_sig:
        t.mgrmap_epoch += 1
        t.mgr_sig = mgr_sig
    return t


# ----------------------------------------------------------------- helpers
def node_online(world, name: str) -> bool:
    return bool(world.node_online(name))


def group_flags(world) -> dict[str, list[str]]:
    """`ceph osd set-group noout HOST` flags on CRUSH nodes (hosts, the root): name -> flags."""
    nodes = {o.host for o in world.osds.values()} | {"default"}
    return {k: sorted(v) for k, v in sorted(world.ceph.group_flags.items()) if v and k in nodes}


def device_class_flags(world) -> dict[str, list[str]]:
    classes = {o.device_class for o in world.osds.values()}
    return {k: sorted(v) for k, v in sorted(world.ceph.group_flags.items()) if v and k in classes}


def osd_own_flags(world, osd_id: int) -> list[str]:
    """Flags set on the OSD itself (`ceph osd set-group noout osd.3`): part of its osdmap state."""
    return sorted(world.ceph.group_flags.get(f"osd.{osd_id}", ()))


def group_flags_sig(world):
    return tuple(sorted((k, tuple(sorted(v))) for k, v in world.ceph.group_flags.items() if v))


def mon_names(world) -> list[str]:
    return sorted(world.ceph.mons)


def quorum_names(world) -> list[str]:
    if hasattr(world, "mon_quorum"):
        return list(world.mon_quorum())
    return [m for m in mon_names(world) if node_online(world, world.ceph.mons[m])]


def mgr_active(world) -> str | None:
    active = world.ceph.mgr_active
    if active and node_online(world, mgr_host(world, active)):
        return active
    return None


def mgr_host(world, mgr: str) -> str:
    hosts = getattr(world.ceph, "mgr_hosts", None) or {}
    return hosts.get(mgr, mgr)


def mgr_standbys(world) -> list[str]:
    if hasattr(world, "mgr_standbys"):
        return list(world.mgr_standbys())
    active = mgr_active(world)
    return [m for m in world.ceph.mgrs if m != active and node_online(world, mgr_host(world, m))]


def mds_up(world) -> list[str]:
    if hasattr(world, "mds_states"):
        return sorted(world.mds_states())
    return [m for m, host in sorted(world.ceph.mds.items()) if node_online(world, host)]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def hosts_with_osds(world) -> list[tuple[str, list]]:
    by_host: dict[str, list] = {}
    for osd in sorted(world.osds.values(), key=lambda o: o.id):
        by_host.setdefault(osd.host, []).append(osd)
    order = [n for n in world.nodes if n in by_host] + [h for h in by_host if h not in world.nodes]
    return [(h, by_host[h]) for h in order]


def host_bucket_ids(world) -> dict[str, int]:
    # Ceph gives host buckets odd negative ids (-3, -5, ...): the even ones are the
    # per-device-class shadow buckets (default~ssd, host~ssd).
    return {h: -3 - 2 * i for i, (h, _) in enumerate(hosts_with_osds(world))}


def crush_weight(osd) -> float:
    return osd.size / 2**40  # TiB, as `ceph-volume` sets it


def osd_used(osd) -> int:
    return max(int(osd.used), 0)


def health_checks(world, detail: bool) -> tuple[str, dict]:
    status, checks = world.ceph_health()
    out: dict[str, dict] = {}
    for c in checks:
        summary = c.get("summary")
        lines = [d if isinstance(d, str) else d.get("message", "") for d in c.get("detail", [])]
        if isinstance(summary, dict):
            summ = {"message": str(summary.get("message", "")), "count": int(summary.get("count", 1))}
        else:
            summ = {"message": str(summary), "count": int(c.get("count", len(lines) or 1))}
        entry: dict[str, Any] = {"severity": c.get("severity", "HEALTH_WARN"), "summary": summ}
        if detail:
            entry["detail"] = [{"message": line} for line in lines]
        entry["muted"] = False
        out[c["code"]] = entry
    return status, out


def pg_totals(world) -> dict[str, int]:
    total = sum(o.size for o in world.osds.values())
    used = sum(osd_used(o) for o in world.osds.values())
    return {
        "data_bytes": int(sum(p.stored for p in world.pools)),
        "bytes_used": int(used),
        "bytes_avail": int(max(total - used, 0)),
        "bytes_total": int(total),
    }



def addr_of(world, node: str | None) -> str:
    n = world.nodes.get(node or "")
    return n.ip if n is not None else "127.0.0.1"


def flags_string(flags) -> str:
    known = [f for f in OSDMAP_FLAG_BITS if f in flags]
    return ",".join(known)
