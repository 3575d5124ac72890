"""The headline of each layer for the Health tiles: (level, title, lines). Pure."""

from __future__ import annotations

from widgets.format import BAD, OFF, OK, UNKNOWN, WARN


def _pending(snap) -> tuple[str, str, list[str]] | None:
    if snap is None or snap.loading:
        return UNKNOWN, "", ["loading…"]
    if not snap.configured:
        return OFF, "", ["not configured"]
    if snap.data is None:
        return BAD, "", ["no data:", (snap.error or "")[:40]]
    return None


def _with_stale(snap, now, level, title, lines):
    if snap.is_stale(now):
        lines = [*lines[:2], "⚠ stale data"]
        level = BAD if level == BAD else WARN
    return level, title, lines


def cluster_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "Cluster", early[2]
    pve = snap.data
    online = sum(1 for n in pve.nodes if n.status == "online")
    level = OK if pve.quorate and online == len(pve.nodes) else (BAD if not pve.quorate else WARN)
    lines = [("quorate" if pve.quorate else "NO QUORUM") + f" {pve.votes}/{pve.expected_votes}",
             f"nodes {online}/{len(pve.nodes)} up"]
    maint = [n.name for n in pve.nodes if n.ha_lrm and "maintenance" in n.ha_lrm]
    if maint:
        lines.append("maint " + ",".join(maint))
    return _with_stale(snap, now, level, "Cluster", lines)


def guests_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "Guests", early[2]
    guests = [g for g in snap.data.guests if not g.template]
    running = sum(1 for g in guests if g.status == "running")
    ha_bad = sum(1 for g in guests if g.ha_state in ("error", "fence", "recovery"))
    unknown = sum(1 for g in guests if g.status not in ("running", "stopped", "paused"))
    level = BAD if ha_bad else WARN if unknown else OK
    lines = [f"{running}/{len(guests)} running"]
    if ha_bad:
        lines.append(f"HA bad: {ha_bad}")
    if unknown:  # on a node that does not answer: nobody knows whether they run
        lines.append(f"{unknown} unknown")
    locked = sum(1 for g in guests if g.lock)
    if locked:
        lines.append(f"locked {locked}")
    return _with_stale(snap, now, level, "Guests", lines)


def ceph_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "Ceph", early[2]
    c = snap.data
    level = {"HEALTH_OK": OK, "HEALTH_WARN": WARN}.get(c.health, BAD)
    used = 100 * c.bytes_used / c.bytes_total if c.bytes_total else 0
    # usage on the first line: it survives the stale marker, and "PG 3137/3137 clean" fits a 26-column tile
    lines = [f"{c.health.replace('HEALTH_', '')} · {used:.0f}% used",
             f"OSD {c.num_up_osds}/{c.num_osds} up {c.num_in_osds} in",
             f"PG {c.clean_pgs}/{c.num_pgs} clean"]
    return _with_stale(snap, now, level, "Ceph", lines)


def swarm_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "Swarm", early[2]
    s = snap.data
    ready = sum(1 for n in s.nodes if n.state == "ready")
    converged = sum(1 for v in s.services if v.replicas_running >= v.replicas_desired)
    drained = sum(1 for n in s.nodes if n.availability != "active")
    level = OK
    if ready < len(s.nodes) or converged < len(s.services):
        level = WARN
    if any(v.replicas_desired and v.replicas_running == 0 for v in s.services):
        level = BAD
    lines = [f"nodes {ready}/{len(s.nodes)} ready", f"svc {converged}/{len(s.services)} converged"]
    if drained:
        lines.append(f"{drained} not active")
    return _with_stale(snap, now, level, "Swarm", lines)


def traefik_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "Traefik", early[2]
    t = snap.data
    counts = {"enabled": 0, "warning": 0, "disabled": 0}
    for r in t.routers:
        counts[r.status] = counts.get(r.status, 0) + 1
    down = sum(1 for s in t.services for x in s.servers if x.status == "DOWN")
    level = BAD if counts.get("disabled") else WARN if counts.get("warning") or down else OK
    lines = [f"routers {counts['enabled']} ok", f"{counts['warning']} warn {counts['disabled']} err"]
    if down:
        lines.append(f"{down} servers DOWN")
    return _with_stale(snap, now, level, "Traefik", lines)


def vrrp_tile(snap, now):
    early = _pending(snap)
    if early:
        return early[0], "VRRP", early[2]
    v = snap.data
    masters: dict[str, list[str]] = {}
    names: set[str] = set()
    for fw in v.firewalls:
        for inst in fw.instances:
            names.add(inst.name)
            if inst.state == "MASTER" and fw.answering:
                masters.setdefault(inst.name, []).append(fw.name)
    silent = [fw.name for fw in v.firewalls if not fw.answering]
    lines: list[str] = []
    level = OK
    for name in sorted(names):
        holders = masters.get(name, [])
        if len(holders) > 1:
            level = BAD
            lines.append(f"SPLIT BRAIN {name}")
        elif not holders:
            level = BAD
            lines.append(f"NO MASTER {name}")
        else:
            lines.append(f"{name}: {holders[0]}")
    if silent:
        level = BAD if level == BAD else WARN
        lines.append("silent: " + ",".join(silent))
    return _with_stale(snap, now, level, "VRRP", lines or ["no instances"])


TILES = (("cluster", "proxmox", cluster_tile), ("guests", "proxmox", guests_tile), ("ceph", "ceph", ceph_tile),
         ("swarm", "swarm", swarm_tile), ("traefik", "traefik", traefik_tile), ("vrrp", "vrrp", vrrp_tile))
