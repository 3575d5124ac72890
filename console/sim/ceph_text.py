"""Ceph's plain-text outputs (`ceph -s`, `ceph health detail`, `ceph osd tree`, ...),
rendered from the same documents as ceph_json so text and JSON always agree.
Layouts follow Ceph Pacific/Reef as seen on a real cluster.
"""

from __future__ import annotations

from console.sim import ceph_json, ceph_state


def fmt_bytes(n: float) -> str:
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    v = float(n)
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    if v == int(v):
        return f"{int(v)} {units[i]}"
    return f"{v:.1f} {units[i]}" if v < 10 else f"{v:.0f} {units[i]}"


def fmt_count(n: int) -> str:
    for div, unit in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def fmt_age(seconds: float) -> str:
    s = max(int(seconds), 0)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def health_text(doc: dict, detail: bool) -> str:
    status = doc["status"]
    checks = doc["checks"]
    if not checks:
        return status + "\n"
    lines = [status + " " + "; ".join(c["summary"]["message"] for c in checks.values())]
    if detail:
        for code, c in checks.items():
            tag = "ERR" if c["severity"] == "HEALTH_ERR" else "WRN"
            lines.append(f"[{tag}] {code}: {c['summary']['message']}")
            lines.extend("    " + d["message"] for d in c.get("detail", []))
    return "\n".join(lines) + "\n"


def status_text(world) -> str:
    doc = ceph_json.status(world)
    now = world.now()
    osdmap, pgmap, mgrmap, fsmap = doc["osdmap"], doc["pgmap"], doc["mgrmap"], doc["fsmap"]
    health = [f"    health: {doc['health']['status']}"]
    health += [f"            {c['summary']['message']}" for c in doc["health"]["checks"].values()]
    mons = doc["monmap"]["num_mons"]
    mon = f"    mon: {mons} daemons, quorum {','.join(doc['quorum_names'])} (age {fmt_age(doc['quorum_age'])})"
    out_of_quorum = [m for m in sorted(world.ceph.mons) if m not in doc["quorum_names"]]
    if out_of_quorum:
        mon += f", out of quorum: {', '.join(out_of_quorum)}"
    active = world.ceph.mgr_active if mgrmap["available"] else None
    standbys = ceph_state.mgr_standbys(world)
    mgr = f"    mgr: {active}(active, since {fmt_age(doc['quorum_age'])})" if active else "    mgr: no daemons active"
    if standbys:
        mgr += ", standbys: " + ", ".join(standbys)
    services = [mon, mgr]
    if world.ceph.mds:
        up = len(fsmap["by_rank"])
        services.append(f"    mds: {up}/1 daemons up, {fsmap['up:standby']} standby")
    services.append(
        f"    osd: {osdmap['num_osds']} osds: {osdmap['num_up_osds']} up (since "
        f"{fmt_age(now - osdmap['osd_up_since'])}), "
        f"{osdmap['num_in_osds']} in (since {fmt_age(now - osdmap['osd_in_since'])})"
    )
    flags = [f for f in ceph_json.SETTABLE_FLAGS if f in world.ceph.flags and f != "pglog_hardlimit"]
    if flags:
        services.append(f"         flags {','.join(flags)}")
    data = []
    if world.ceph.mds:
        data.append(f"    volumes: {1 if fsmap['by_rank'] else 0}/1 healthy")
    data += [
        f"    pools:   {pgmap['num_pools']} pools, {pgmap['num_pgs']} pgs",
        f"    objects: {fmt_count(pgmap['num_objects'])} objects, {fmt_bytes(pgmap['data_bytes'])}",
        f"    usage:   {fmt_bytes(pgmap['bytes_used'])} used, {fmt_bytes(pgmap['bytes_avail'])} / "
        f"{fmt_bytes(pgmap['bytes_total'])} avail",
    ]
    states = pgmap["pgs_by_state"]
    first = True
    if "degraded_objects" in pgmap:
        data.append(f"    pgs:     {pgmap['degraded_objects']}/{pgmap['degraded_total']} objects degraded "
                    f"({pgmap['degraded_ratio'] * 100:.3f}%)")
        first = False
    for s in states:
        data.append(("    pgs:     " if first else "             ") + f"{s['count']} {s['state_name']}")
        first = False
    io = [
        f"    client:   {fmt_bytes(pgmap['read_bytes_sec'])}/s rd, {fmt_bytes(pgmap['write_bytes_sec'])}/s wr, "
        f"{pgmap['read_op_per_sec']} op/s rd, {pgmap['write_op_per_sec']} op/s wr"
    ]
    if "recovering_bytes_per_sec" in pgmap:
        io.append(f"    recovery: {fmt_bytes(pgmap['recovering_bytes_per_sec'])}/s, "
                  f"{pgmap['recovering_objects_per_sec']} objects/s")
    parts = ["  cluster:", f"    id:     {doc['fsid']}", *health, " ", "  services:", *services, " ", "  data:", *data,
             " ", "  io:", *io, " "]
    for ev in doc["progress_events"].values():
        parts += ["  progress:", "    " + ev["message"].rstrip(), " "]
    return "\n".join(parts) + "\n"


def osd_tree_text(world) -> str:
    doc = ceph_json.osd_tree(world)
    by_id = {n["id"]: n for n in doc["nodes"]}
    lines = [f"{'ID':>3}  {'CLASS':<5}  {'WEIGHT':<7}  {'TYPE NAME':<15}  {'STATUS':>6}  {'REWEIGHT':>8}  "
             f"{'PRI-AFF':>7}"]

    def weight(n: dict) -> float:
        if n["type"] == "osd":
            return n["crush_weight"]
        return sum(weight(by_id[c]) for c in n.get("children", []))

    def walk(nid: int, depth: int) -> None:
        n = by_id[nid]
        name = "    " * depth + (n["name"] if n["type"] == "osd" else f"{n['type']} {n['name']}")
        if n["type"] == "osd":
            lines.append(
                f"{nid:>3}  {n['device_class']:>5}  {weight(n):<7.5f}  {name:<15}  {n['status']:>6}  "
                f"{n['reweight']:>8.5f}  {n['primary_affinity']:>7.5f}"
            )
        else:
            lines.append(f"{nid:>3}  {'':>5}  {weight(n):<7.5f}  {name:<15}  {'':>6}  {'':>8}  {'':>7}")
            for c in sorted(n.get("children", []), key=lambda c: (c >= 0, -c if c < 0 else c)):
                walk(c, depth + 1)

    walk(-1, 0)
    return "\n".join(lines) + "\n"


def osd_df_text(world) -> str:
    doc = ceph_json.osd_df(world)
    head = (f"{'ID':>2}  {'CLASS':>5}  {'WEIGHT':>7}  {'REWEIGHT':>8}  {'SIZE':>7}  {'RAW USE':>7}  {'DATA':>7}  "
            f"{'OMAP':>7}  {'META':>7}  {'AVAIL':>7}  {'%USE':>5}  {'VAR':>4}  {'PGS':>3}  STATUS")
    lines = [head]
    for n in doc["nodes"]:
        lines.append(
            f"{n['id']:>2}  {n['device_class']:>5}  {n['crush_weight']:>7.5f}  {n['reweight']:>8.5f}  "
            f"{fmt_bytes(n['kb'] * 1024):>7}  "
            f"{fmt_bytes(n['kb_used'] * 1024):>7}  {fmt_bytes(n['kb_used_data'] * 1024):>7}  "
            f"{fmt_bytes(n['kb_used_omap'] * 1024):>7}  "
            f"{fmt_bytes(n['kb_used_meta'] * 1024):>7}  {fmt_bytes(n['kb_avail'] * 1024):>7}  "
            f"{n['utilization']:>5.2f}  {n['var']:>4.2f}  {n['pgs']:>3}  {n['status']:>6}"
        )
    s = doc["summary"]
    lines.append(
        f"{'TOTAL':>34}  {fmt_bytes(s['total_kb'] * 1024):>7}  {fmt_bytes(s['total_kb_used'] * 1024):>7}  "
        f"{fmt_bytes(s['total_kb_used_data'] * 1024):>7}  "
        f"{fmt_bytes(s['total_kb_used_omap'] * 1024):>7}  {fmt_bytes(s['total_kb_used_meta'] * 1024):>7}  "
        f"{fmt_bytes(s['total_kb_avail'] * 1024):>7}  {s['average_utilization']:>5.2f}"
    )
    lines.append(f"MIN/MAX VAR: {s['min_var']:.2f}/{s['max_var']:.2f}  STDDEV: {s['dev']:.2f}")
    return "\n".join(lines) + "\n"


def pg_stat_text(world) -> str:
    s = ceph_json.pg_stat(world)["pg_summary"]
    states = ", ".join(f"{x['num']} {x['name']}" for x in s["num_pg_by_state"])
    line = (
        f"{s['num_pgs']} pgs: {states}; {fmt_bytes(s['num_bytes'])} data, {fmt_bytes(s['total_used_bytes'])} used, "
        f"{fmt_bytes(s['total_avail_bytes'])} / {fmt_bytes(s['total_bytes'])} avail"
    )
    if "degraded_objects" in s:
        line += f"; {s['degraded_objects']}/{s['degraded_total']} objects degraded ({s['degraded_ratio'] * 100:.3f}%)"
    return line + "\n"


def osd_dump_text(world) -> str:
    d = ceph_json.osd_dump(world)
    lines = [
        f"epoch {d['epoch']}",
        f"fsid {d['fsid']}",
        f"created {d['created']}",
        f"modified {d['modified']}",
        f"flags {d['flags']}",
        f"crush_version {d['crush_version']}",
        f"full_ratio {d['full_ratio']}",
        f"backfillfull_ratio {d['backfillfull_ratio']}",
        f"nearfull_ratio {d['nearfull_ratio']}",
        f"require_min_compat_client {d['require_min_compat_client']}",
        f"min_compat_client {d['min_compat_client']}",
        f"require_osd_release {d['require_osd_release']}",
        "stretch_mode_enabled false",
    ]
    for p in d["pools"]:
        app = ",".join(p["application_metadata"])
        lines.append(
            f"pool {p['pool']} '{p['pool_name']}' replicated size {p['size']} min_size {p['min_size']} crush_rule 0 "
            "object_hash rjenkins "
            f"pg_num {p['pg_num']} pgp_num {p['pg_placement_num']} autoscale_mode {p['pg_autoscale_mode']} "
            f"last_change {p['last_change']} "
            f"flags hashpspool stripe_width 0 application {app}"
        )
    lines.append("")
    lines.append(f"max_osd {d['max_osd']}")
    for o in d["osds"]:
        lines.append(
            f"osd.{o['osd']} {'up  ' if o['up'] else 'down'} {'in ' if o['in'] else 'out'} weight {o['weight']} "
            f"up_from {o['up_from']} "
            f"up_thru {o['up_thru']} down_at {o['down_at']} last_clean_interval [0,0) {o['public_addr']} "
            f"{o['cluster_addr']} "
            f"{','.join(o['state'])} {o['uuid']}"
        )
    return "\n".join(lines) + "\n"


def df_text(world) -> str:
    d = ceph_json.df(world)
    st = d["stats"]
    lines = ["--- RAW STORAGE ---",
             f"{'CLASS':<6} {'SIZE':>8} {'AVAIL':>8} {'USED':>8} {'RAW USED':>9} {'%RAW USED':>10}"]
    for cls, c in d["stats_by_class"].items():
        lines.append(f"{cls:<6} {fmt_bytes(c['total_bytes']):>8} {fmt_bytes(c['total_avail_bytes']):>8} "
                     f"{fmt_bytes(c['total_used_bytes']):>8} "
                     f"{fmt_bytes(c['total_used_raw_bytes']):>9} {c['total_used_raw_ratio'] * 100:>10.2f}")
    lines.append(f"{'TOTAL':<6} {fmt_bytes(st['total_bytes']):>8} {fmt_bytes(st['total_avail_bytes']):>8} "
                 f"{fmt_bytes(st['total_used_bytes']):>8} "
                 f"{fmt_bytes(st['total_used_raw_bytes']):>9} {st['total_used_raw_ratio'] * 100:>10.2f}")
    lines += [" ", "--- POOLS ---",
              f"{'POOL':<16} {'ID':>3} {'PGS':>4} {'STORED':>8} {'OBJECTS':>8} {'USED':>8} {'%USED':>6} "
              f"{'MAX AVAIL':>9}"]
    pgs = {p.id: p.pg_num for p in world.pools}
    for p in d["pools"]:
        s = p["stats"]
        lines.append(f"{p['name']:<16} {p['id']:>3} {pgs.get(p['id'], 0):>4} {fmt_bytes(s['stored']):>8} "
                     f"{fmt_count(s['objects']):>8} "
                     f"{fmt_bytes(s['bytes_used']):>8} {s['percent_used'] * 100:>6.2f} {fmt_bytes(s['max_avail']):>9}")
    return "\n".join(lines) + "\n"


def mon_dump_text(world) -> str:
    d = ceph_json.mon_dump(world)
    lines = [f"epoch {d['epoch']}", f"fsid {d['fsid']}", f"last_changed {d['modified']}", f"created {d['created']}",
             f"min_mon_release {d['min_mon_release']} ({d['min_mon_release_name']})",
             f"election_strategy: {d['election_strategy']}"]
    for m in d["mons"]:
        v2, v1 = (a["addr"] for a in m["public_addrs"]["addrvec"])
        lines.append(f"{m['rank']}: [v2:{v2}/0,v1:{v1}/0] mon.{m['name']}")
    return "\n".join(lines) + "\n"
