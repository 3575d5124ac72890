"""VRRP health rules: per instance and per keepalived sync group. Pure, no I/O.

Two firewalls each MASTER of a different independent instance is an
active/active pair, not a problem. A sync group's members change state
together, so the group is judged once: a fact true of every member (both
MASTER, FAULT, not on the preferred firewall) is one finding about the group,
and members held by different firewalls are a split group.
"""

from __future__ import annotations

from collections.abc import Iterable

from console.model import Finding, VrrpState
from console.verdict import GroupView, InstanceView, group_views, vrrp_instances

# (kind, severity, text, hint): text and hint with {name} for the instance or the group
Raw = tuple[str, str, str, str | None]


def evidence(vrrp: VrrpState, names: Iterable[str]) -> tuple[str, ...]:
    """Each firewall's view of the instances `names`: state, priority, VIPs, and whether it holds them."""
    wanted = set(names)
    lines = []
    for fw in vrrp.firewalls:
        for inst in fw.instances:
            if inst.name not in wanted:
                continue
            held = [v for v in inst.vips if v.split("/")[0] in {a.split("/")[0] for a in fw.addresses}]
            lines.append(f"{fw.name} {inst.name}: {inst.state}, priority {inst.effective_priority}"
                         f"/{inst.base_priority}, VIPs {', '.join(inst.vips) or 'none'}"
                         + (f", holds {', '.join(held)}" if held else "")
                         + ("" if fw.answering else " (last known: not answering)"))
    return tuple(lines)


def vrrp_rules(vrrp: VrrpState) -> Iterable[Finding]:
    for fw in vrrp.firewalls:
        if not fw.answering:
            yield Finding("critical", "vrrp", fw.name,
                          f"keepalived on {fw.name} is not answering: {fw.error or 'no reason'}",
                          "check keepalived and SSH on the firewall; its current state is unknown"
                          + (" (its last known state is shown, marked stale)" if fw.instances else ""),
                          (f"error: {fw.error or 'no reason'}", f"host: {fw.host}",
                           *evidence(vrrp, (i.name for i in fw.instances))))
    views = vrrp_instances(vrrp)
    if not views and any(fw.answering for fw in vrrp.firewalls):
        yield Finding("critical", "vrrp", "vrrp", "no firewall reports any VRRP instance: who holds the VIP is unknown",
                      "check that keepalived has a vrrp_instance and that the dump command is the right one")
    groups = group_views(vrrp, views)
    grouped = {v.name for g in groups for v in g.instances}
    for g in groups:
        yield from _group_findings(g, len(vrrp.firewalls), vrrp)
    for view in views:
        if view.name not in grouped:
            for _kind, sev, text, hint in _instance_raw(view, len(vrrp.firewalls)):
                yield Finding(sev, "vrrp", view.name, text.format(name=view.name), hint and hint.format(name=view.name),
                              evidence(vrrp, (view.name,)))


def _instance_raw(view: InstanceView, n_firewalls: int, preferred: str | None = "view") -> list[Raw]:
    masters = view.masters
    preferred = view.preferred if preferred == "view" else preferred
    out: list[Raw] = [(f"fault:{fw}", "critical", f"{fw} {{name}} is in FAULT", "a tracked interface or script failed")
                      for fw in view.faulted]
    if len(masters) > 1:
        out.append((f"split-brain:{','.join(masters)}", "critical",
                    f"SPLIT BRAIN on {{name}}: {' and '.join(masters)} are both MASTER",
                    "the firewalls cannot hear each other's adverts: check the link between them"))
    elif not masters and view.silent:
        out.append((f"unknown:{','.join(view.silent)}", "unknown", f"no answering firewall is MASTER of {{name}}: "
                    f"{', '.join(view.silent)} does not answer and may hold the virtual IP", None))
    elif not masters:
        out.append(("no-master", "critical", "no MASTER for {name}: nobody holds the virtual IP", None))
    elif preferred and masters[0] != preferred:
        out.append((f"not-preferred:{masters[0]}:{preferred}", "warning",
                    f"{{name}} MASTER is {masters[0]}, not the preferred {preferred}",
                    f"fail back once {preferred} is healthy: `labconsole maintenance` does it at the end of a run; "
                    f"by hand, set {masters[0]}'s keepalived track file to 1 until {preferred} is MASTER of "
                    f"{{name}}, then back to 0 (the VIP is away for about one advert)"))
    elif not view.backups and n_firewalls > 1:
        out.append(("no-backup", "warning", "{name} has no healthy BACKUP", "the VIP has no failover"))
    return out


def _group_findings(g: GroupView, n_firewalls: int, vrrp: VrrpState) -> Iterable[Finding]:
    label = f"sync group {g.name} ({', '.join(g.member_names)})"
    members = evidence(vrrp, g.member_names)
    if g.split:
        held = ", ".join(f"{i} on {fw}" for i, fw in g.holders.items())
        yield Finding("critical", "vrrp", g.name, f"{label} is split across the firewalls: {held}",
                      "a sync group must fail over as a whole: check that every member is in the group in "
                      "keepalived.conf on both firewalls, and the members' FAULT/track state", members)
    # the group's preferred firewall applies to every member; a split group has no one holder to compare
    raws = {v.name: _instance_raw(v, n_firewalls, None if g.split else g.preferred) for v in g.instances}
    common = set.intersection(*({k for k, *_ in r} for r in raws.values())) if raws else set()
    for name, raw in raws.items():
        for kind, sev, text, hint in raw:
            if kind in common:  # every member says it: said once below, about the group
                continue
            yield Finding(sev, "vrrp", name, text.format(name=name), hint and hint.format(name=name),
                          evidence(vrrp, (name,)))
    first = next(iter(raws.values()), [])
    for kind, sev, text, hint in first:
        if kind in common:
            yield Finding(sev, "vrrp", g.name, text.format(name=label), hint and hint.format(name=label), members)
