"""The HA rules in a node's plan: which HA guests the rules let HA maintenance move,
to which nodes, and which it cannot move at all.

A guest whose strict node-affinity rule allows no other online node, or whose
negative resource affinity leaves it no node, is not moved by Proxmox's CRM: it
stays on the node and stops with it at the reboot. The plan names it with the
rule; preflight refuses it unless its downtime was accepted (`--accept-downtime
VMID`, or the wizard's key).
"""

from __future__ import annotations

from collections.abc import Callable

from console.ha_rules import placement, sid_of
from console.model import Guest, ProxmoxState


def ha_placements(node: str, pve: ProxmoxState, guests: list[Guest],
                  accepted: set[int] | frozenset[int], rank: Callable[[str], int] | None = None
                  ) -> tuple[dict[int, tuple[str, ...]], list[dict]]:
    """(vmid -> nodes the rules allow, preferred first; the stuck guests as plan entries).

    guests: the node's running HA guests. The CRM places them in VMID order, each
    next to (or apart from) where the ones before it went. rank (a rolling run): among the
    nodes the rules allow alike, the better-ranked first (plan_park.py)."""
    candidates = [n.name for n in pve.nodes if n.name != node and n.status == "online" and n.ha_lrm != "maintenance"]
    ha_sids = {s.sid for s in (pve.ha.services if pve.ha else ())}
    where = {sid_of(g): g.node for g in pve.guests if sid_of(g) in ha_sids or g.ha_state is not None}
    allowed: dict[int, tuple[str, ...]] = {}
    stuck: list[dict] = []
    for g in sorted(guests, key=lambda g: g.vmid):
        sid = sid_of(g)
        others = {s: n for s, n in where.items() if s != sid}
        p = placement(sid, pve.ha_rules, candidates, others)
        if p.nodes:
            nodes = tuple(sorted(p.nodes, key=rank)) if rank else p.nodes  # stable: the rule's order within a rank
            allowed[g.vmid] = nodes
            where[sid] = nodes[0]
        elif p.narrowed_by is not None:
            stuck.append({"vmid": g.vmid, "name": g.name, "sid": sid, "rule": p.narrowed_by.name, "why": p.why,
                          "accepted": g.vmid in accepted})
    return allowed, stuck


def stuck_note(entry: dict, node: str) -> str:
    """What PVE then does with a guest its rules leave nowhere to go."""
    return (f"HA rule {entry['rule']}: {entry['why']}; PVE cannot move it: it stays on {node} and stops with "
            f"{node}'s reboot (down until {node} is back)")


def stuck_lines(stuck: list[dict], node: str) -> list[str]:
    if not stuck:
        return []
    lines = ["HA rules leave no node for:"]
    for e in stuck:
        verdict = ("downtime accepted" if e["accepted"] else
                   f"preflight refuses this unless its downtime is accepted: --accept-downtime {e['vmid']}")
        lines.append(f"  {e['sid']} {e['name']}: {stuck_note(e, node)} — {verdict}")
    return lines


def not_accepted(stuck: list[dict]) -> list[dict]:
    return [e for e in stuck if not e["accepted"]]
