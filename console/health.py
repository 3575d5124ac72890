"""Cross-layer health rules: snapshots -> findings. Pure functions, no I/O.

Each rule looks at one layer's model (or a pair of layers) and says what an
operator must know, with a hint at what to do. `evaluate` runs them all and
sorts by severity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from console.health_backups import backup_rules
from console.health_repos import repo_rules  # h-operate2
from console.health_vrrp import vrrp_rules  # noqa: F401  (RULES finds it by name, console/layers.py; screens and tests import it from here)
from console.layers import LAYER_OF_SOURCE, SOURCES
from console.model import (
    CephState,
    Finding,
    Guest,
    Node,
    ProxmoxState,
    SwarmService,
    SwarmState,
    SwarmTask,
    TraefikRouter,
    TraefikService,
    TraefikState,
)
from console.poller import Snapshot

SEVERITY_ORDER = {"critical": 0, "unknown": 1, "warning": 2, "info": 3}
NEAR_FULL_PERCENT = 85.0
BAD_HA_STATES = {"error", "fence", "recovery"}
BAD_PG_WORDS = ("degraded", "undersized", "peered", "stale", "down", "incomplete", "inconsistent")
EVIDENCE_LINES = 40  # lines of evidence a finding carries at most (a detail list of 500 OSDs is not read)


def _f(severity: str, layer: str, subject: str, text: str, hint: str | None = None,
       evidence: Iterable[str] = ()) -> Finding:
    return Finding(severity, layer, subject, text, hint, _capped(evidence))


def _capped(lines: Iterable[str]) -> tuple[str, ...]:
    out = [line for line in lines if line]
    if len(out) > EVIDENCE_LINES:
        out = out[:EVIDENCE_LINES - 1] + [f"... and {len(out) - EVIDENCE_LINES + 1} more"]
    return tuple(out)


def _sid(g: Guest) -> str:
    return f"{'ct' if g.type == 'lxc' else 'vm'}:{g.vmid}"


class _PveIndex:
    """What the evidence looks up, indexed once per evaluation (a large cluster has thousands of guests)."""

    def __init__(self, pve: ProxmoxState) -> None:
        self.pve = pve
        self.ha = {s.sid: s for s in (pve.ha.services if pve.ha else ())}
        self.nodes = {n.name: n for n in pve.nodes}

    def guest(self, sid: str) -> Guest | None:  # rare (a guest in HA error): no index of every guest
        return next((g for g in self.pve.guests if _sid(g) == sid), None)


def _node_evidence(ix: _PveIndex, node: Node) -> list[str]:
    pve, ha = ix.pve, ix.ha
    on_it = [g for g in pve.guests if g.node == node.name and not g.template]
    lines = [f"status: {node.status} (as the cluster reports it{f' via {pve.endpoint}' if pve.endpoint else ''})",
             f"address: {node.ip}" if node.ip else "", f"HA LRM: {node.ha_lrm}" if node.ha_lrm else "",
             f"quorum: {pve.votes}/{pve.expected_votes} votes, {'quorate' if pve.quorate else 'NOT quorate'}",
             f"guests placed on it: {len(on_it)}"]
    for g in on_it:
        svc = ha.get(_sid(g))
        lines.append(f"  {g.name} ({g.vmid}) {g.status}" + (f", HA {svc.state}" if svc else ", not HA-managed"))
    return lines


def _guest_evidence(ix: _PveIndex, g: Guest) -> list[str]:
    sid = _sid(g)
    svc = ix.ha.get(sid)
    node = ix.nodes.get(g.node)
    return [f"{'container' if g.type == 'lxc' else 'VM'} {g.vmid} {g.name}: {g.status}",
            f"node: {g.node} ({node.status if node else 'not listed'})",
            f"HA {sid}: state {svc.state} on {svc.node}, requested {svc.request_state or '?'}" if svc
            else "HA: not managed (nothing restarts it elsewhere)",
            f"lock: {g.lock}" if g.lock else ""]


# ------------------------------------------------------------------ Proxmox


def cluster_rules(pve: ProxmoxState) -> Iterable[Finding]:
    ix = _PveIndex(pve)
    online = [n for n in pve.nodes if n.status == "online"]
    if not pve.quorate:
        yield _f("critical", "cluster", pve.cluster_name or "cluster",
                 f"cluster has lost quorum ({pve.votes}/{pve.expected_votes} votes)",
                 "guests cannot start or migrate; bring nodes back online")
    elif pve.expected_votes and pve.votes - 1 <= pve.expected_votes // 2:
        yield _f("warning", "cluster", pve.cluster_name or "cluster",
                 f"quorum at risk: {pve.votes}/{pve.expected_votes} votes, one more node lost ends quorum",
                 "do not take another node down until all are back")
    for node in pve.nodes:
        if node.status != "online":
            yield _f("critical", "cluster", node.name, f"node {node.name} is {node.status}",
                     "check power and network of the node; its guests are unavailable unless HA moved them",
                     _node_evidence(ix, node))
        elif node.ha_lrm and "maintenance" in node.ha_lrm:
            yield _f("info", "cluster", node.name, f"node {node.name} is in HA maintenance mode",
                     "disable with ha-manager crm-command node-maintenance disable when done")
    if len(online) < len(pve.nodes) and len(online) == 0:
        yield _f("critical", "cluster", "cluster", "no node is online")
    if pve.ha is not None:
        if not pve.ha.quorate:
            yield _f("critical", "cluster", "ha", "HA manager has no quorum")
        for svc in pve.ha.services:
            if svc.state in BAD_HA_STATES:
                guest = ix.guest(svc.sid)
                yield _f("critical", "guests", svc.sid, f"HA service {svc.sid} is in state {svc.state} on {svc.node}",
                         f"inspect the guest, then `ha-manager set {svc.sid} --state disabled` and re-enable",
                         _guest_evidence(ix, guest) if guest else
                         [f"HA {svc.sid}: state {svc.state} on {svc.node}, requested {svc.request_state or '?'}"])
    ha_wanted = {s.sid: s.request_state for s in (pve.ha.services if pve.ha else ())}
    offline = {n.name for n in pve.nodes if n.status != "online"}
    for g in pve.guests:
        sid = _sid(g)
        wanted = ha_wanted.get(sid)
        if g.template:
            continue
        if wanted == "started" and g.status != "running":
            yield _f("critical", "guests", f"{g.vmid}",
                     f"{g.name} ({g.vmid}) should run but is {g.status} on {g.node}",
                     "HA should restart it; check the HA log and the node", _guest_evidence(ix, g))
        elif wanted is None and g.node in offline and g.status not in ("running", "stopped", "paused"):
            # not HA-managed on a node that is down: nothing will start it elsewhere. Its config
            # (onboot) lives on that node, so "was it meant to run" is unknowable; it is
            # unavailable either way, and only for the length of the outage if it was stopped.
            yield _f("warning", "guests", f"{g.vmid}",
                     f"{g.name} ({g.vmid}) is unavailable: its node {g.node} is down and HA does not manage it",
                     f"it stays down until {g.node} is back, or migrate it by hand if its disks are shared",
                     _guest_evidence(ix, g))
        elif wanted is None and g.status not in ("running", "stopped", "paused"):
            yield _f("warning", "guests", f"{g.vmid}", f"{g.name} ({g.vmid}) is in state {g.status} on {g.node}",
                     f"{g.node} does not report it: check pvestatd on {g.node}")
        if g.lock and g.lock not in ("migrate", "backup", "snapshot"):
            yield _f("warning", "guests", f"{g.vmid}", f"{g.name} ({g.vmid}) is locked ({g.lock})",
                     f"if nothing runs on it: qm unlock {g.vmid} / pct unlock {g.vmid}")


# --------------------------------------------------------------------- Ceph


def ceph_rules(ceph: CephState) -> Iterable[Finding]:
    if ceph.health != "HEALTH_OK":
        sev = "critical" if ceph.health == "HEALTH_ERR" else "warning"
        yield _f(sev, "ceph", "ceph", f"Ceph is {ceph.health}", "see the checks below and `ceph health detail`")
    for chk in ceph.checks:
        sev = "critical" if chk.severity == "HEALTH_ERR" else "warning"
        hint = "; ".join(chk.detail[:3]) if chk.detail else None
        yield _f(sev, "ceph", chk.code, f"{chk.code}: {chk.summary}", hint, chk.detail)
    full = [o for o in ceph.osds if o.utilization >= NEAR_FULL_PERCENT]
    if len(full) > 3:  # one finding, not one per OSD: a full cluster must not bury everything else
        worst = max(full, key=lambda o: o.utilization)
        yield _f("warning", "ceph", "osds", f"{len(full)} OSDs are over {NEAR_FULL_PERCENT:.0f}% full "
                 f"(fullest {worst.name} {worst.utilization:.0f}%)", "free space or add capacity")
    for osd in ceph.osds:
        where = f" on {osd.host}" if osd.host else ""
        if not osd.up:
            yield _f("critical" if not osd.in_ else "warning", "ceph", osd.name,
                     f"{osd.name}{where} is down{'' if osd.in_ else ' and out'}",
                     f"check the ceph-osd@{osd.id} service on {osd.host or 'its host'}",
                     [f"host: {osd.host or '?'}", f"up: {osd.up}, in: {osd.in_}", f"placement groups: {osd.pgs}",
                      *(d for c in ceph.checks if c.code == "OSD_DOWN" for d in c.detail if f"{osd.name} " in d)])
        elif not osd.in_:
            yield _f("warning", "ceph", osd.name, f"{osd.name}{where} is out", f"ceph osd in {osd.id}")
        if osd.utilization >= NEAR_FULL_PERCENT and len(full) <= 3:
            yield _f("warning", "ceph", osd.name, f"{osd.name}{where} is {osd.utilization:.0f}% full",
                     "free space or add capacity before it reaches the full ratio")
    bad = [(s, n) for s, n in ceph.pg_states if s != "active+clean"]
    if bad and ceph.num_pgs:
        lasting = any(w in s for s, _ in bad for w in BAD_PG_WORDS)
        text = ", ".join(f"{n} {s}" for s, n in sorted(bad, key=lambda x: -x[1])[:3])
        yield _f("warning" if not any("down" in s or "incomplete" in s for s, _ in bad) else "critical",
                 "ceph", "pgs", f"{ceph.num_pgs - ceph.clean_pgs}/{ceph.num_pgs} PGs not active+clean: {text}",
                 "wait for recovery" if lasting else None)
    for flag in sorted(ceph.flags & {"noout", "norebalance", "norecover", "nobackfill", "noup", "nodown", "pause"}):
        yield _f("warning", "ceph", f"flag {flag}", f"Ceph flag {flag} is set",
                 f"left on after maintenance? `ceph osd unset {flag}`")
    if ceph.mgr_available and not ceph.mgr_standbys:
        yield _f("warning", "ceph", "mgr", f"no standby mgr (active: {ceph.mgr_active or 'unnamed'})",
                 "a node reboot will leave Ceph without a manager")
    if not ceph.mgr_available:
        yield _f("critical", "ceph", "mgr", "no Ceph manager is available")
    if ceph.mds:
        active = [m for m in ceph.mds if "active" in m.state]
        standby = [m for m in ceph.mds if "standby" in m.state]
        if not active:
            yield _f("critical", "ceph", "mds", "CephFS has no active MDS")
        elif not standby:
            yield _f("warning", "ceph", "mds", "CephFS has no standby MDS", "a node reboot will stall CephFS")
    missing = [m for m in ceph.mons if m not in ceph.quorum]
    if ceph.mons and missing:
        yield _f("warning", "ceph", "mon", f"mon {', '.join(missing)} out of quorum "
                 f"({len(ceph.quorum)}/{len(ceph.mons)} in)", f"check the ceph-mon@{missing[0]} service on its node",
                 [f"monitors: {', '.join(ceph.mons)}", f"in quorum: {', '.join(ceph.quorum) or 'none'}",
                  *(d for c in ceph.checks if c.code == "MON_DOWN" for d in c.detail)])


# -------------------------------------------------------------------- Swarm


def swarm_rules(swarm: SwarmState) -> Iterable[Finding]:
    managers = [n for n in swarm.nodes if n.role == "manager"]
    for n in swarm.nodes:
        if n.state != "ready":
            yield _f("critical" if n.role == "manager" else "warning", "swarm", n.hostname,
                     f"swarm node {n.hostname} is {n.state}", "check the VM and dockerd on it",
                     [f"role: {n.role}" + (f", {n.reachability}" if n.reachability else ""),
                      f"state: {n.state}, availability: {n.availability}", f"address: {n.addr}" if n.addr else "",
                      f"engine: {n.engine_version}" if n.engine_version else "",
                      f"tasks assigned to it: {sum(1 for t in swarm.tasks if t.node_id == n.id)}"])
        if n.availability == "drain":
            yield _f("warning", "swarm", n.hostname, f"swarm node {n.hostname} is drained",
                     f"`docker node update --availability active {n.hostname}` when done")
        elif n.availability == "pause":
            yield _f("info", "swarm", n.hostname, f"swarm node {n.hostname} is paused")
    reachable = [n for n in managers if n.state == "ready" and n.reachability != "unreachable"]
    if managers and len(reachable) <= len(managers) // 2:
        yield _f("critical", "swarm", "managers", f"only {len(reachable)}/{len(managers)} managers reachable: "
                 "the swarm has lost its raft majority")
    elif managers and len(reachable) - 1 <= len(managers) // 2 and len(managers) > 1:
        yield _f("warning", "swarm", "managers",
                 f"{len(reachable)}/{len(managers)} managers reachable: one more loss ends the majority")
    by_service: dict[str, list[SwarmTask]] = {}
    for t in swarm.tasks:
        by_service.setdefault(t.service_id, []).append(t)
    for s in swarm.services:
        state = s.update_state or ""
        tasks = by_service.get(s.id, ())
        if state in ("paused", "rollback_paused"):
            yield _f("critical", "swarm", s.name, f"service {s.name}: update {state.replace('_', ' ')}",
                     s.update_message or f"`docker service rollback {s.name}`", _task_evidence(tasks, s))
        elif state == "rollback_completed":
            yield _f("warning", "swarm", s.name, f"service {s.name} was rolled back",
                     s.update_message or "the last update failed", _task_evidence(tasks, s))
        if s.replicas_desired and s.replicas_running == 0:
            yield _f("critical", "swarm", s.name,
                     f"service {s.name} has no running task (0/{s.replicas_desired})", "see its tasks and logs",
                     _task_evidence(tasks, s))
        elif s.replicas_running < s.replicas_desired and state not in ("updating", "rollback_started"):
            yield _f("warning", "swarm", s.name,
                     f"service {s.name} is under-replicated ({s.replicas_running}/{s.replicas_desired})", None,
                     _task_evidence(tasks, s))


def _task_evidence(tasks: Iterable[SwarmTask], s: SwarmService) -> list[str]:
    """The service's tasks that are not running as desired, newest first: state, exit code, error."""
    bad = [t for t in tasks if t.state != "running"
           and (t.desired_state == "running" or t.state in ("failed", "rejected"))]
    bad.sort(key=lambda t: t.timestamp or "", reverse=True)
    lines = [f"image: {s.image}", f"replicas: {s.replicas_running}/{s.replicas_desired} running"]
    for t in bad[:10]:
        name = f"{s.name}.{t.slot}" if t.slot is not None else s.name
        exit_ = f", exit {t.exit_code}" if t.exit_code not in (None, 0) or t.state == "failed" else ""
        why = t.error or t.message
        lines.append(f"task {name} on {t.node_name or t.node_id or '?'}: {t.state} (desired {t.desired_state}{exit_})"
                     + (f": {why}" if why else ""))
    return lines


# ------------------------------------------------------------------ Traefik


def _router_evidence(r: TraefikRouter) -> list[str]:
    return [*(f"error: {e}" for e in r.errors), f"status: {r.status}", f"rule: {r.rule}" if r.rule else "",
            f"service: {r.service}" if r.service else "", f"entrypoints: {', '.join(r.entrypoints)}",
            f"middlewares: {', '.join(r.middlewares)}" if r.middlewares else "",
            f"provider: {r.provider}" if r.provider else ""]


def _service_evidence(s: TraefikService) -> list[str]:
    servers = (f"server {srv.url}: {srv.status or 'no status'}" for srv in s.servers)
    return [*(f"error: {e}" for e in s.errors), *servers, f"used by: {', '.join(s.used_by)}" if s.used_by else ""]


def traefik_rules(tr: TraefikState) -> Iterable[Finding]:
    for r in tr.routers:
        if r.status == "disabled" or (r.errors and r.status != "enabled"):
            yield _f("critical", "traefik", r.name,
                     f"router {r.name} is {r.status}: {'; '.join(r.errors) or 'no reason given'}", None,
                     _router_evidence(r))
        elif r.errors or r.status == "warning":
            yield _f("warning", "traefik", r.name, f"router {r.name}: {'; '.join(r.errors) or r.status}", None,
                     _router_evidence(r))
    for s in tr.services:
        down = [srv.url for srv in s.servers if srv.status == "DOWN"]
        if s.servers and len(down) == len(s.servers):
            yield _f("critical", "traefik", s.name, f"service {s.name}: all {len(down)} servers DOWN",
                     "check the backend (Swarm tasks) behind it", _service_evidence(s))
        elif down:
            yield _f("warning", "traefik", s.name, f"service {s.name}: {len(down)}/{len(s.servers)} servers DOWN: "
                     + ", ".join(down[:3]), None, _service_evidence(s))
        if s.errors:
            yield _f("warning" if s.status != "disabled" else "critical", "traefik", s.name,
                     f"service {s.name}: {'; '.join(s.errors)}", None, _service_evidence(s))


# -------------------------------------------------------------------- driver

RULES: dict[str, Callable[[object], Iterable[Finding]]] = {
    **{s.name: globals()[s.rules] for s in SOURCES},  # console/layers.py names each source's rules
    "backups": backup_rules,  # a BackupReport (console/ops/backups.py, console/health_backups.py)
    "repos": repo_rules,  # a RepoReport (console/ops/node_detail.py, console/health_repos.py) -- h-operate2
}


def source_findings(snap: Snapshot, now: float) -> Iterable[Finding]:
    layer = LAYER_OF_SOURCE.get(snap.source, snap.source)
    if not snap.configured:
        yield _f("info", layer, snap.source, f"{snap.source}: not configured")
        return
    if snap.error and snap.data is None:
        yield _f("unknown", layer, snap.source, f"{snap.source} unreachable: {snap.error}",
                 "no data has been read from it yet", [f"error: {snap.error}"])
    elif snap.error:
        age = snap.age(now)
        yield _f("warning", layer, snap.source,
                 f"{snap.source} stale ({age:.0f} s old): {snap.error}" if age is not None else snap.error,
                 "showing the last good data")
    elif snap.is_stale(now):
        yield _f("warning", layer, snap.source, f"{snap.source} data is {snap.age(now):.0f} s old")


def evaluate(snapshots: dict[str, Snapshot], now: float) -> list[Finding]:
    findings: list[Finding] = []
    for name, snap in snapshots.items():
        findings.extend(source_findings(snap, now))
        rule = RULES.get(name)
        if rule is not None and snap.data is not None:
            findings.extend(rule(snap.data))
    findings.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.layer, f.subject))
    return findings


def overall(findings: list[Finding]) -> str:
    """ok | warning | critical | unknown — the worst finding that is not info."""
    sevs = {f.severity for f in findings}
    if "critical" in sevs:
        return "critical"
    if "unknown" in sevs:
        return "unknown"
    if "warning" in sevs:
        return "warning"
    return "ok"
