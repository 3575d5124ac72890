"""The plan for one node, from the current snapshots: what moves where, what
stops, what Ceph loses, readable as text before anything runs. Pure: the
async facts (migrate preconditions, ok-to-stop answers) come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from console.config_model import ClusterConfig
from console.maintenance.plan_ha import ha_placements, stuck_lines, stuck_note
from console.maintenance.plan_park import Rolling, parked_lines, returns_home
from console.model import CephState, Guest, ProxmoxState, SwarmState, VrrpState

LXC_RESTART_DOWNTIME_S = 15  # shutdown + move + start of a small container


@dataclass(frozen=True)
class GuestMove:
    vmid: int
    name: str
    type: str  # qemu | lxc
    source: str
    target: str | None  # None: it stays
    method: str  # "ha" (HA maintenance moves it) | "live" | "restart" | "stays"
    maxmem: int
    downtime_s: int = 0
    note: str = ""
    returns: bool = True  # comes back to this node at rejoin (a rolling run parks guests: plan_park.py)

    @property
    def kind_word(self) -> str:
        return "VM" if self.type == "qemu" else "CT"


@dataclass
class Plan:
    node: str
    moves: list[GuestMove] = field(default_factory=list)
    swarm_node: str | None = None  # swarm node hostname running on this node
    swarm_drain: bool = False
    firewall: str | None = None  # firewall VM on this node
    vip_move: bool = False  # it is the MASTER: move the VIP first
    peer_firewall: str | None = None
    osds: list[int] = field(default_factory=list)
    mons: list[str] = field(default_factory=list)
    mds: list[str] = field(default_factory=list)
    mgrs: list[str] = field(default_factory=list)
    ceph_can_spare: bool | None = None  # None: not asked yet
    ceph_reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # things that block the plan
    pending_updates: int | None = None
    packages: list[list[str]] = field(default_factory=list)  # [name, installed, new] to be upgraded
    noout: str = "group"  # "group": ceph osd set-group noout HOST over SSH; "global": cluster-wide via the API
    force_reboot: bool = False  # nothing pending, drained for a reboot anyway (--force)
    ha_stuck: list[dict] = field(default_factory=list)  # HA guests the rules leave no node (plan_ha)
    drain_only: bool = False  # hardware work: drain, wait for the operator, rejoin (no upgrade, no reboot)
    park: bool = False  # a rolling run: guests stay where they go, HA guests moved there by request
    later: list[str] = field(default_factory=list)  # nodes of the rolling run still to come

    @property
    def ok(self) -> bool:
        return not self.problems

    def acting_steps(self) -> list[str]:
        """What will change, in order (steps with nothing to do here are left out)."""
        return _acting_steps(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in d.items() if k != "moves" and k in known}
        return cls(moves=[GuestMove(**m) for m in d.get("moves", [])], **fields)

    def text(self) -> str:
        gib = 1024**3
        if self.drain_only:
            lines = [f"Drain-only maintenance plan for {self.node}: no upgrade, no reboot; the run waits for you "
                     "between drain and rejoin (guests that stay stop if you power the node off)"]
        else:
            lines = [f"Maintenance plan for {self.node}"
                     + (f" ({self.pending_updates} pending updates)" if self.pending_updates is not None else "")]
        lines.append("Guests:")
        if not self.moves:
            lines.append("  none running on this node")
        for m in self.moves:
            what = f"  {m.kind_word} {m.vmid} {m.name} ({m.maxmem / gib:.1f} GiB)"
            if m.method == "ha":
                how = (f"HA-migrate to {m.target}" + (", stays there" if m.target not in self.later else "")
                       if self.park and not m.returns
                       else f"HA maintenance moves it to {m.target}") + (
                    f" (restart, ~{int(m.downtime_s)} s down)" if m.type == "lxc" else " (live)")
            elif m.method == "live":
                how = f"live-migrate to {m.target} (no downtime)"
            elif m.method == "restart":
                how = f"restart-migrate to {m.target} (~{m.downtime_s} s down)"
            else:
                how = f"stays: {m.note}"
            lines.append(f"{what}: {how}")
        lines.extend(stuck_lines(self.ha_stuck, self.node))
        lines.extend(parked_lines(self.moves, Rolling(frozenset(), tuple(self.later))) if self.park else [])
        if self.firewall:
            lines.append(f"Firewall: {self.firewall} runs here"
                         + (f"; it is MASTER: the VIP moves to {self.peer_firewall} first" if self.vip_move
                            else " (BACKUP)"))
        if self.swarm_node:
            lines.append(f"Swarm: {self.swarm_node} runs here; "
                         + ("it will stop: drain it first" if self.swarm_drain
                            else "it live-migrates, no drain needed"))
        daemons = [f"osd.{i}" for i in self.osds] + [f"mon.{m}" for m in self.mons] + \
                  [f"mds.{m}" for m in self.mds] + [f"mgr.{m}" for m in self.mgrs]
        if daemons:
            spare = {None: "checked by preflight", True: "Ceph can spare them", False: "Ceph can NOT spare them"}
            lines.append(f"Ceph daemons stopping: {', '.join(daemons)} — {spare[self.ceph_can_spare]}")
            lines.extend(f"  - {r}" for r in self.ceph_reasons)
        if self.drain_only:
            pass
        elif self.packages:
            lines.append(f"Packages to upgrade ({len(self.packages)}):")
            lines.extend(f"  {name} {old or '(new)'} -> {new}" for name, old, new in self.packages)
        elif self.pending_updates == 0:
            lines.append("Packages: nothing pending" + (" (drained for a reboot only: --force)" if self.force_reboot
                                                        else ""))
        lines.append("Steps that will act:")
        lines.extend(f"  {i}. {s}" for i, s in enumerate(self.acting_steps(), 1))
        if self.problems:
            lines.append("BLOCKED:")
            lines.extend(f"  ✖ {p}" for p in self.problems)
        return "\n".join(lines)


def _acting_steps(plan: Plan) -> list[str]:
    steps = []
    if plan.vip_move:
        steps.append(f"move the VIP from {plan.firewall} to {plan.peer_firewall}")
    if plan.swarm_drain and plan.swarm_node:
        steps.append(f"drain Swarm node {plan.swarm_node}")
    ha = [m for m in plan.moves if m.method == "ha"]
    staying = [m for m in ha if not m.returns]
    if plan.park and staying:
        steps.append(f"HA-migrate {len(staying)} HA guests to the nodes named above (they do not come back)")
    steps.append(f"HA node maintenance on {plan.node}" + (f" ({len(ha)} HA guests leave)" if ha and not plan.park
                                                          else ""))
    other = [m for m in plan.moves if m.method in ("live", "restart")]
    if other:
        steps.append(f"migrate {len(other)} other guests")
    if plan.osds:
        steps.append(f"ceph osd set-group noout {plan.node}" if plan.noout == "group"
                     else "ceph osd set noout (cluster-wide: `ceph` over SSH is not available)")
    if plan.drain_only:
        steps.append(f"wait for you: do the hardware work, then rejoin {plan.node}")
        steps.append("verify: node, HA, Ceph, Traefik")
        steps.append("bring everything back in reverse order")
        return steps
    if plan.pending_updates != 0:
        steps.append("apt-get dist-upgrade (a ZFS root is snapshotted first)")
        steps.append("reboot if the kernel changed or needrestart asks for it")
    elif plan.force_reboot:
        steps.append("reboot")
    steps.append("verify: node, versions, HA, Ceph, Traefik")
    steps.append("bring everything back in reverse order" if not plan.park
                 else "rejoin in reverse order (guests stay where they went, but those that return)")
    return steps


def _version_key(v: str | None) -> tuple:
    parts = []
    for p in (v or "0").replace("-", ".").split("."):
        parts.append(int(p) if p.isdigit() else 0)
    return tuple(parts)


def place_guests(guests: list[Guest], targets: dict[str, int],
                 allowed: dict[int, tuple[str, ...]] | None = None,
                 rank: Callable[[str], int] | None = None) -> dict[int, str | None]:
    """Biggest guest first onto the target with the most free memory (P3: nothing
    in Proxmox checks this for us), among the nodes its HA rules allow where they
    name some (`allowed`); with `rank`, the best-ranked node it fits on first (a rolling
    run: upgraded nodes). Returns vmid -> target (None: does not fit)."""
    free = dict(targets)
    placed: dict[int, str | None] = {}
    for g in sorted(guests, key=lambda g: -g.maxmem):
        fits = [n for n in (allowed or {}).get(g.vmid, ()) if n in free] or list(free)
        fits = [n for n in fits if free[n] >= g.maxmem]
        best = min(fits, key=lambda n: (rank(n) if rank else 0, -free[n]), default=None)
        if best is None:
            placed[g.vmid] = None
            continue
        free[best] -= g.maxmem
        placed[g.vmid] = best
    return placed


def make_plan(node: str, pve: ProxmoxState, cluster: ClusterConfig, ceph: CephState | None = None,
              swarm: SwarmState | None = None, vrrp: VrrpState | None = None,
              local_resources: dict[int, list[str]] | None = None,
              ceph_ok_to_stop: tuple[bool, list[str]] | None = None,
              accept_downtime: set[int] | frozenset[int] = frozenset(), rolling: Rolling | None = None) -> Plan:
    """rolling: this node's place in a rolling run: guests are parked on upgraded nodes (plan_park.py)."""
    plan = Plan(node, park=rolling is not None, later=list(rolling.later) if rolling else [])
    me = next((n for n in pve.nodes if n.name == node), None)
    if me is None:
        plan.problems.append(f"no node named {node} (known: {', '.join(n.name for n in pve.nodes)})")
        return plan
    plan.pending_updates = me.pending_updates
    local_resources = local_resources or {}
    others = [n for n in pve.nodes if n.name != node and n.status == "online"
              and _version_key(n.pve_version) >= _version_key(me.pve_version)]
    if not others:
        plan.problems.append("no other online node with the same or a newer PVE version to take the guests")
    unknown = [n.name for n in pve.nodes if n.name != node and n.status == "online" and not n.pve_version]
    not_targets = f" ({', '.join(unknown)}: PVE version not read yet, so not a target)" if unknown else ""
    ha_sids = {s.sid for s in (pve.ha.services if pve.ha else ())}
    running = [g for g in pve.guests if g.node == node and g.status == "running" and not g.template]

    def is_ha(g: Guest) -> bool:
        return f"{'ct' if g.type == 'lxc' else 'vm'}:{g.vmid}" in ha_sids or g.ha_state is not None

    rank = rolling.rank if rolling else None
    allowed, plan.ha_stuck = ha_placements(node, pve, [g for g in running if is_ha(g)], accept_downtime, rank)
    stuck = {e["vmid"]: e for e in plan.ha_stuck}
    movable = [g for g in running if not local_resources.get(g.vmid) and g.vmid not in stuck]
    # memory the guests use now on each target, plus what we put there
    targets = {n.name: max(0, n.maxmem - n.mem) for n in others}
    placed = place_guests(movable, targets, allowed, rank)
    for g in running:
        if g.vmid in stuck:
            plan.moves.append(GuestMove(g.vmid, g.name, g.type, node, None, "stays", g.maxmem,
                                        note=stuck_note(stuck[g.vmid], node)))
            continue
        lr = local_resources.get(g.vmid)
        if lr:
            plan.moves.append(GuestMove(g.vmid, g.name, g.type, node, None, "stays", g.maxmem,
                                        note=f"local resources ({', '.join(lr)}): it will be shut down for the "
                                             "reboot and started again after"))
            continue
        target = placed.get(g.vmid)
        if target is None:
            plan.problems.append(f"{g.name} ({g.vmid}, {g.maxmem / 1024**3:.1f} GiB) does not fit in the free memory "
                                 f"of the other nodes{not_targets}")
            continue
        if g.lock:
            plan.problems.append(f"{g.name} ({g.vmid}) is locked ({g.lock})")
        method = "ha" if is_ha(g) else ("live" if g.type == "qemu" else "restart")
        downtime = LXC_RESTART_DOWNTIME_S if g.type == "lxc" else 0
        returns = rolling is None or (method == "ha" and returns_home(g, target, pve))
        plan.moves.append(GuestMove(g.vmid, g.name, g.type, node, target, method, g.maxmem, downtime,
                                    returns=returns))
    _plan_firewall(plan, cluster, pve, vrrp)
    _plan_swarm(plan, cluster, pve, swarm)
    _plan_ceph(plan, ceph, ceph_ok_to_stop)
    return plan


def _plan_firewall(plan: Plan, cluster: ClusterConfig, pve: ProxmoxState, vrrp: VrrpState | None) -> None:
    if cluster.vrrp is None:
        return
    by_vmid = {g.vmid: g for g in pve.guests}
    for fw in cluster.vrrp.firewalls:
        g = by_vmid.get(fw.vmid) if fw.vmid is not None else None
        if g is None or g.node != plan.node:
            continue
        plan.firewall = fw.name
        peers = [f.name for f in cluster.vrrp.firewalls if f.name != fw.name]
        plan.peer_firewall = peers[0] if peers else None
        if vrrp is not None:
            states = {f.name: [i.state for i in f.instances] for f in vrrp.firewalls if f.answering}
            plan.vip_move = "MASTER" in states.get(fw.name, [])
            if plan.vip_move and not any("BACKUP" in states.get(p, []) for p in peers):
                plan.problems.append(f"{fw.name} holds the VIP but no peer firewall is a healthy BACKUP")


def swarm_node_guest(hostname: str, cluster: ClusterConfig, pve: ProxmoxState) -> Guest | None:
    """The guest a Swarm node runs in: the [swarm] node_vms mapping, else the guest of that name."""
    vm_of = dict(cluster.swarm.node_vms) if cluster.swarm else {}
    if hostname in vm_of:
        return next((g for g in pve.guests if g.vmid == vm_of[hostname]), None)
    return next((g for g in pve.guests if g.name == hostname), None)


def _plan_swarm(plan: Plan, cluster: ClusterConfig, pve: ProxmoxState, swarm: SwarmState | None) -> None:
    if swarm is None:
        return
    for sn in swarm.nodes:
        g = swarm_node_guest(sn.hostname, cluster, pve)
        if g is None or g.node != plan.node:
            continue
        plan.swarm_node = sn.hostname
        move = next((m for m in plan.moves if m.vmid == g.vmid), None)
        plan.swarm_drain = move is None or move.method in ("stays", "restart")
        managers = [n for n in swarm.nodes if n.role == "manager"]
        if plan.swarm_drain and sn.role == "manager":
            left = sum(1 for n in managers if n.hostname != sn.hostname and n.state == "ready")
            if left <= len(managers) // 2:
                plan.problems.append(f"stopping {sn.hostname} would leave {left}/{len(managers)} managers: "
                                     "the swarm would lose its majority")


def _plan_ceph(plan: Plan, ceph: CephState | None, ok_to_stop: tuple[bool, list[str]] | None) -> None:
    if ceph is None:
        return
    plan.osds = sorted(o.id for o in ceph.osds if o.host == plan.node)
    plan.mons = [m for m in ceph.mons if m == plan.node]
    plan.mds = [m.name for m in ceph.mds if m.name == plan.node]
    plan.mgrs = [m for m in ((ceph.mgr_active,) if ceph.mgr_active else ()) + ceph.mgr_standbys if m == plan.node]
    reasons = []
    if ceph.health != "HEALTH_OK":
        reasons.append(f"Ceph is {ceph.health}: " + ", ".join(c.code for c in ceph.checks))
    if ceph.num_pgs and ceph.clean_pgs != ceph.num_pgs:
        reasons.append(f"{ceph.num_pgs - ceph.clean_pgs} PGs are not active+clean")
    if plan.mgrs and not [m for m in ((ceph.mgr_active,) + ceph.mgr_standbys) if m and m != plan.node]:
        reasons.append("no other mgr would be left")
    # stopping a standby MDS is fine; stopping the active one needs a standby elsewhere to take over
    active_here = [m for m in ceph.mds if m.name == plan.node and "active" in m.state]
    if active_here and not [m for m in ceph.mds if m.name != plan.node and "standby" in m.state]:
        reasons.append("the active MDS runs here and no standby MDS on another node can take over")
    if ok_to_stop is not None:
        ok, why = ok_to_stop
        reasons.extend(why)
        plan.ceph_can_spare = ok and not reasons
    elif reasons:
        plan.ceph_can_spare = False
    plan.ceph_reasons = reasons
