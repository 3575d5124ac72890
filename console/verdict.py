"""One verdict per fact: each layer's level and one-line summary. Pure, no I/O.

The header dots, the Health tiles, `check`'s headline and JSON, and the VRRP
banner read these and compute no level of their own. A layer's level is the
worst *counted* finding about it (the caller says how a finding counts:
expected-during-maintenance findings at most as warnings, silenced ones not
at all), raised to unknown when the source has no data and shown as stale
when its data is old. The summary and tile lines only describe the data; they
never decide a level.

VRRP is judged per instance and per sync group: fw1 MASTER of VI_1 and fw2
MASTER of VI_2 is an ordinary active/active pair, not a split brain; members of
one sync group held by different firewalls are a split group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from console.layers import LAYERS as LAYER_SPECS
from console.layers import SOURCE_NAMES
from console.model import Finding, VrrpInstance, VrrpState

OK, WARN, CRIT, UNKNOWN, STALE, OFF = "ok", "warn", "crit", "unknown", "stale", "off"
# worst first; "off" (not configured) never raises anything
LEVEL_RANK = {CRIT: 0, UNKNOWN: 1, STALE: 2, WARN: 3, OK: 4, OFF: 5}
LEVEL_OF_SEVERITY = {"critical": CRIT, "unknown": UNKNOWN, "warning": WARN, "info": OK}
STATUS_OF_LEVEL = {OK: "ok", OFF: "ok", WARN: "warning", STALE: "warning", CRIT: "critical", UNKNOWN: "unknown"}
EXIT_OF_STATUS = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
# (layer, source): the Health tiles in order; proxmox feeds two layers
LAYERS = tuple((layer.name, layer.source) for layer in LAYER_SPECS)  # console/layers.py
SOURCES = SOURCE_NAMES
TITLES = {layer.name: layer.title for layer in LAYER_SPECS}
SOURCE_LAYERS = {"cluster": "proxmox", "guests": "proxmox"}  # findings about a source go to its layer

Counted = Callable[[Finding], str]  # finding -> the severity it counts with


@dataclass(frozen=True, slots=True)
class Verdict:
    key: str  # a layer ("ceph"), a source ("proxmox") or a VRRP instance ("vrrp/VI_1")
    source: str
    level: str  # ok | warn | crit | unknown | stale | off
    summary: str  # one line, as `check` prints it
    lines: tuple[str, ...] = ()  # short lines for a tile (a VRRP instance: the findings about it)
    age: float | None = None  # seconds since the source's last good data

    @property
    def title(self) -> str:
        return TITLES.get(self.key, self.key)


def worst(levels: Iterable[str]) -> str:
    return min(levels, key=lambda lv: LEVEL_RANK.get(lv, 1), default=OK)


def status_of(levels: Iterable[str]) -> str:
    """ok | warning | critical | unknown for a set of verdict levels (the exit-code word)."""
    levels = list(levels)
    if CRIT in levels:
        return "critical"
    if UNKNOWN in levels:
        return "unknown"
    return STATUS_OF_LEVEL[worst(levels)] if levels else "ok"


def _as_is(f: Finding) -> str:
    return f.severity


# ------------------------------------------------------------------ VRRP view


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One VRRP instance as the answering firewalls report it."""

    name: str
    members: tuple[tuple[str, str], ...]  # (firewall, state) of each answering firewall that has it
    vips: tuple[str, ...]
    preferred: str | None  # the firewall that should hold it
    silent: tuple[str, ...] = ()  # firewalls that do not answer: any of them may hold it
    group: str | None = None  # its keepalived sync group

    @property
    def masters(self) -> tuple[str, ...]:
        return tuple(fw for fw, st in self.members if st == "MASTER")

    @property
    def faulted(self) -> tuple[str, ...]:
        return tuple(fw for fw, st in self.members if st == "FAULT")

    @property
    def backups(self) -> tuple[str, ...]:
        return tuple(fw for fw, st in self.members if st == "BACKUP")


@dataclass(frozen=True, slots=True)
class GroupView:
    """A keepalived sync group: its member instances (those some firewall reports)."""

    name: str
    instances: tuple[InstanceView, ...]
    preferred: str | None

    @property
    def member_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.instances)

    @property
    def holders(self) -> dict[str, str]:
        """instance -> its one MASTER (instances with none or several are left out)."""
        return {v.name: v.masters[0] for v in self.instances if len(v.masters) == 1}

    @property
    def split(self) -> bool:
        """Members held by different firewalls: the group did not fail over as a whole."""
        return len(set(self.holders.values())) > 1

    @property
    def vips(self) -> tuple[str, ...]:
        return tuple(v for i in self.instances for v in i.vips)


def vrrp_instances(vrrp: VrrpState) -> list[InstanceView]:
    """Instances by name. The preferred holder: the one configured for the instance
    (vrrp.preferred_masters), else for its sync group, else the one member with the highest
    base priority when priorities differ (so each half of an active/active pair has its own),
    else the cluster's preferred_master."""
    found: dict[str, list[tuple[str, VrrpInstance]]] = {}
    for fw in vrrp.firewalls:
        if fw.answering:
            for inst in fw.instances:
                found.setdefault(inst.name, []).append((fw.name, inst))
    views = []
    for name, members in sorted(found.items(), key=lambda kv: _instance_order(vrrp, kv[0])):
        group = next((i.sync_group for _, i in members if i.sync_group), None)
        prios = sorted(((i.base_priority, fw) for fw, i in members), reverse=True)
        preferred = vrrp.preferred_for(name) or (vrrp.preferred_for(group) if group else None)
        if preferred is None:
            preferred = vrrp.preferred_master
            if len(prios) > 1 and prios[0][0] != prios[1][0]:
                preferred = prios[0][1]
        vips = next((i.vips for _, i in members if i.vips), ())
        views.append(InstanceView(name, tuple((fw, i.state) for fw, i in members), tuple(vips), preferred,
                                  tuple(silent_firewalls(vrrp)), group))
    return views


def _instance_order(vrrp: VrrpState, name: str) -> tuple:
    """Sync groups' members in their group's order, then the other instances by name."""
    for gi, g in enumerate(vrrp.sync_groups):
        if name in g.members:
            return (0, gi, g.members.index(name), name)
    return (1, 0, 0, name)


def group_views(vrrp: VrrpState, views: list[InstanceView] | None = None) -> list[GroupView]:
    """One view per sync group that has a reported member. Its preferred firewall: the one
    configured for the group, else the one its members agree on, else the cluster default."""
    views = vrrp_instances(vrrp) if views is None else views
    out = []
    for g in vrrp.sync_groups:
        mine = tuple(v for v in views if v.group == g.name)
        if not mine:
            continue
        agreed = {v.preferred for v in mine}
        preferred = vrrp.preferred_for(g.name) or (agreed.pop() if len(agreed) == 1 else g.preferred_master)
        out.append(GroupView(g.name, mine, preferred))
    return out


def silent_firewalls(vrrp: VrrpState) -> list[str]:
    return [fw.name for fw in vrrp.firewalls if not fw.answering]


# --------------------------------------------------------------- summaries


def _cluster_lines(pve) -> tuple[str, list[str]]:
    online = sum(n.status == "online" for n in pve.nodes)
    q = ("quorate" if pve.quorate else "NO QUORUM") + f" {pve.votes}/{pve.expected_votes}"
    maint = [n.name for n in pve.nodes if n.ha_lrm and "maintenance" in n.ha_lrm]
    lines = [q, f"nodes {online}/{len(pve.nodes)} up"] + (["maint " + ",".join(maint)] if maint else [])
    summary = f"{'quorate' if pve.quorate else 'NO QUORUM'}, {online}/{len(pve.nodes)} nodes online"
    return summary + (f", {', '.join(maint)} in maintenance" if maint else ""), lines


def _guest_lines(pve) -> tuple[str, list[str]]:
    guests = [g for g in pve.guests if not g.template]
    running = sum(g.status == "running" for g in guests)
    ha_bad = sum(g.ha_state in ("error", "fence", "recovery") for g in guests)
    unknown = sum(g.status not in ("running", "stopped", "paused") for g in guests)
    locked = sum(bool(g.lock) for g in guests)
    lines = [f"{running}/{len(guests)} running"]
    lines += [f"HA bad: {ha_bad}"] if ha_bad else []
    lines += [f"{unknown} unknown"] if unknown else []  # on a node that does not answer
    lines += [f"locked {locked}"] if locked else []
    return f"guests {running}/{len(guests)} running" + "".join(f", {x}" for x in lines[1:]), lines


def _ceph_lines(c) -> tuple[str, list[str]]:
    used = 100 * c.bytes_used / c.bytes_total if c.bytes_total else 0.0
    lines = [f"{c.health.replace('HEALTH_', '')} · {used:.0f}% used",
             f"OSD {c.num_up_osds}/{c.num_osds} up {c.num_in_osds} in",
             f"PG {c.clean_pgs}/{c.num_pgs} clean"]
    summary = (f"{c.health}, OSDs {c.num_up_osds} up/{c.num_in_osds} in of {c.num_osds}, "
               f"PGs {c.clean_pgs}/{c.num_pgs} clean, {used:.0f}% used")
    flags = sorted(c.flags & {"noout", "norebalance", "norecover", "nobackfill", "noup", "nodown", "pause"})
    return summary + (f", flags {','.join(flags)}" if flags else ""), lines


def _swarm_lines(s) -> tuple[str, list[str]]:
    ready = sum(n.state == "ready" for n in s.nodes)
    conv = sum(v.replicas_running >= v.replicas_desired for v in s.services)
    drained = [n.hostname for n in s.nodes if n.availability != "active"]
    lines = [f"nodes {ready}/{len(s.nodes)} ready", f"svc {conv}/{len(s.services)} converged"]
    lines += [f"{len(drained)} not active"] if drained else []
    summary = f"nodes {ready}/{len(s.nodes)} ready, services {conv}/{len(s.services)} converged"
    return summary + (f", {', '.join(drained)} not active" if drained else ""), lines


def _traefik_lines(t) -> tuple[str, list[str]]:
    counts = {"enabled": 0, "warning": 0, "disabled": 0}
    for r in t.routers:
        counts[r.status] = counts.get(r.status, 0) + 1
    down = sum(x.status == "DOWN" for s in t.services for x in s.servers)
    lines = [f"routers {counts['enabled']} ok", f"{counts['warning']} warn {counts['disabled']} err"]
    lines += [f"{down} servers DOWN"] if down else []
    summary = f"routers {counts['enabled']} ok, {counts['warning']} warning, {counts['disabled']} error"
    return summary + (f", {down} servers DOWN" if down else ""), lines


def instance_summary(view: InstanceView) -> str:
    vips = ",".join(view.vips) or "no VIP"
    if len(view.masters) > 1:
        return f"SPLIT BRAIN {view.name}: {' AND '.join(view.masters)} are BOTH MASTER for {vips}"
    if not view.masters and view.silent:
        return f"{view.name}: holder of {vips} unknown ({', '.join(view.silent)} silent, may hold it)"
    if not view.masters:
        return f"NO MASTER {view.name}: nobody holds {vips}"
    note = f" (preferred: {view.preferred})" if view.preferred and view.preferred != view.masters[0] else ""
    return f"{view.name}: {view.masters[0]} holds {vips}{note}"


def group_summary(group: GroupView) -> str:
    names = ",".join(group.member_names)
    if group.split:
        held = ", ".join(f"{i} on {fw}" for i, fw in group.holders.items())
        return f"SPLIT sync group {group.name}: {held}"
    views = group.instances
    if any(len(v.masters) > 1 for v in views):
        return f"SPLIT BRAIN {group.name} ({names}): {' AND '.join(views[0].masters)} are BOTH MASTER"
    holders = set(group.holders.values())
    if not holders:
        return f"NO MASTER {group.name} ({names})"
    holder = holders.pop()
    note = f" (preferred: {group.preferred})" if group.preferred and group.preferred != holder else ""
    missing = [v.name for v in views if v.name not in group.holders]
    gap = f", {','.join(missing)} without MASTER" if missing else ""
    return f"{group.name} ({names}) on {holder}{note}{gap}"


def _group_line(g: GroupView) -> str:
    """A sync group as a tile line (short, like an instance's "VI_1: fw1")."""
    if g.split:
        return f"SPLIT {g.name}"
    if any(len(v.masters) > 1 for v in g.instances):
        return f"SPLIT BRAIN {g.name}"
    holders = set(g.holders.values())
    if not holders:
        return f"{g.name}: holder unknown" if any(v.silent for v in g.instances) else f"NO MASTER {g.name}"
    return f"{g.name}: {holders.pop()}"


def _vrrp_lines(v: VrrpState) -> tuple[str, list[str]]:
    views = vrrp_instances(v)
    silent = silent_firewalls(v)
    lines, parts = [], []
    groups = group_views(v, views)
    grouped = {i.name for g in groups for i in g.instances}
    for g in groups:  # a sync group is one line: its members move together
        parts.append(group_summary(g))
        lines.append(_group_line(g))
    views = [view for view in views if view.name not in grouped]
    for view in views:
        if len(view.masters) > 1:
            lines.append(f"SPLIT BRAIN {view.name}")
        elif not view.masters:
            lines.append(f"{view.name}: holder unknown" if view.silent else f"NO MASTER {view.name}")
        else:
            lines.append(f"{view.name}: {view.masters[0]}")
    parts += [f"{view.name} on {view.masters[0]}" if len(view.masters) == 1 else instance_summary(view).split(":")[0]
              for view in views]
    if not groups and len(views) == 1 and len(views[0].masters) == 1:
        parts = [f"VIP on {views[0].masters[0]}"]
    if silent:
        lines.append("silent: " + ",".join(silent))
        parts.append(f"keepalived silent on {', '.join(silent)}" + ("" if views else ": VIP holder unknown"))
    return ", ".join(parts) or "no instances", lines or ["no instances"]


DESCRIBE = {"cluster": _cluster_lines, "guests": _guest_lines, "ceph": _ceph_lines, "swarm": _swarm_lines,
            "traefik": _traefik_lines, "vrrp": _vrrp_lines}


# ----------------------------------------------------------------- verdicts


def layer_verdict(layer: str, source: str, snap, findings: Iterable[Finding], now: float,
                  counted: Counted = _as_is) -> Verdict:
    if snap is None or snap.loading:
        return Verdict(layer, source, UNKNOWN, "loading…", ("loading…",))
    if not snap.configured:
        return Verdict(layer, source, OFF, "not configured", ("not configured",))
    age = snap.age(now)
    if snap.data is None:
        error = snap.error or "not polled"
        return Verdict(layer, source, UNKNOWN, f"no data: {error}", ("no data:", error[:40]), age)
    level = worst(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN) for f in findings if f.layer == layer)
    summary, lines = DESCRIBE[layer](snap.data)
    if snap.error is not None:  # the last poll failed: what we show is the last known
        old = f", {age:.0f} s old" if age is not None else ""
        summary = f"FAILED (last known{old}: {summary})"
    elif snap.is_stale(now):
        summary = f"stale ({age:.0f} s old): {summary}" if age is not None else f"stale: {summary}"
    if snap.is_stale(now) and level != CRIT:
        level = STALE
        lines = [*lines[:2], "⚠ stale data"]
    return Verdict(layer, source, level, summary, tuple(lines), age)


def layer_verdicts(snapshots: Mapping[str, object], findings: Iterable[Finding], now: float,
                   counted: Counted = _as_is) -> dict[str, Verdict]:
    """One verdict per layer (cluster, guests, ceph, swarm, traefik, vrrp), and one for any other
    layer a finding names (backups): no finding is left out of the status."""
    findings = list(findings)
    out = {layer: layer_verdict(layer, source, snapshots.get(source), findings, now, counted)
           for layer, source in LAYERS}
    for layer in sorted({f.layer for f in findings} - set(out)):  # a layer without a tile (backups, ...)
        mine = sorted((f for f in findings if f.layer == layer),
                      key=lambda f: LEVEL_RANK.get(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN), 1))
        level = worst(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN) for f in mine)
        summary = f"{len(mine)} finding{'s' if len(mine) != 1 else ''}: {mine[0].text}" if level != OK else "ok"
        out[layer] = Verdict(layer, layer, level, summary, (summary,))
    return out


def source_verdicts(layers: Mapping[str, Verdict]) -> dict[str, Verdict]:
    """One verdict per source (the header dots, `check`'s layer table): the worst of its layers."""
    out = {}
    for source in SOURCES:
        mine = [v for v in layers.values() if v.source == source]
        if not mine:
            continue
        w = min(mine, key=lambda v: LEVEL_RANK.get(v.level, 1))
        summary = "; ".join(v.summary for v in mine) if len(mine) > 1 and w.level not in (UNKNOWN, OFF) else w.summary
        out[source] = Verdict(source, source, w.level, summary, w.lines, w.age)
    return out


def instance_verdicts(vrrp: VrrpState | None, findings: Iterable[Finding],
                      counted: Counted = _as_is) -> list[Verdict]:
    """One verdict per VRRP instance: its level is the worst counted finding whose subject is it."""
    if vrrp is None:
        return []
    findings = [f for f in findings if f.layer == "vrrp"]
    out = []
    for view in vrrp_instances(vrrp):  # a finding about its sync group is about it too
        about = _ranked((f for f in findings if f.subject in (view.name, view.group)), counted)
        level = worst(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN) for f in about)
        out.append(Verdict(f"vrrp/{view.name}", "vrrp", level, instance_summary(view), tuple(f.text for f in about)))
    return out


def group_verdicts(vrrp: VrrpState | None, findings: Iterable[Finding], counted: Counted = _as_is) -> list[Verdict]:
    """One verdict per VRRP sync group: the worst counted finding about it or one of its members."""
    if vrrp is None:
        return []
    findings = [f for f in findings if f.layer == "vrrp"]
    out = []
    for g in group_views(vrrp):
        about = _ranked((f for f in findings if f.subject == g.name or f.subject in g.member_names), counted)
        level = worst(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN) for f in about)
        out.append(Verdict(f"vrrp-group/{g.name}", "vrrp", level, group_summary(g), tuple(f.text for f in about)))
    return out


def _ranked(findings: Iterable[Finding], counted: Counted) -> list[Finding]:
    return sorted(findings, key=lambda f: LEVEL_RANK.get(LEVEL_OF_SEVERITY.get(counted(f), UNKNOWN), 1))


def overall_status(layers: Mapping[str, Verdict]) -> str:
    """The exit-code word over all layers: ok | warning | critical | unknown."""
    return status_of(v.level for v in layers.values())
