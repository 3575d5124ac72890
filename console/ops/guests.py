"""Guests: the inventory, lifecycle (start, shutdown, reboot, stop), migrate
to a chosen node with PVE's preconditions, HA migrate (evacuating a node and
batches are in console/ops/guest_batch.py).

Every check that can be made before a write is made before it (unknown or
offline target, local resources, a guest that is not there): nothing is sent
that PVE would refuse half-way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import DEFAULT_TIMEOUT, ActionResult, Progress, failed, follow, guard, pve

POWER_ACTIONS = ("start", "shutdown", "reboot", "stop")
LXC_RESTART_DOWNTIME_S = 15  # as the maintenance planner assumes: shutdown + move + start of a small CT


@dataclass(frozen=True)
class GuestRef:
    vmid: int
    name: str
    type: str  # qemu | lxc
    node: str
    status: str
    maxmem: int = 0
    mem: int = 0
    cpu: float = 0.0
    maxcpu: int = 0
    uptime: int = 0
    lock: str | None = None
    ha: bool = False
    ha_state: str | None = None
    template: bool = False
    tags: tuple[str, ...] = ()

    @property
    def word(self) -> str:
        return "VM" if self.type == "qemu" else "CT"

    @property
    def sid(self) -> str:
        return f"{'vm' if self.type == 'qemu' else 'ct'}:{self.vmid}"

    @property
    def label(self) -> str:
        return f"{self.word} {self.vmid} ({self.name})"


@dataclass(frozen=True)
class NodeRef:
    name: str
    online: bool
    maxmem: int = 0
    mem: int = 0

    @property
    def free_mem(self) -> int:
        return max(0, self.maxmem - self.mem) if self.online else 0


def _int(v: Any, default: int = 0) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def guest_from(row: dict, ha_sids: set[str]) -> GuestRef:
    kind = inert(row.get("type", "qemu"))
    vmid = _int(row.get("vmid"))
    sid = f"{'vm' if kind == 'qemu' else 'ct'}:{vmid}"
    tags = tuple(t for t in inert(row.get("tags", "")).replace(",", ";").split(";") if t)
    return GuestRef(vmid=vmid, name=inert(row.get("name", "")), type=kind, node=inert(row.get("node", "")),
                    status=inert(row.get("status", "unknown")), maxmem=_int(row.get("maxmem")),
                    mem=_int(row.get("mem")), cpu=float(row.get("cpu") or 0), maxcpu=_int(row.get("maxcpu")),
                    uptime=_int(row.get("uptime")), lock=inert(row["lock"]) if row.get("lock") else None,
                    ha=sid in ha_sids or bool(row.get("hastate")),
                    ha_state=inert(row["hastate"]) if row.get("hastate") else None,
                    template=bool(_int(row.get("template"))), tags=tags)


async def list_guests(sources: Any) -> list[GuestRef]:
    ops = pve(sources)
    rows = await ops.resources("vm")
    try:
        ha = {inert(r.get("sid", "")) for r in await ops.ha_resources()}
    except ConsoleError:
        ha = set()
    return sorted((guest_from(r, ha) for r in rows if r.get("type") in ("qemu", "lxc")), key=lambda g: g.vmid)


async def list_nodes(sources: Any) -> list[NodeRef]:
    rows = await pve(sources).nodes()
    return sorted((NodeRef(inert(r.get("node", "")), r.get("status") == "online", _int(r.get("maxmem")),
                           _int(r.get("mem"))) for r in rows if r.get("node")), key=lambda n: n.name)


async def find_guest(sources: Any, vmid: int) -> GuestRef:
    """One guest, fresh from the cluster; only its own row is parsed (a large cluster has thousands)."""
    ops = pve(sources)
    row = next((r for r in await ops.resources("vm")
                if r.get("type") in ("qemu", "lxc") and _int(r.get("vmid"), -1) == vmid), None)
    if row is None:
        raise ConsoleError("guest", f"no guest {vmid} in the cluster", "labconsole guests lists them")
    try:
        ha = {inert(r.get("sid", "")) for r in await ops.ha_resources()}
    except ConsoleError:
        ha = set()
    return guest_from(row, ha)


# ---------------------------------------------------------------- lifecycle


def power_sentence(g: GuestRef, action: str, timeout: int | None = None) -> str:
    if action == "start":
        return f"Start {g.label} on {g.node}."
    if action == "shutdown":
        wait = f"within {timeout} s" if timeout else "within PVE's default timeout"
        return f"Shut down {g.label} on {g.node} cleanly (ACPI / init), {wait}; it stays off."
    if action == "reboot":
        return f"Reboot {g.label} on {g.node}: a clean shutdown, then a start."
    if action == "stop":
        return f"STOP {g.label} on {g.node} at once, like pulling the power: unsaved data in it is lost."
    raise ConsoleError("guest", f"unknown action {action!r}", f"one of {', '.join(POWER_ACTIONS)}")


async def power(sources: Any, vmid: int, action: str, timeout: int | None = None, progress: Progress | None = None,
                follow_timeout: float = DEFAULT_TIMEOUT, guest: GuestRef | None = None) -> ActionResult:
    t0 = time.monotonic()
    g = guest or await find_guest(sources, vmid)
    res = ActionResult(action, str(vmid), power_sentence(g, action, timeout))
    guard(sources, f"{action} {g.label}")
    if action == "start" and g.status == "running":
        res.ok, res.message = True, f"{g.label} is already running"
        return res
    if action in ("shutdown", "reboot", "stop") and g.status == "stopped":
        if action != "reboot":
            res.ok, res.message = True, f"{g.label} is already stopped"
            return res
        return failed(res, ConsoleError("guest", f"{g.label} is not running: nothing to reboot", "start it"), t0)
    ops = pve(sources)
    try:
        upid = await ops.power(g.node, g.type, vmid, action, timeout=timeout)
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)


# ---------------------------------------------------------------- migrate


@dataclass
class TargetNode:
    name: str
    online: bool
    free_mem: int
    allowed: bool
    reason: str = ""  # why not


@dataclass
class MigrateOptions:
    guest: GuestRef
    targets: list[TargetNode]
    running: bool
    mode: str  # "ha" | "online" (live) | "restart" (CT: stop, move, start) | "offline"
    downtime_s: int
    local_resources: list[str] = field(default_factory=list)
    local_disks: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> str | None:
        if self.local_resources and self.running and self.mode != "ha":
            return f"uses local resources ({', '.join(self.local_resources)}): it cannot move while running"
        return None


async def migrate_options(sources: Any, vmid: int, guest: GuestRef | None = None) -> MigrateOptions:
    """The target list with free memory and PVE's preconditions (GET .../migrate)."""
    g = guest or await find_guest(sources, vmid)
    ops = pve(sources)
    pre = await ops.migrate_preconditions(g.node, g.type, vmid)
    allowed = set(map(inert, pre.get("allowed_nodes") or pre.get("allowed-nodes") or []))
    refused = pre.get("not_allowed_nodes") or pre.get("not-allowed-nodes") or {}
    local = [inert(x) for x in pre.get("local_resources") or []]
    disks = [inert(d.get("volid", "")) for d in pre.get("local_disks") or [] if isinstance(d, dict)]
    running = bool(_int(pre.get("running"), int(g.status == "running")))
    targets = []
    for n in await list_nodes(sources):
        if n.name == g.node:
            continue
        why = ""
        if not n.online:
            why = "offline"
        elif allowed and n.name not in allowed:
            info = refused.get(n.name) if isinstance(refused, dict) else None
            why = inert(f"not allowed by PVE: {info}") if info else "not allowed by PVE"
        targets.append(TargetNode(n.name, n.online, n.free_mem, not why, why))
    if g.ha:
        mode, downtime = "ha", (0 if g.type == "qemu" else LXC_RESTART_DOWNTIME_S)
    elif g.type == "qemu":
        mode, downtime = ("online" if running else "offline"), 0
    else:
        mode, downtime = ("restart" if running else "offline"), (LXC_RESTART_DOWNTIME_S if running else 0)
    return MigrateOptions(g, targets, running, mode, downtime, local, disks)


def migrate_sentence(opt: MigrateOptions, target: str) -> str:
    g = opt.guest
    how = {"ha": "through the HA manager" + (" (live)" if g.type == "qemu" else
                                             f" (restart, about {opt.downtime_s} s down)"),
           "online": "live, without downtime",
           "restart": f"by restart: it stops, moves and starts again (about {opt.downtime_s} s down)",
           "offline": "while it is stopped"}[opt.mode]
    return f"Migrate {g.label} from {g.node} to {target}, {how}."


def check_target(opt: MigrateOptions, target: str) -> None:
    g = opt.guest
    if target == g.node:
        raise ConsoleError("migrate", f"{g.label} is already on {target}")
    t = next((t for t in opt.targets if t.name == target), None)
    if t is None:
        known = ", ".join(t.name for t in opt.targets) or "none"
        raise ConsoleError("migrate", f"no node named {target!r} in the cluster (other nodes: {known})")
    if not t.allowed:
        raise ConsoleError("migrate", f"{target} cannot take {g.label}: {t.reason}")
    if opt.blocked:
        raise ConsoleError("migrate", f"{g.label} {opt.blocked}", "shut it down first, or remove the device")
    if opt.running and g.maxmem and t.free_mem and g.maxmem > t.free_mem:
        raise ConsoleError("migrate", f"{target} has {t.free_mem / 1024**3:.1f} GiB free, {g.label} needs "
                           f"{g.maxmem / 1024**3:.1f} GiB")


async def migrate(sources: Any, vmid: int, target: str, progress: Progress | None = None,
                  follow_timeout: float = DEFAULT_TIMEOUT, options: MigrateOptions | None = None) -> ActionResult:
    t0 = time.monotonic()
    opt = options or await migrate_options(sources, vmid)
    g = opt.guest
    res = ActionResult("migrate", str(vmid), migrate_sentence(opt, target))
    guard(sources, f"migrate {g.label} to {target}")
    try:
        check_target(opt, target)
        ops = pve(sources)
        if opt.mode == "ha":
            await ops.ha_migrate(g.sid, target)
            return await _follow_placement(sources, res, g, target, progress, follow_timeout, t0)
        upid = await ops.migrate(g.node, g.type, vmid, target, online=opt.mode == "online",
                                 restart=opt.mode == "restart")
        return await follow(ops, res, g.node, upid, progress, follow_timeout, t0=t0)
    except ConsoleError as exc:
        return failed(res, exc, t0)


async def _follow_placement(sources: Any, res: ActionResult, g: GuestRef, target: str, progress: Progress | None,
                            timeout: float, t0: float) -> ActionResult:
    """An HA migration has no UPID for us: follow the guest until it runs on the target (or HA gives up)."""
    import asyncio

    say = progress or (lambda _s: None)
    say(f"HA manager asked to move {g.sid} to {target}")
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = await find_guest(sources, g.vmid)
        if res.visible_after is None and (now.lock == "migrate" or now.node == target):
            res.visible_after = time.monotonic() - t0
        state = f"on {now.node}, {now.status}" + (f", HA {now.ha_state}" if now.ha_state else "") + \
                (f", locked ({now.lock})" if now.lock else "")
        if state != last:
            say(state)
            last = state
        if now.ha_state == "error":
            res.message = f"HA put {g.sid} into the error state"
            break
        if now.node == target and not now.lock and now.status == g.status:
            res.ok, res.message = True, "done"
            break
        await asyncio.sleep(0.25)
    else:
        res.message = f"{g.sid} not on {target} after {timeout:g} s; the HA manager may still move it"
    res.duration = time.monotonic() - t0
    return res
