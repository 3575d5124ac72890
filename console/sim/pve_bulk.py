"""HA manager status/migrate and the node-wide bulk actions (migrateall, startall, stopall).

The bulk actions are one PVE task ('migrateall', 'startall', 'stopall') that
starts a child task per guest and ends when the last child has ended; the
sim builds them from World.migrate/guest_power and World's task records.
"""

from __future__ import annotations

import re
from typing import Any

from console.sim import pve_render as R
from console.sim.pve_routes import PveError, param_error
from console.sim.sim_errors import SimError

WATCH_INTERVAL = 0.5  # lab seconds between two looks at a bulk task's children


def _vms_filter(p: dict) -> set[int] | None:
    if "vms" not in p:
        return None
    return {int(v) for v in re.split(r"[,;\s]+", p["vms"]) if v}


def _guests_on(world, node: str, p: dict) -> list:
    wanted = _vms_filter(p)
    gs = [g for g in world.guests.values() if g.node == node and (wanted is None or g.vmid in wanted)]
    return sorted(gs, key=lambda g: g.vmid)


def _bulk_task(ctx, node: str, kind: str, jobs: list[tuple[Any, Any]]) -> str:
    """Start one child per (guest, start_fn) and a parent task that waits for all of them."""
    world = ctx.world
    parent = world.new_task(node, kind, "")
    children: list[tuple[Any, str]] = []
    failed = 0
    for g, start in jobs:
        what = "VM" if g.type == "qemu" else "CT"
        try:
            upid = start(g)
        except SimError as exc:
            failed += 1
            parent.log.append(f"{what} {g.vmid}: {exc.message}")
            continue
        parent.log.append(f"Starting {kind.removesuffix('all')} of {what} {g.vmid} ({upid})")
        children.append((g, upid))

    def watch() -> None:
        running = [u for _, u in children if world.pve_tasks[u].endtime is None]
        if running:
            world.schedule(WATCH_INTERVAL, watch)
            return
        bad = failed + sum(1 for _, u in children if world.pve_tasks[u].exitstatus != "OK")
        for g, u in children:
            if world.pve_tasks[u].exitstatus != "OK":
                parent.log.append(f"{'VM' if g.type == 'qemu' else 'CT'} {g.vmid}: {world.pve_tasks[u].exitstatus}")
        total = failed + len(children)
        world.finish_task(parent, "OK" if bad == 0 else f"{bad} of {total} guests failed")

    watch()
    return parent.upid


async def migrateall(ctx, p):
    node, target = p["node"], p["target"]
    if target == node:
        raise param_error({"target": "target is local node."})
    if target not in ctx.world.nodes:
        raise PveError(500, f"no such cluster node '{target}'")
    world = ctx.world

    def start(g):
        running = g.status == "running"
        return world.migrate(node, g.vmid, target, online=running and g.type == "qemu",
                             restart=running and g.type == "lxc")

    return _bulk_task(ctx, node, "migrateall", [(g, start) for g in _guests_on(world, node, p)])


async def startall(ctx, p):
    world, node = ctx.world, p["node"]
    # "onboot" guests by default; the sim's equivalent is the set of guests meant to run.
    gs = [g for g in _guests_on(world, node, p)
          if g.status != "running" and (p.get("force") or "vms" in p or g.vmid in world.desired_running)]
    return _bulk_task(ctx, node, "startall", [(g, lambda g: world.guest_power(node, g.vmid, "start")) for g in gs])


async def stopall(ctx, p):
    world, node = ctx.world, p["node"]
    gs = [g for g in _guests_on(world, node, p) if g.status == "running"]
    return _bulk_task(ctx, node, "stopall", [(g, lambda g: world.guest_power(node, g.vmid, "shutdown")) for g in gs])


# -- HA ---------------------------------------------------------------------


def _ha_guest(world, sid: str):
    m = re.match(r"^(?:(vm|ct):)?(\d+)$", sid)
    if not m:
        raise param_error({"sid": f"unable to parse service id '{sid}'"})
    g = world.guests.get(int(m.group(2)))
    kind = m.group(1)
    if g is None or not g.ha or (kind and kind != ("vm" if g.type == "qemu" else "ct")):
        raise PveError(500, f"service '{sid}' not defined")
    return g


async def ha_resource_migrate(ctx, p):
    """POST /cluster/ha/resources/{sid}/migrate: ask the HA manager to move a resource."""
    world, target = ctx.world, p["node"]
    g = _ha_guest(world, p["sid"])
    if target not in world.nodes:
        raise PveError(500, f"no such cluster node '{target}'")
    if g.node != target:
        running = g.status == "running"
        world.migrate(g.node, g.vmid, target, online=running and g.type == "qemu",
                      restart=running and g.type == "lxc")
    return {"sid": R.ha_sid(g), "requested-node": target}


async def ha_resource_update(ctx, p):
    """PUT /cluster/ha/resources/{sid}: the resource's options (here `failback`; `ha-manager set`)."""
    g = _ha_guest(ctx.world, p["sid"])
    if "failback" in p:
        g.ha_failback = bool(p["failback"])
        ctx.world.ha_rules_changed()  # failback back on: the CRM moves it to its preferred node now
    return None


async def ha_status_index(ctx, p):
    return [{"name": "current"}, {"name": "manager_status"}]


def _node_status_word(world, n) -> str:
    if not world.node_online(n.name):
        return "unknown"
    return "maintenance" if n.ha_maintenance else "online"


async def ha_manager_status(ctx, p):
    world = ctx.world
    now = int(world.now())
    master = R.ha_master(world)
    services = {}
    for g in sorted((g for g in world.guests.values() if g.ha), key=lambda g: g.vmid):
        entry: dict[str, Any] = {"node": g.node, "state": R.ha_state(g), "uid": f"{g.vmid:x}{g.vmid * 7919:x}"[:22]}
        if g.migrating_to:
            entry["target"] = g.migrating_to
        if R.guest_running(world, g):
            entry["running"] = 1
        services[R.ha_sid(g)] = entry
    lrm = {}
    for n in world.nodes.values():
        if not world.node_online(n.name):
            continue
        state = world.ha_lrm_state(n.name)
        lrm[n.name] = {"mode": "maintenance" if n.ha_maintenance else "active",
                       "state": "maintenance" if state == "maintenance mode" else state.split()[0],
                       "timestamp": now, "results": {}}
    return {
        "manager_status": {
            "master_node": master,
            "node_status": {n.name: _node_status_word(world, n) for n in world.nodes.values()},
            "service_status": services,
            "timestamp": now,
        },
        "lrm_status": lrm,
        "quorum": {"node": ctx.local, "quorate": "1" if R.quorate(world) else "0"},
    }
