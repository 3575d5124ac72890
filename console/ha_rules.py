"""What the HA rules (PVE 9 rules, PVE 8 groups) mean for one HA resource: where
Proxmox's CRM may put it and which node it prefers.

Mirrors pve-ha-manager's select_service_node: the enabled node-affinity rule of
the resource gives its nodes with priorities (a non-strict rule adds every other
node at the lowest priority; a strict one allows only its own); of the online
ones only the highest priority class is kept; a negative resource-affinity rule
then removes the nodes its partners are on, a positive one keeps only theirs.
When nothing is left, the CRM has no node for it: it stays where it is, and on
a node going down for maintenance that means it stops with the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.model import Guest, HaRule


def sid_of(guest: Guest) -> str:
    return f"{'ct' if guest.type == 'lxc' else 'vm'}:{guest.vmid}"


def rules_for(rules: tuple[HaRule, ...] | None, sid: str) -> list[HaRule]:
    """Every rule naming the resource, enabled ones first."""
    return sorted((r for r in rules or () if sid in r.resources), key=lambda r: (r.disabled, r.kind, r.name))


@dataclass(frozen=True)
class Placement:
    nodes: tuple[str, ...]  # where the CRM may put it now, preferred first (empty: nowhere)
    narrowed_by: HaRule | None = None  # the rule that left nothing (None when nodes is not empty)
    why: str = ""  # in words, when nodes is empty


def placement(sid: str, rules: tuple[HaRule, ...] | None, candidates: list[str],
              where: dict[str, str]) -> Placement:
    """Nodes the rules allow for `sid` among `candidates` (online nodes it could move to).
    where: sid -> node of the other HA resources (their planned target while they move)."""
    active = [r for r in rules_for(rules, sid) if not r.disabled]
    prio = {n: 0 for n in candidates}
    node_rule = next((r for r in active if r.kind == "node-affinity"), None)
    if node_rule is not None:
        listed = dict(node_rule.nodes)
        prio = {n: p for n, p in listed.items() if n in candidates}
        if not node_rule.strict:
            prio.update({n: -1 for n in candidates if n not in prio})
        if not prio:
            names = ", ".join(listed) or "no node"
            return Placement((), node_rule, f"strict rule {node_rule.name} allows only {names}, "
                                            "none of them online and out of maintenance")
        top = max(prio.values())
        prio = {n: p for n, p in prio.items() if p == top}
    for rule in (r for r in active if r.kind == "resource-affinity"):
        partners = {s: where[s] for s in rule.resources if s != sid and s in where}
        if rule.affinity == "negative":
            kept = {n: p for n, p in prio.items() if n not in partners.values()}
            why = (f"negative rule {rule.name} keeps it off "
                   + ", ".join(f"{n} ({s})" for s, n in sorted(partners.items())))
        else:
            on = {n for n in partners.values() if n in candidates}
            kept = {n: p for n, p in prio.items() if n in on} if on else prio
            why = f"positive rule {rule.name} keeps it with " + ", ".join(sorted(partners))
        if not kept:
            if node_rule is not None and prio:
                why += f" (the preferred nodes of {node_rule.name}: {', '.join(sorted(prio))})"
            return Placement((), rule, why)
        prio = kept
    return Placement(tuple(sorted(prio, key=lambda n: (-prio[n], n))))
