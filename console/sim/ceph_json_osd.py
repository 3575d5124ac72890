"""`ceph osd tree|dump|df -f json` rendered from the World (Pacific+ shapes)."""

from __future__ import annotations

import uuid

from console.sim import ceph_state as cs


def osd_tree(world) -> dict:
    """`ceph osd tree -f json`: root, hosts and OSDs in depth-first order."""
    cs.tracker(world)
    ids = cs.host_bucket_ids(world)
    hosts = cs.hosts_with_osds(world)
    nodes: list[dict] = [
        {"id": -1, "name": "default", "type": "root", "type_id": cs.CRUSH_ROOT_TYPE_ID,
         "children": sorted(ids.values())}
    ]
    for host, osds in hosts:
        nodes.append({"id": ids[host], "name": host, "type": "host", "type_id": 1, "pool_weights": {},
                      "children": sorted((o.id for o in osds), reverse=True)})
        for o in osds:
            nodes.append(
                {
                    "id": o.id,
                    "device_class": o.device_class,
                    "name": f"osd.{o.id}",
                    "type": "osd",
                    "type_id": 0,
                    "crush_weight": cs.crush_weight(o),
                    "depth": 2,
                    "pool_weights": {},
                    "exists": 1,
                    "status": "up" if o.up else "down",
                    "reweight": 1 if o.in_ else 0,
                    "primary_affinity": 1,
                }
            )
    return {"nodes": nodes, "stray": []}


def osd_dump(world) -> dict:
    """`ceph osd dump -f json` (the parts a client reads: flags, pools, osds)."""
    t = cs.tracker(world)
    flags = set(world.ceph.flags)
    osds = sorted(world.osds.values(), key=lambda o: o.id)
    ids = cs.host_bucket_ids(world)
    out_osds = []
    xinfo = []
    for o in osds:
        ip = cs.addr_of(world, o.host)
        port = 6800 + 8 * (o.id % 50)
        nonce = 3000 + o.id
        state = (["exists", "up"] if o.up else ["exists"]) + cs.osd_own_flags(world, o.id)

        def addrvec(p: int, ip: str = ip, nonce: int = nonce) -> dict:
            return {"addrvec": [{"type": "v2", "addr": f"{ip}:{p}", "nonce": nonce},
                                {"type": "v1", "addr": f"{ip}:{p + 1}", "nonce": nonce}]}

        out_osds.append(
            {
                "osd": o.id,
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{world.ceph.fsid}/osd.{o.id}")),
                "up": 1 if o.up else 0,
                "in": 1 if o.in_ else 0,
                "weight": 1 if o.in_ else 0,
                "primary_affinity": 1,
                "last_clean_begin": 0,
                "last_clean_end": 0,
                "up_from": t.up_from.get(o.id, 1),
                "up_thru": t.up_from.get(o.id, 1) if o.up else t.down_at.get(o.id, 0),
                "down_at": t.down_at.get(o.id, 0),
                "lost_at": 0,
                "public_addrs": addrvec(port),
                "cluster_addrs": addrvec(port + 2),
                "heartbeat_back_addrs": addrvec(port + 6),
                "heartbeat_front_addrs": addrvec(port + 4),
                "public_addr": f"{ip}:{port + 1}/{nonce}",
                "cluster_addr": f"{ip}:{port + 3}/{nonce}",
                "heartbeat_back_addr": f"{ip}:{port + 7}/{nonce}",
                "heartbeat_front_addr": f"{ip}:{port + 5}/{nonce}",
                "state": state,
            }
        )
        xinfo.append(
            {
                "osd": o.id,
                "down_stamp": cs.iso(o.down_since) if o.down_since else "0.000000",
                "laggy_probability": 0,
                "laggy_interval": 0,
                "features": 4540138322906710015,
                "old_weight": 0,
                "last_purged_snaps_scrub": cs.iso(t.created),
                "dead_epoch": 0,
            }
        )
    pools = []
    for p in world.pools:
        app = {"cephfs": {"data": p.name}} if p.application == "cephfs" else {p.application: {}}
        pools.append(
            {
                "pool": p.id,
                "pool_name": p.name,
                "create_time": cs.iso(t.created),
                "flags": 1,
                "flags_names": "hashpspool",
                "type": 1,
                "size": p.size,
                "min_size": p.min_size,
                "crush_rule": 0,
                "object_hash": 2,
                "pg_autoscale_mode": "on",
                "pg_num": p.pg_num,
                "pg_placement_num": p.pg_num,
                "pg_placement_num_target": p.pg_num,
                "pg_num_target": p.pg_num,
                "pg_num_pending": p.pg_num,
                "last_change": str(t.osdmap_epoch - 20),
                "snap_mode": "selfmanaged",
                "snap_seq": 0,
                "snap_epoch": 0,
                "pool_snaps": [],
                "removed_snaps": "[]",
                "quota_max_bytes": 0,
                "quota_max_objects": 0,
                "tiers": [],
                "tier_of": -1,
                "read_tier": -1,
                "write_tier": -1,
                "cache_mode": "none",
                "erasure_code_profile": "",
                "stripe_width": 0,
                "expected_num_objects": 0,
                "fast_read": False,
                "options": {},
                "application_metadata": app,
            }
        )
    group_flags = cs.group_flags(world)
    return {
        "epoch": t.osdmap_epoch,
        "fsid": world.ceph.fsid,
        "created": cs.iso(t.created),
        "modified": cs.iso(t.modified),
        "last_up_change": cs.iso(t.up_since),
        "last_in_change": cs.iso(t.in_since),
        "flags": cs.flags_string(flags),
        "flags_num": sum(bit for f, bit in cs.OSDMAP_FLAG_BITS.items() if f in flags),
        "flags_set": sorted(f for f in flags if f in cs.OSDMAP_FLAG_BITS),
        "crush_version": 5 + len(ids),
        "full_ratio": 0.95,
        "backfillfull_ratio": 0.9,
        "nearfull_ratio": 0.85,
        "cluster_snapshot": "",
        "pool_max": max((p.id for p in world.pools), default=0),
        "max_osd": (max((o.id for o in osds), default=-1) + 1),
        "require_min_compat_client": "luminous",
        "min_compat_client": "jewel",
        "require_osd_release": cs.MON_RELEASE,
        "pools": pools,
        "osds": out_osds,
        "osd_xinfo": xinfo,
        "pg_upmap": [],
        "pg_upmap_items": [],
        "pg_temp": [],
        "primary_temp": [],
        "blocklist": {},
        "range_blocklist": {},
        "erasure_code_profiles": {"default": {"k": "2", "m": "2", "plugin": "jerasure", "technique": "reed_sol_van"}},
        "removed_snaps_queue": [],
        "new_removed_snaps": [],
        "new_purged_snaps": [],
        "crush_node_flags": group_flags,
        "device_class_flags": cs.device_class_flags(world),
        "stretch_mode": {
            "stretch_mode_enabled": False,
            "stretch_bucket_count": 0,
            "degraded_stretch_mode": 0,
            "recovering_stretch_mode": 0,
            "stretch_mode_bucket": 0,
        },
    }


def osd_df(world) -> dict:
    """`ceph osd df -f json`: one entry per OSD plus a summary."""
    osds = sorted(world.osds.values(), key=lambda o: o.id)
    utils = [(cs.osd_used(o) / o.size * 100.0) if o.size else 0.0 for o in osds]
    total = sum(o.size for o in osds)
    avg = (sum(cs.osd_used(o) for o in osds) / total * 100.0) if osds and total else 0.0
    nodes = []
    for o, util in zip(osds, utils, strict=True):
        kb = o.size // cs.KB
        kb_used = cs.osd_used(o) // cs.KB
        nodes.append(
            {
                "id": o.id,
                "device_class": o.device_class,
                "name": f"osd.{o.id}",
                "type": "osd",
                "type_id": 0,
                "crush_weight": cs.crush_weight(o),
                "depth": 2,
                "pool_weights": {},
                "reweight": 1 if o.in_ else 0,
                "kb": kb,
                "kb_used": kb_used,
                "kb_used_data": int(kb_used * 0.97),
                "kb_used_omap": 1 if kb_used else 0,
                "kb_used_meta": kb_used - int(kb_used * 0.97) - (1 if kb_used else 0),
                "kb_avail": kb - kb_used,
                "utilization": util,
                "var": (util / avg) if avg else 1,
                "pgs": int(o.pgs) if o.up else 0,
                "status": "up" if o.up else "down",
            }
        )
    vars_ = [n["var"] for n in nodes] or [1]
    dev = (sum((u - avg) ** 2 for u in utils) / len(utils)) ** 0.5 if utils else 0
    return {
        "nodes": nodes,
        "stray": [],
        "summary": {
            "total_kb": sum(n["kb"] for n in nodes),
            "total_kb_used": sum(n["kb_used"] for n in nodes),
            "total_kb_used_data": sum(n["kb_used_data"] for n in nodes),
            "total_kb_used_omap": sum(n["kb_used_omap"] for n in nodes),
            "total_kb_used_meta": sum(n["kb_used_meta"] for n in nodes),
            "total_kb_avail": sum(n["kb_avail"] for n in nodes),
            "average_utilization": avg,
            "min_var": min(vars_),
            "max_var": max(vars_),
            "dev": dev,
        },
    }
