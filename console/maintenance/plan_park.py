"""Where a rolling upgrade parks each node's guests: on nodes upgraded already, left there.

A guest that leaves a node for its upgrade goes, where it fits and its HA rules
allow, to a node that is done (or has nothing to upgrade), and stays there for
the rest of the run: a container restart-migrates once, not away and back for
every node. Only the first node's guests find no upgraded node; they go to the
node maintained last (its turn comes when every other node can take them), so
they move twice. The run's order therefore starts with the node that has the
fewest containers to restart (rolling_order). HA guests whose node-affinity
rule prefers their own node come back to it when it rejoins (the CRM's failback
would take them there anyway), so the plan says they return.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.ha_rules import placement, sid_of
from console.model import Guest, ProxmoxState


@dataclass(frozen=True)
class Rolling:
    """This node's place in a rolling run: the nodes done (or with nothing to upgrade) and those
    still to come, in the run's order."""

    upgraded: frozenset[str]
    later: tuple[str, ...]

    def rank(self, node: str) -> int:
        """Lower is better: an upgraded node (0), else the later the node's turn, the better."""
        if node in self.later:
            return 1 + len(self.later) - 1 - self.later.index(node)
        return 0


def rolling_spot(order: list[str], done: list[str], node: str, all_nodes: list[str]) -> Rolling:
    later = tuple(n for n in order if n not in done and n != node)
    return Rolling(frozenset(n for n in all_nodes if n != node and n not in later), later)


def returns_home(g: Guest, target: str | None, pve: ProxmoxState) -> bool:
    """An HA guest whose rules, with every node back, keep it off `target` and prefer its own node:
    the CRM brings it back (failback), so the plan counts on it returning."""
    if target is None or not g.ha_failback:
        return False  # failback off (PVE 9): the CRM leaves it where it went
    sid = sid_of(g)
    online = [n.name for n in pve.nodes if n.status == "online"]
    ha_sids = {s.sid for s in (pve.ha.services if pve.ha else ())}
    where = {sid_of(h): h.node for h in pve.guests if h is not g and (sid_of(h) in ha_sids or h.ha_state)}
    p = placement(sid, pve.ha_rules, online, where)
    return g.node in p.nodes and target not in p.nodes


def parked_lines(moves: list, rolling: Rolling | None) -> list[str]:
    """What the plan says about where guests stay, in a rolling run."""
    if rolling is None:
        return []
    back = [m for m in moves if m.target and m.returns]
    lines = ["Rolling run: guests stay where they go (each container restarts at most once in the run)"
             + (f"; nodes still to come: {', '.join(rolling.later)}" if rolling.later else "")]
    if back:
        lines.append("  back to this node when it rejoins (their HA rules prefer it and failback is on; "
                     "`failback 0` on an HA resource leaves it where it went, one restart-migration less): "
                     + ", ".join(f"{m.kind_word} {m.vmid} {m.name}" for m in back))
    again = [m for m in moves if m.target in rolling.later and not m.returns]
    if again:  # no upgraded node could take them (none yet, no room, or their HA rules)
        lines.append("  on a node still to be upgraded, so they move again at its turn: "
                     + ", ".join(f"{m.kind_word} {m.vmid} {m.name} ({m.target})" for m in again))
    return lines
