"""Model objects -> table rows. Pure functions, memoised per object by the screens."""

from __future__ import annotations

from console.model import Guest, Node, Osd, SwarmNode, SwarmService, SwarmTask, TraefikRouter, TraefikService
from widgets.format import BAD, OFF, OK, UNKNOWN, WARN, bar, duration, mark, mem_cell, pct, short_time, size
from widgets.table_columns import Row

GUEST_STATUS = {"running": OK, "stopped": OFF, "paused": WARN}
HA_BAD = {"error", "fence", "recovery"}


def guest_row(g: Guest) -> Row:
    status = mark(GUEST_STATUS.get(g.status, UNKNOWN), g.status)
    ha = "-" if g.ha_state is None else (g.ha_state, "bold red" if g.ha_state in HA_BAD else "")
    lock = ("⚿ " + g.lock, "yellow") if g.lock else ""
    cells = (str(g.vmid), g.name, "VM" if g.type == "qemu" else "CT", g.node, status,
             pct(g.cpu) if g.status == "running" else "-",
             mem_cell(g.mem, g.maxmem) if g.status in GUEST_STATUS else (f"-/{size(g.maxmem)}" if g.maxmem else "-"),
             duration(g.uptime) if g.uptime else "-", ha, lock, ",".join(g.tags))
    sort = (g.vmid, g.name, g.type, g.node, g.status, g.cpu, g.mem, g.uptime, g.ha_state, g.lock, ",".join(g.tags))
    return Row(g.key, cells, sort)


def lrm_cell(state: str | None) -> tuple[str, str] | str:
    if not state:
        return "-"
    if "maintenance" in state:
        return mark(WARN, "maintenance")
    return (state, "")


def node_row(n: Node) -> Row:
    online = n.status == "online"
    status = mark(OK if online else BAD, n.status)
    updates = "?" if n.pending_updates is None else (str(n.pending_updates), "yellow" if n.pending_updates else "")
    cells = (n.name, status, pct(n.cpu) if online else "-", mem_cell(n.mem, n.maxmem) if online else "-",
             duration(n.uptime) if online else "-", n.pve_version or "-", n.kernel or "-", updates, lrm_cell(n.ha_lrm))
    sort = (n.name, n.status, n.cpu, n.mem, n.uptime, n.pve_version, n.kernel, n.pending_updates, n.ha_lrm)
    return Row(n.name, cells, sort)


def osd_row(o: Osd) -> Row:
    cells = (o.host or "?", o.name, mark(OK if o.up else BAD, "up" if o.up else "down"),
             mark(OK if o.in_ else WARN, "in" if o.in_ else "out"), o.device_class or "-",
             bar(o.utilization, 10), f"{size(o.used)}/{size(o.size)}", str(o.pgs), f"{o.reweight:.2f}")
    sort = (o.host, o.id, o.up, o.in_, o.device_class, o.utilization, o.used, o.pgs, o.reweight)
    return Row(o.name, cells, sort)


def swarm_node_row(n: SwarmNode) -> Row:
    state = mark(OK if n.state == "ready" else BAD, n.state)
    avail = mark(OK if n.availability == "active" else WARN, n.availability)
    reach = "-" if not n.reachability else mark(OK if n.reachability == "reachable" else BAD, n.reachability)
    cells = (n.hostname, n.role + (" ★" if n.leader else ""), ("leader", "bold") if n.leader else "", avail, state,
             reach, n.engine_version or "-", n.addr or "-")
    return Row(n.id, cells)


UPDATE_BAD = {"paused", "rollback_paused"}


def service_row(s: SwarmService) -> Row:
    ok = s.replicas_running >= s.replicas_desired
    level = OK if ok else (BAD if s.replicas_running == 0 and s.replicas_desired else WARN)
    replicas = mark(level, f"{s.replicas_running}/{s.replicas_desired}")
    upd = s.update_state or "-"
    update = (upd, "bold red") if upd in UPDATE_BAD else (upd, "yellow") if upd.startswith("rollback") or upd == "updating" else upd
    cells = (s.name, s.mode, replicas, s.image, update, s.update_message or "")
    sort = (s.name, s.mode, s.replicas_running - s.replicas_desired, s.image, s.update_state, s.update_message)
    return Row(s.id, cells, sort)


TASK_STATE = {"running": OK, "complete": OFF, "shutdown": OFF, "failed": BAD, "rejected": BAD,
              "pending": WARN, "preparing": WARN, "starting": WARN, "orphaned": BAD}


def task_row(t: SwarmTask) -> Row:
    state = mark(TASK_STATE.get(t.state, UNKNOWN), t.state)
    message = (t.error, "red") if t.error else (t.message or "")
    cells = ("-" if t.slot is None else str(t.slot), t.node_name or t.node_id or "-", state, t.desired_state,
             message, short_time(t.timestamp), t.id[:12])
    sort = (t.slot, t.node_name, t.state, t.desired_state, t.error or t.message, t.timestamp, t.id)
    return Row(t.id, cells, sort)


ROUTER_STATUS = {"enabled": OK, "warning": WARN, "disabled": BAD}


def router_row(r: TraefikRouter) -> Row:
    status = mark(ROUTER_STATUS.get(r.status, UNKNOWN), r.status)
    errors = ("; ".join(r.errors), "red") if r.errors else ""
    cells = (r.protocol, r.name, r.rule or "-", ",".join(r.entrypoints), r.service or "-",
             ("TLS", "green") if r.tls else "-", status, errors)
    return Row(f"{r.protocol}:{r.name}", cells)


def traefik_service_row(s: TraefikService) -> Row:
    up = sum(1 for x in s.servers if x.status == "UP")
    down = sum(1 for x in s.servers if x.status == "DOWN")
    status = mark(ROUTER_STATUS.get(s.status, UNKNOWN), s.status)
    if not s.servers:
        servers = "-"
    elif up + down == 0:  # tcp/udp: Traefik reports no per-server status
        servers = f"{len(s.servers)} srv"
    else:
        servers = mark(BAD if down == len(s.servers) else WARN if down else OK, f"{up}/{len(s.servers)} up")
    detail = " ".join(("✖ " if x.status == "DOWN" else "● " if x.status == "UP" else "? ") + x.url for x in s.servers)
    cells = (s.protocol, s.name, s.type or "-", status, servers, ("; ".join(s.errors), "red") if s.errors else detail)
    return Row(f"{s.protocol}:{s.name}", cells, (s.protocol, s.name, s.type, s.status, -down, detail))


class RowMemo:
    """Rebuilds a row only when its model object changed (frozen dataclasses compare by value)."""

    def __init__(self, build, key) -> None:
        self.build = build
        self.key = key
        self.cache: dict = {}

    def rows(self, objects) -> list[Row]:
        cache, build, key_of = self.cache, self.build, self.key
        fresh: dict = {}
        out: list[Row] = []
        for obj in objects:
            key = key_of(obj)
            hit = cache.get(key)
            if hit is None or (hit[0] is not obj and hit[0] != obj):
                hit = (obj, build(obj))
            elif hit[0] is not obj:
                # equal but a new object from this poll: keep that one, so the previous poll's
                # objects (a second copy of every guest/task) are freed with their snapshot
                hit = (obj, hit[1])
            fresh[key] = hit
            out.append(hit[1])
        self.cache = fresh
        return out
