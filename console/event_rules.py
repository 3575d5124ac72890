"""The transitions each layer's snapshots can make (the rules behind console.events.derive).

One function per source: (old data or None for the first poll, new data, now)
-> events. Subjects are the ones the health rules' findings use, so
first_seen(subject) finds the start of an incident.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from console.events import AT_START, Event, _ev

# ------------------------------------------------------------------ helpers


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(key, old value or None, new value or None) for every key whose value differs."""
    for key, value in new.items():
        before = old.get(key)
        if before != value:
            yield key, before, value
    for key, before in old.items():
        if key not in new:
            yield key, before, None


def _by(items: Iterable[Any], key) -> dict[str, Any]:
    return {key(x): x for x in items}


# ------------------------------------------------------------------ proxmox

HA_BAD = {"error", "fence", "recovery", "freeze"}


def _proxmox(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    baseline = old is None
    if not baseline and old.quorate != new.quorate:
        out.append(_ev(now, "cluster", new.cluster_name or "cluster", "quorum",
                       "cluster is quorate again" if new.quorate else "cluster lost quorum",
                       "ok" if new.quorate else "critical"))
    elif baseline and not new.quorate:
        out.append(_ev(now, "cluster", new.cluster_name or "cluster", "quorum", "cluster has no quorum" + AT_START,
                       "critical"))
    old_nodes = {} if baseline else {n.name: n for n in old.nodes}
    for n in new.nodes:
        before = old_nodes.get(n.name)
        if baseline:
            if n.status != "online":
                out.append(_ev(now, "cluster", n.name, "node-offline", f"node {n.name} is {n.status}" + AT_START,
                               "critical"))
            if n.ha_lrm and "maintenance" in n.ha_lrm:
                out.append(_ev(now, "cluster", n.name, "node-maintenance",
                               f"node {n.name} is in HA maintenance mode" + AT_START, "info"))
            continue
        if before is None:
            out.append(_ev(now, "cluster", n.name, "node-added", f"node {n.name} appeared ({n.status})", "info"))
            continue
        if before.status != n.status:
            online = n.status == "online"
            out.append(_ev(now, "cluster", n.name, "node-online" if online else "node-offline",
                           f"node {n.name} is {n.status} (was {before.status})", "ok" if online else "critical"))
        if (before.ha_lrm or "") != (n.ha_lrm or "") and n.status == "online" and before.status == "online":
            entered = bool(n.ha_lrm and "maintenance" in n.ha_lrm)
            left = bool(before.ha_lrm and "maintenance" in before.ha_lrm)
            if entered != left:
                out.append(_ev(now, "cluster", n.name, "node-maintenance" if entered else "node-maintenance-end",
                               f"node {n.name} {'entered' if entered else 'left'} HA maintenance mode",
                               "info" if entered else "ok"))
    if not baseline:
        new_names = {n.name for n in new.nodes}
        for name in old_nodes:
            if name not in new_names:
                out.append(_ev(now, "cluster", name, "node-removed", f"node {name} is no longer listed", "warning"))
    out += _guests(None if baseline else old.guests, new.guests, now)
    return out


def _guests(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    if old is None:
        for g in new:
            if g.ha_state in HA_BAD:
                out.append(_ev(now, "guests", f"{'ct' if g.type == 'lxc' else 'vm'}:{g.vmid}", "ha-state",
                               f"{g.name} ({g.vmid}) HA state {g.ha_state}" + AT_START, "critical"))
        return out
    if old is new:
        return out
    before_all = _by(old, lambda g: g.vmid)
    for g in new:
        before = before_all.get(g.vmid)
        if before is None or before == g:
            continue
        label = f"{g.name} ({g.vmid})"
        sid = f"{'ct' if g.type == 'lxc' else 'vm'}:{g.vmid}"  # HA findings name the HA resource
        if before.ha_state != g.ha_state and g.ha_state is not None:
            bad = g.ha_state in HA_BAD
            out.append(_ev(now, "guests", sid, "ha-state",
                           f"{label} HA state {before.ha_state or 'unmanaged'} → {g.ha_state}",
                           "critical" if bad else ("ok" if before.ha_state in HA_BAD else "info")))
        if before.node != g.node:
            out.append(_ev(now, "guests", str(g.vmid), "guest-moved", f"{label} moved {before.node} → {g.node}",
                           "info"))
        if before.status != g.status:
            should_run = g.ha_state == "started"  # HA wants it running: stopped is trouble
            sev = ("ok" if g.status == "running" else "warning") if should_run else "info"
            out.append(_ev(now, "guests", str(g.vmid), "guest-status", f"{label} is {g.status} (was {before.status})",
                           sev))
    return out


# ------------------------------------------------------------------ ceph


def _ceph(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    if old is None:
        if new.health != "HEALTH_OK":
            out.append(_ev(now, "ceph", "ceph", "ceph-health", f"Ceph is {new.health}" + AT_START,
                           "critical" if new.health == "HEALTH_ERR" else "warning"))
        for o in new.osds:
            if not o.up:
                out.append(_ev(now, "ceph", o.name, "osd-down", f"{o.name} on {o.host or '?'} is down" + AT_START,
                               "critical"))
            if not o.in_:
                out.append(_ev(now, "ceph", o.name, "osd-out", f"{o.name} on {o.host or '?'} is out" + AT_START,
                               "warning"))
        missing = [m for m in new.mons if m not in new.quorum]
        if missing and new.quorum:
            out.append(_ev(now, "ceph", "mon", "mon-left", f"mon {', '.join(missing)} out of quorum" + AT_START,
                           "warning"))
        for flag in sorted(new.flags):
            out.append(_ev(now, "ceph", f"flag {flag}", "flag-set", f"Ceph flag {flag} is set" + AT_START, "warning"))
        return out
    if old.health != new.health:
        sev = {"HEALTH_OK": "ok", "HEALTH_WARN": "warning"}.get(new.health, "critical")
        out.append(_ev(now, "ceph", "ceph", "ceph-health", f"Ceph {old.health} → {new.health}", sev))
    if old.osds is not new.osds:
        before_all = _by(old.osds, lambda o: o.id)
        for o in new.osds:
            before = before_all.get(o.id)
            where = f" on {o.host}" if o.host else ""
            if before is None:
                out.append(_ev(now, "ceph", o.name, "osd-added", f"{o.name}{where} appeared", "info"))
                continue
            if before.up != o.up:
                out.append(_ev(now, "ceph", o.name, "osd-up" if o.up else "osd-down",
                               f"{o.name}{where} is {'up' if o.up else 'down'}",
                               ("ok" if o.in_ else "warning") if o.up else "critical"))
            if before.in_ != o.in_:
                out.append(_ev(now, "ceph", o.name, "osd-in" if o.in_ else "osd-out",
                               f"{o.name}{where} is {'in' if o.in_ else 'out'}",
                               ("ok" if o.up else "critical") if o.in_ else "warning"))
    if old.quorum != new.quorum and new.mons:
        missing = [m for m in new.mons if m not in new.quorum]
        left = [m for m in old.quorum if m not in new.quorum]
        joined = [m for m in new.quorum if m not in old.quorum]
        sev = "ok" if not missing else ("critical" if not new.quorum else "warning")
        if left:
            out.append(_ev(now, "ceph", "mon", "mon-left", f"mon {', '.join(left)} left the quorum "
                           f"({len(new.quorum)}/{len(new.mons)} in quorum)", sev))
        if joined:
            out.append(_ev(now, "ceph", "mon", "mon-joined", f"mon {', '.join(joined)} joined the quorum "
                           f"({len(new.quorum)}/{len(new.mons)} in quorum)", sev))
    for flag in sorted(new.flags - old.flags):
        out.append(_ev(now, "ceph", f"flag {flag}", "flag-set", f"Ceph flag {flag} set", "warning"))
    for flag in sorted(old.flags - new.flags):
        out.append(_ev(now, "ceph", f"flag {flag}", "flag-unset", f"Ceph flag {flag} unset", "ok"))
    return out


# ------------------------------------------------------------------ swarm


def _converged(s) -> bool:
    return s.replicas_running >= s.replicas_desired


def _swarm(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    if old is None:
        for n in new.nodes:
            if n.state != "ready":
                out.append(_ev(now, "swarm", n.hostname, "swarm-node-state",
                               f"swarm node {n.hostname} is {n.state}" + AT_START,
                               "critical" if n.role == "manager" else "warning"))
        for s in new.services:
            if not _converged(s):
                out.append(_ev(now, "swarm", s.name, "service-under-replicated",
                               f"service {s.name} runs {s.replicas_running}/{s.replicas_desired}" + AT_START,
                               "critical" if s.replicas_running == 0 else "warning"))
        return out
    if old.nodes is not new.nodes:
        before_all = _by(old.nodes, lambda n: n.id)
        for n in new.nodes:
            before = before_all.get(n.id)
            if before is None:
                out.append(_ev(now, "swarm", n.hostname, "swarm-node-added", f"swarm node {n.hostname} joined", "info"))
                continue
            if before.state != n.state:
                ok = n.state == "ready"
                out.append(_ev(now, "swarm", n.hostname, "swarm-node-state",
                               f"swarm node {n.hostname} is {n.state} (was {before.state})",
                               "ok" if ok else ("critical" if n.role == "manager" else "warning")))
            if before.availability != n.availability:
                out.append(_ev(now, "swarm", n.hostname, "swarm-node-availability",
                               f"swarm node {n.hostname} availability {before.availability} → {n.availability}",
                               {"active": "ok", "drain": "warning"}.get(n.availability, "info")))
            if before.leader != n.leader and n.leader:
                out.append(_ev(now, "swarm", n.hostname, "swarm-leader", f"swarm leader is now {n.hostname}", "info"))
    if old.services is not new.services:
        before_all = _by(old.services, lambda s: s.id)
        for s in new.services:
            before = before_all.get(s.id)
            if before is None:
                out.append(_ev(now, "swarm", s.name, "service-created", f"service {s.name} created", "info"))
                continue
            if _converged(before) != _converged(s):
                if _converged(s):
                    out.append(_ev(now, "swarm", s.name, "service-converged",
                                   f"service {s.name} converged ({s.replicas_running}/{s.replicas_desired})", "ok"))
                else:
                    out.append(_ev(now, "swarm", s.name, "service-under-replicated",
                                   f"service {s.name} under-replicated ({s.replicas_running}/{s.replicas_desired})",
                                   "critical" if s.replicas_running == 0 else "warning"))
            if before.update_state != s.update_state and s.update_state:
                bad = s.update_state in ("paused", "rollback_paused")
                out.append(_ev(now, "swarm", s.name, "service-update",
                               f"service {s.name} update {s.update_state.replace('_', ' ')}",
                               "critical" if bad else "info"))
        names = {s.id for s in new.services}
        for sid, s in before_all.items():
            if sid not in names:
                out.append(_ev(now, "swarm", s.name, "service-removed", f"service {s.name} removed", "info"))
    return out


# ------------------------------------------------------------------ traefik


def _traefik(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    new_routers = _by(new.routers, lambda r: f"{r.protocol}:{r.name}")
    if old is None:
        for r in new.routers:
            if r.errors or r.status != "enabled":
                out.append(_ev(now, "traefik", r.name, "router-error",
                               f"router {r.name} {r.status}: {'; '.join(r.errors) or 'no reason given'}" + AT_START,
                               "critical" if r.status == "disabled" else "warning"))
        return out
    if old.routers is new.routers:
        return out
    old_routers = _by(old.routers, lambda r: f"{r.protocol}:{r.name}")
    for key, before, r in _changes(old_routers, new_routers):
        if r is None or before is None:
            continue  # routers come and go with services; only their errors are events
        bad_before = bool(before.errors) or before.status != "enabled"
        bad_now = bool(r.errors) or r.status != "enabled"
        if bad_now and (not bad_before or before.errors != r.errors or before.status != r.status):
            out.append(_ev(now, "traefik", r.name, "router-error",
                           f"router {r.name} {r.status}: {'; '.join(r.errors) or 'no reason given'}",
                           "critical" if r.status == "disabled" else "warning"))
        elif bad_before and not bad_now:
            out.append(_ev(now, "traefik", r.name, "router-error-cleared", f"router {r.name} has no errors again", "ok"))
    return out


# ------------------------------------------------------------------ vrrp


def vip_holders(state) -> dict[str, tuple[str, ...]]:
    """Instance name -> the firewalls that are MASTER for it (sorted)."""
    holders: dict[str, list[str]] = {}
    for fw in state.firewalls:
        for inst in fw.instances:
            holders.setdefault(inst.name, [])
            if inst.state == "MASTER" and fw.answering:
                holders[inst.name].append(fw.name)
    return {name: tuple(sorted(h)) for name, h in holders.items()}


def _holder_text(holders: tuple[str, ...]) -> str:
    return " and ".join(holders) if holders else "nobody"


def _vrrp(old, new, now: float) -> list[Event]:
    out: list[Event] = []
    new_h = vip_holders(new)
    if old is None:
        for name, h in new_h.items():
            if len(h) != 1:
                out.append(_ev(now, "vrrp", name, "vip-holder", f"{name} VIP held by {_holder_text(h)}" + AT_START,
                               "critical"))
        for fw in new.firewalls:
            if not fw.answering:
                out.append(_ev(now, "vrrp", fw.name, "keepalived-down",
                               f"keepalived on {fw.name} not answering: {fw.error or 'no reason'}" + AT_START, "critical"))
        return out
    old_h = vip_holders(old)
    for name, h in new_h.items():
        before = old_h.get(name)
        if before is not None and before != h:
            split = len(h) > 1
            out.append(_ev(now, "vrrp", name, "vip-moved",
                           f"{name} VIP {_holder_text(before)} → {_holder_text(h)}" + (" (SPLIT BRAIN)" if split else ""),
                           "critical" if len(h) != 1 else ("ok" if len(before) != 1 else "info")))
    old_fw = _by(old.firewalls, lambda f: f.name)
    for fw in new.firewalls:
        before = old_fw.get(fw.name)
        if before is not None and before.answering != fw.answering:
            out.append(_ev(now, "vrrp", fw.name, "keepalived-up" if fw.answering else "keepalived-down",
                           f"keepalived on {fw.name} " + ("answers again" if fw.answering
                                                          else f"not answering: {fw.error or 'no reason'}"),
                           "ok" if fw.answering else "critical"))
    return out


DERIVERS = {"proxmox": _proxmox, "ceph": _ceph, "swarm": _swarm, "traefik": _traefik, "vrrp": _vrrp}
