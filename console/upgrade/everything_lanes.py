"""Which items of an upgrade-everything run may start now: the run's two lanes.

The naive way upgrades one thing after another; most of that time is spent
waiting (migrations, apt, reboots) on different machines. So the run has:

  nodes     the firewall pair, then the nodes, one at a time (the rolling run:
            each node's guests parked on nodes already upgraded)
  guests    the CTs and VMs, up to MAX_GUESTS at once, alongside the node lane:
            a guest starts once it sits, running and unlocked, on a node that
            is upgraded (or has nothing to upgrade) and will not be drained
            again, and no node in maintenance will take it back at its rejoin
            (HA rules that prefer that node). So no guest is upgraded on an old
            node, migrated while it is upgraded, or moved after it. (Measured
            and dropped: upgrading VMs that live-migrate before their node's
            turn, even only the first node's VMs parked on the last node. It
            piles work on the run's start, where the firewall pair and the
            first node run, and made the run slower on this 2-core machine.)
  services  the Swarm images, one at a time, once every node and every Swarm
            VM is done (an image update moves tasks between Swarm nodes).

The firewall pair is the node lane's first item, and runs alongside the nodes
that hold no firewall VM (their maintenance neither moves a VIP nor checks the
peer firewall); a node that holds one waits for the pair, and the pair for it.
Never at once: two Swarm node VMs (each restart drains its Swarm node: the
manager majority and the replicas of a service stay up); a Swarm VM and a node
whose plan stops its Swarm node (P6's majority), nor a node that holds a Swarm
VM its drain would stop (a CT, HA, local resources) while a Swarm VM is upgraded. Items start
in the plan's order within a lane, Swarm VMs first among the guests that may
start (they go one at a time: the longest chain); a guest that never becomes
eligible (stopped, say) starts once the node lane is over, so its own
preflight says why.
No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from console.errors import ConsoleError
from console.upgrade.everything_plan import SERVICE_PREFIX
from console.upgrade.guest_access import vmid_of_label
from console.upgrade.runner import FIREWALLS

MAX_GUESTS = 2  # guest upgrades at once (apt inside two guests, the node lane's migrations besides)
NODES, GUESTS, SERVICES = "nodes", "guests", "services"
_GUEST = re.compile(r"^\d+/")


def lane_of(label: str) -> str:
    if label.startswith(SERVICE_PREFIX):
        return SERVICES
    return GUESTS if _GUEST.match(label) else NODES


def firewall_vmids(cluster: Any) -> set[int]:
    vrrp = getattr(cluster, "vrrp", None)
    return {f.vmid for f in (vrrp.firewalls if vrrp else ()) if f.vmid is not None}


def is_node(label: str) -> bool:
    return lane_of(label) == NODES and label != FIREWALLS


async def swarm_vmids(svc: Any) -> tuple[set[int], set[int]]:
    """The guests a Swarm node runs in (never two of them upgraded at once), and those of them a node's
    drain would stop rather than live-migrate (a CT, an HA guest its rules may keep, local resources):
    the node's plan then drains that Swarm node (the planner's swarm_drain)."""
    if not svc.has("swarm"):
        return set(), set()
    from console.maintenance.planner import swarm_node_guest

    try:
        swarm, pve = await svc.swarm(), await svc.pve()
    except ConsoleError:
        return set(), set()
    found = [g for n in swarm.nodes if (g := swarm_node_guest(n.hostname, svc.cluster, pve)) is not None]
    ha = {s.sid for s in (pve.ha.services if pve.ha else ())}
    pinned = {g.vmid for g in found if g.type != "qemu" or g.ha_state is not None or f"vm:{g.vmid}" in ha}
    for g in found:
        if g.vmid in pinned or g.status != "running":
            continue
        try:
            pre = await svc.migrate_preconditions(g.node, g.vmid)
        except ConsoleError:
            pinned.add(g.vmid)  # cannot tell: as if it stopped
            continue
        if not isinstance(pre, dict) or pre.get("local_resources"):
            pinned.add(g.vmid)
    return {g.vmid for g in found}, pinned


class Lanes:
    """The decision alone, from the run's state and one read of Proxmox: which items start now."""

    def __init__(self, order: list[str], done: Iterable[str], running: Iterable[str], swarm_vms: set[int],
                 plans: dict[str, Any], firewall_vms: set[int] | None = None, pinned: set[int] | None = None):
        self.order = order
        self.done = set(done)
        self.running = list(running)
        self.swarm_vms = swarm_vms
        self.plans = plans  # node -> its maintenance plan, once its P0 made it
        self.firewall_vms = firewall_vms or set()
        self.pinned = pinned or set()  # Swarm node guests a drain stops (swarm_vmids)

    def left(self, lane: str) -> list[str]:
        return [i for i in self.order if lane_of(i) == lane and i not in self.done]

    def busy(self, lane: str) -> list[str]:
        return [i for i in self.running if lane_of(i) == lane]

    def is_swarm_vm(self, label: str) -> bool:
        return lane_of(label) == GUESTS and vmid_of_label(label) in self.swarm_vms

    def nodes_busy(self) -> list[str]:
        return [i for i in self.busy(NODES) if i != FIREWALLS]

    def hosts(self, node: str, vmids: set[int], pve: Any) -> bool:
        return any(g.node == node and g.vmid in vmids for g in pve.guests)

    def next_node_items(self, pve: Any) -> list[str]:
        """The pair (first) and the next node; the node alongside the pair when it holds no firewall VM."""
        out: list[str] = []
        left = [i for i in self.left(NODES) if i not in self.running]
        pair_busy = FIREWALLS in self.running
        if FIREWALLS in left:
            if any(self.hosts(n, self.firewall_vms, pve) for n in self.nodes_busy()):
                return []
            out.append(FIREWALLS)
            pair_busy = True
        node = next((i for i in left if i != FIREWALLS), None)
        if node is None or self.nodes_busy():
            return out
        if self.busy(GUESTS):
            return out  # its P0 plans with the memory the nodes use: not while a guest reboots or restarts
        if pair_busy and self.hosts(node, self.firewall_vms, pve):
            return out  # it would move a VIP, or check the peer, while the pair is upgraded
        if any(self.is_swarm_vm(i) for i in self.running) and self.hosts(node, self.pinned, pve):
            return out  # its plan would stop that Swarm node while another restarts
        return [*out, node]

    def guest_may_start(self, label: str, pve: Any) -> bool:
        vmid = vmid_of_label(label)
        g = next((g for g in pve.guests if g.vmid == vmid), None)
        if g is None or g.status != "running" or g.lock:
            return False
        nodes_left = {i for i in self.left(NODES) if i != FIREWALLS}
        if g.node in nodes_left:
            return False  # on a node still to be drained (or being drained): it moves first
        if any(n not in self.plans for n in self.nodes_busy()):
            return False  # a node's P0 is planning from the memory in use: no guest restarts meanwhile
        for n in self.nodes_busy():
            plan = self.plans.get(n)
            if plan is None:
                if self.is_swarm_vm(label) and self.hosts(n, self.pinned, pve):
                    return False  # a node starting whose plan will stop its Swarm node
                continue
            if any(m.vmid == vmid and m.target and m.returns for m in plan.moves):
                return False  # HA brings it back to that node at its rejoin
        if self.is_swarm_vm(label):
            if any(self.is_swarm_vm(i) for i in self.running):
                return False
            sharing = any(o.node == g.node and o.vmid != vmid and o.vmid in self.swarm_vms for o in pve.guests)
            # one a drain is still moving there shares the node in a moment
            sharing = sharing or any(m.target == g.node and m.vmid != vmid and m.vmid in self.swarm_vms
                                     for n in self.nodes_busy() if n in self.plans for m in self.plans[n].moves)
            if sharing and (nodes_left or self.nodes_busy()):
                return False  # the run's last node spreads Swarm managers that share a node (its R2): it may move
            if any(self.plans[n].swarm_drain for n in self.nodes_busy() if n in self.plans):
                return False
        return True

    def startable(self, pve: Any) -> list[str]:
        """The items to start now, in the plan's order."""
        out = self.next_node_items(pve)
        self.running += out
        room = MAX_GUESTS - len(self.busy(GUESTS))
        waiting = [i for i in self.left(GUESTS) if i not in self.running]
        for label in sorted(waiting, key=lambda i: not self.is_swarm_vm(i)):  # stable: else the plan's order
            if room <= 0:
                break
            if self.guest_may_start(label, pve):
                out.append(label)
                self.running.append(label)  # the next guest is judged with this one running
                room -= 1
        nodes_over = not self.left(NODES)
        if nodes_over and not self.running:
            stuck = self.left(GUESTS)
            if stuck:  # never eligible (stopped, gone, locked): its own preflight says why
                out.append(stuck[0])
        swarm_left = any(self.is_swarm_vm(i) for i in self.left(GUESTS))
        if nodes_over and not swarm_left and not self.busy(SERVICES):
            svc = next((i for i in self.left(SERVICES) if i not in self.running), None)
            if svc is not None:
                out.append(svc)
        return out


def _may_overlap(where: str | None, node: str, order: list[str]) -> bool:
    """Whether a guest now on `where` may be upgraded while `node` is maintained: its own node's turn
    comes earlier or is this one (after the drain it sits on an upgraded node); the first node's guests
    wait on the last node (rolling parking); guests on a node not upgraded in this run, at any time."""
    if where not in order:
        return True
    if where == order[0] and len(order) > 1:
        return node == order[-1]
    return order.index(where) <= order.index(node)


async def plan_lanes(sources: Any, cluster: Any, pve: Any, items: list[Any]) -> None:
    """Each item's lane and the items it may run alongside (a forecast from where the guests are now;
    the run decides from where they are at each turn and journals what ran alongside what)."""
    todo = [i for i in items if i.action == "upgrade"]
    for i in items:
        i.lane = lane_of(i.label)
    swarm: set[int] = set()
    src = sources.get("swarm")
    if src is not None and any(i.lane == GUESTS for i in todo):
        from console.maintenance.planner import swarm_node_guest

        try:
            state = await src.fetch()
            swarm = {g.vmid for n in state.nodes if (g := swarm_node_guest(n.hostname, cluster, pve)) is not None}
        except ConsoleError:
            swarm = set()
    nodes = [i.label for i in todo if is_node(i.label)]
    guests = [i for i in todo if i.lane == GUESTS]
    fws = firewall_vmids(cluster)
    with_pair: list[str] = []  # the nodes from the start that hold no firewall VM
    for n in nodes:
        if any(g.node == n and g.vmid in fws for g in pve.guests):
            break
        with_pair.append(n)
    pair = [FIREWALLS] if any(i.label == FIREWALLS for i in todo) else []
    for i in todo:
        if i.lane == GUESTS:
            mine = vmid_of_label(i.label) in swarm
            i.alongside = (pair if i.where not in nodes else []) + [n for n in nodes if _may_overlap(i.where, n, nodes)]
            i.alongside += [o.label for o in guests if o is not i and not (mine and vmid_of_label(o.label) in swarm)]
            i.alongside += [s.label for s in todo if s.lane == SERVICES and not mine]
        elif i.lane == SERVICES:
            i.alongside = [o.label for o in guests if vmid_of_label(o.label) not in swarm]
        elif i.label == FIREWALLS:
            i.alongside = with_pair + [o.label for o in guests if o.where not in nodes]
        else:
            i.alongside = (pair if i.label in with_pair else []) + [o.label for o in guests
                                                                     if _may_overlap(o.where, i.label, nodes)]


def lane_lines(todo: list[Any]) -> list[str]:
    def names(lane: str) -> str:
        return ", ".join(i.label for i in todo if i.lane == lane) or "-"

    return ["Lanes (items of different lanes run at the same time; the run still stops at the first failure):",
            f"  nodes:    {names(NODES)} (one node at a time, in this order; the firewall pair alongside the "
            "nodes that hold no firewall VM)",
            f"  guests:   {names(GUESTS)} (at most {MAX_GUESTS} at once, each once its node is upgraded and it "
            "stays there; never two Swarm VMs at once)",
            f"  services: {names(SERVICES)} (one at a time, once the nodes and the Swarm VMs are done)"]
