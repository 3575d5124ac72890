"""The endpoints of the simulated PVE API: one async function per route, and ROUTES.

A handler gets (ctx, params): ctx.world, ctx.local (the node this endpoint
is), params already checked against the route's declaration. The parameter
sets are those of PVE's API schema (tests/sim/test_pve_conformance.py checks
them against apidata.json). Checks every /nodes/{node}/... route shares
(unknown node, offline node -> 595) are done by the dispatcher in pve_api.
"""

from __future__ import annotations

from typing import Any

from console.sim import pve_access as A
from console.sim import pve_bulk as B
from console.sim import pve_ceph as C
from console.sim import pve_ha_rules as H
from console.sim import pve_render as R
from console.sim import pve_render_ops as O
from console.sim.pve_routes import NODE, OPT_BOOL, OPT_UINT, VMID, P, PveError, Result, Route, param_error, parse_upid
from console.sim.pve_rrd import RRD_ROUTES  # h-events: rrddata (history sparklines)

CEPH_FLAG_ENUM = tuple(R.CEPH_FLAGS)


def _guest(ctx, node: str, vmid: int, kind: str):
    g = ctx.world.guests.get(vmid)
    if g is None or g.node != node or g.type != kind:
        conf = "qemu-server" if kind == "qemu" else "lxc"
        raise PveError(500, f"Configuration file 'nodes/{node}/{conf}/{vmid}.conf' does not exist")
    return g


def _ceph_available(ctx) -> None:
    """Ceph calls need a mon quorum; without one PVE's rados call times out."""
    if not ctx.world.mon_quorum():
        raise PveError(500, "got timeout")


def _task(ctx, node: str, upid: str):
    fields = parse_upid(upid)
    if fields is None:
        raise param_error({"upid": f"unable to parse worker upid '{upid}'"})
    t = ctx.world.pve_tasks.get(upid)
    if t is None or t.node != node:
        subdir = f"{fields['starttime']:08X}"[-1]
        raise PveError(500, f"unable to open file '/var/log/pve/tasks/{subdir}/{upid}' - No such file or directory")
    return t


# -- cluster ----------------------------------------------------------------


async def root_index(ctx, p):
    return [{"subdir": s} for s in ("version", "cluster", "nodes", "storage", "access", "pools")]


async def access_permissions(ctx, p):
    return A.permissions(ctx, p)


async def version(ctx, p):
    v = ctx.world.nodes[ctx.local].pve_version
    return {"version": v, "release": R.release(v), "repoid": R.repoid(v), "console": "xtermjs"}


async def cluster_status(ctx, p):
    return R.cluster_status(ctx.world, ctx.local)


async def cluster_resources(ctx, p):
    return R.cluster_resources(ctx.world, p.get("type"))


async def ha_status_current(ctx, p):
    return R.ha_status_current(ctx.world, ctx.local)


async def ha_resources(ctx, p):
    return R.ha_resources(ctx.world, p.get("type"))


async def ceph_status(ctx, p):
    _ceph_available(ctx)
    from console.sim import ceph_json

    return ceph_json.status(ctx.world)


async def ceph_flags(ctx, p):
    _ceph_available(ctx)
    return O.ceph_flag_list(ctx.world)


async def ceph_set_flags(ctx, p):
    """PUT /cluster/ceph/flags: several flags at once, done in a 'cephsetflags' task."""
    _ceph_available(ctx)
    world = ctx.world
    task = world.new_task(ctx.local, "cephsetflags", "")
    for flag, on in p.items():
        world.set_ceph_flag(flag, bool(on))
        task.log.append(f"{'set' if on else 'unset'} {flag}")
    world.finish_task(task)
    return task.upid


async def ceph_set_flag(ctx, p):
    _ceph_available(ctx)
    ctx.world.set_ceph_flag(p["flag"], bool(p["value"]))
    return None


# -- nodes ------------------------------------------------------------------


async def nodes(ctx, p):
    return [R.nodes_entry(ctx.world, n) for n in ctx.world.nodes.values()]


async def node_status(ctx, p):
    return R.node_status(ctx.world, ctx.world.nodes[p["node"]])


async def node_command(ctx, p):
    node = p["node"]
    if p["command"] == "reboot":
        ctx.world.reboot_node(node)
    else:  # a node that was shut down stays down until someone powers it on (fault node-up)
        ctx.world.shutdown_node(node)
    return None


async def node_version(ctx, p):
    v = ctx.world.nodes[p["node"]].pve_version
    return {"version": v, "release": R.release(v), "repoid": R.repoid(v)}


def _guest_list(ctx, node: str, kind: str) -> list[dict[str, Any]]:
    gs = sorted((g for g in ctx.world.guests.values() if g.node == node and g.type == kind), key=lambda g: g.vmid)
    return [R.guest_list_entry(ctx.world, g) for g in gs]


async def qemu_list(ctx, p):
    return _guest_list(ctx, p["node"], "qemu")


async def lxc_list(ctx, p):
    return _guest_list(ctx, p["node"], "lxc")


def _current(kind):
    async def handler(ctx, p):
        return R.guest_current(ctx.world, _guest(ctx, p["node"], p["vmid"], kind))

    return handler


async def qemu_migrate_precondition(ctx, p):
    world, node = ctx.world, p["node"]
    g = _guest(ctx, node, p["vmid"], "qemu")
    if "target" in p and p["target"] not in world.nodes:
        raise PveError(500, f"no such cluster node '{p['target']}'")
    return {
        "running": int(R.guest_running(world, g)),
        # PVE lists every other cluster member here (it checks storages, not liveness)
        "allowed_nodes": [n for n in world.nodes if n != node],
        "not_allowed_nodes": {},
        "local_disks": [],
        "local_resources": list(g.local_resources),
        "mapped-resources": [],
        "mapped-resource-info": {},
        "has-dbus-vmstate": 0,
    }


def _migrate(kind):
    async def handler(ctx, p):
        node, target = p["node"], p["target"]
        _guest(ctx, node, p["vmid"], kind)
        if target == node:
            raise param_error({"target": "target is local node."})
        if target not in ctx.world.nodes:
            raise PveError(500, f"no such cluster node '{target}'")
        return ctx.world.migrate(node, p["vmid"], target, online=bool(p.get("online")), restart=bool(p.get("restart")))

    return handler


def _power(kind, action):
    async def handler(ctx, p):
        _guest(ctx, p["node"], p["vmid"], kind)
        return ctx.world.guest_power(p["node"], p["vmid"], action)

    return handler


async def tasks(ctx, p):
    node = p["node"]
    source = p.get("source", "archive")
    wanted = None
    if "statusfilter" in p:
        wanted = {s for s in p["statusfilter"].replace(";", ",").split(",") if s}
    rows = []
    for t in sorted(ctx.world.pve_tasks.values(), key=lambda t: (t.starttime, t.pid), reverse=True):
        if t.node != node:
            continue
        if (source == "archive" and t.running) or (source == "active" and not t.running):
            continue
        kind = O.task_status_type(t)
        if p.get("errors") and kind != "error":
            continue
        if wanted is not None and kind != "running" and kind not in wanted:
            continue
        if "typefilter" in p and t.type != p["typefilter"]:
            continue
        if "userfilter" in p and p["userfilter"].lower() not in t.user.lower():
            continue
        if "vmid" in p and t.id != str(p["vmid"]):
            continue
        if "since" in p and t.starttime < p["since"]:
            continue
        if "until" in p and t.starttime > p["until"]:
            continue
        rows.append(O.task_list_entry(t))
    start, limit = p.get("start", 0), p.get("limit", 50)
    return Result(rows[start:start + limit], total=len(rows))


async def task_status(ctx, p):
    return O.task_status(_task(ctx, p["node"], p["upid"]))


async def task_log(ctx, p):
    lines = O.task_log_lines(_task(ctx, p["node"], p["upid"]))
    start, limit = p.get("start", 0), p.get("limit", 50)
    page = [{"n": start + i + 1, "t": line} for i, line in enumerate(lines[start:start + limit])]
    if not page:
        page = [{"n": 1, "t": "no content"}]
    return Result(page, total=len(lines))


async def apt_list(ctx, p):
    return O.apt_update_list(ctx.world.nodes[p["node"]])


async def apt_update(ctx, p):
    return ctx.world.apt_update(p["node"])


async def apt_versions(ctx, p):
    return O.apt_versions(ctx.world.nodes[p["node"]])


def _ceph_list(render):
    async def handler(ctx, p):
        _ceph_available(ctx)
        return render(ctx.world)
    return handler


async def ceph_osd(ctx, p):
    _ceph_available(ctx)
    return O.ceph_osd_tree(ctx.world)


# -- the table --------------------------------------------------------------

_N = {"node": NODE}
_NV = {"node": NODE, "vmid": VMID}
_AUDIT_NODE = ("/nodes/{node}", "Sys.Audit")
_AUDIT_ROOT = ("/", "Sys.Audit")
_MIGRATE = ("/vms/{vmid}", "VM.Migrate")
_POWER = ("/vms/{vmid}", "VM.PowerMgmt")
_POWER_ALL = ("/", "VM.PowerMgmt")
_STR = P("string", optional=True)
_VMS = P("string", optional=True, format="pve-vmid-list")
_WORKERS = P("integer", optional=True, minimum=1, maximum=64)
_MIGRATION_TYPE = P("string", optional=True, enum=("secure", "insecure"))

_POWER_PARAMS = {
    ("qemu", "start"): {"skiplock": OPT_BOOL, "timeout": OPT_UINT, "machine": _STR, "force-cpu": _STR,
                        "migratedfrom": P("string", optional=True, format="pve-node"), "migration_network": _STR,
                        "migration_type": _MIGRATION_TYPE, "nets-host-mtu": _STR, "stateuri": _STR,
                        "targetstorage": _STR, "with-conntrack-state": OPT_BOOL},
    ("qemu", "shutdown"): {"forceStop": OPT_BOOL, "keepActive": OPT_BOOL, "skiplock": OPT_BOOL, "timeout": OPT_UINT},
    ("qemu", "stop"): {"keepActive": OPT_BOOL, "migratedfrom": P("string", optional=True, format="pve-node"),
                       "overrule-shutdown": OPT_BOOL, "skiplock": OPT_BOOL, "timeout": OPT_UINT},
    ("lxc", "start"): {"debug": OPT_BOOL, "skiplock": OPT_BOOL},
    ("lxc", "shutdown"): {"forceStop": OPT_BOOL, "timeout": OPT_UINT},
    ("lxc", "stop"): {"overrule-shutdown": OPT_BOOL, "skiplock": OPT_BOOL},
}

ROUTES: list[Route] = [
    Route("GET", "/", root_index),
    Route("GET", "/version", version),
    Route("GET", "/access/permissions", access_permissions, A.PERMISSIONS_PARAMS),
    Route("GET", "/cluster/status", cluster_status, perm=_AUDIT_ROOT),
    Route("GET", "/cluster/resources", cluster_resources,
          {"type": P("string", optional=True, enum=("vm", "storage", "node", "sdn"))}),
    Route("GET", "/cluster/ha/status/current", ha_status_current, perm=_AUDIT_ROOT),
    Route("GET", "/cluster/ha/resources", ha_resources, {"type": P("string", optional=True, enum=("ct", "vm"))},
          perm=_AUDIT_ROOT),
    Route("GET", "/cluster/ha/status", B.ha_status_index),
    Route("GET", "/cluster/ha/status/manager_status", B.ha_manager_status, perm=_AUDIT_ROOT),
    Route("POST", "/cluster/ha/resources/{sid}/migrate", B.ha_resource_migrate,
          {"sid": P("string"), "node": NODE}, perm=("/", "Sys.Console"), write=True),
    Route("PUT", "/cluster/ha/resources/{sid}", B.ha_resource_update,
          {"sid": P("string"), "failback": P("boolean", optional=True), "comment": P("string", optional=True),
           "digest": P("string", optional=True)}, perm=("/", "Sys.Console"), write=True),
    Route("GET", "/cluster/ha/groups", H.groups_index, perm=_AUDIT_ROOT),
    Route("GET", "/cluster/ha/rules", H.rules_index, H.INDEX_PARAMS, perm=_AUDIT_ROOT),
    Route("POST", "/cluster/ha/rules", H.rule_create, H.CREATE_PARAMS, perm=("/", "Sys.Console"), write=True),
    Route("GET", "/cluster/ha/rules/{rule}", H.rule_read, H.READ_PARAMS, perm=_AUDIT_ROOT),
    Route("PUT", "/cluster/ha/rules/{rule}", H.rule_update, H.UPDATE_PARAMS, perm=("/", "Sys.Console"), write=True),
    Route("DELETE", "/cluster/ha/rules/{rule}", H.rule_delete, H.READ_PARAMS, perm=("/", "Sys.Console"), write=True),
    Route("GET", "/cluster/ceph/status", ceph_status, perm=_AUDIT_ROOT, family="ceph"),
    Route("GET", "/cluster/ceph/flags", ceph_flags, perm=_AUDIT_ROOT, family="ceph"),
    Route("PUT", "/cluster/ceph/flags", ceph_set_flags, {f: OPT_BOOL for f in CEPH_FLAG_ENUM},
          perm=("/", "Sys.Modify"), family="ceph", write=True),
    Route("PUT", "/cluster/ceph/flags/{flag}", ceph_set_flag,
          {"flag": P("string", enum=CEPH_FLAG_ENUM), "value": P("boolean")},
          perm=("/", "Sys.Modify"), family="ceph", write=True),
    Route("GET", "/nodes", nodes),
    Route("GET", "/nodes/{node}/status", node_status, _N, perm=_AUDIT_NODE),
    Route("POST", "/nodes/{node}/status", node_command,
          _N | {"command": P("string", enum=("reboot", "shutdown"))}, perm=("/nodes/{node}", "Sys.PowerMgmt"),
          write=True),
    Route("GET", "/nodes/{node}/version", node_version, _N),
    Route("GET", "/nodes/{node}/qemu", qemu_list, _N | {"full": OPT_BOOL}),
    Route("GET", "/nodes/{node}/lxc", lxc_list, _N),
    Route("GET", "/nodes/{node}/qemu/{vmid}/status/current", _current("qemu"), _NV, perm=("/vms/{vmid}", "VM.Audit")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/status/current", _current("lxc"), _NV, perm=("/vms/{vmid}", "VM.Audit")),
    Route("GET", "/nodes/{node}/qemu/{vmid}/migrate", qemu_migrate_precondition,
          _NV | {"target": P("string", optional=True, format="pve-node")}, perm=_MIGRATE),
    Route("POST", "/nodes/{node}/qemu/{vmid}/migrate", _migrate("qemu"), _NV | {
        "target": NODE, "online": OPT_BOOL, "force": OPT_BOOL, "with-local-disks": OPT_BOOL,
        "with-conntrack-state": OPT_BOOL, "bwlimit": OPT_UINT, "migration_network": _STR,
        "migration_type": _MIGRATION_TYPE, "targetstorage": _STR}, perm=_MIGRATE, write=True),
    Route("POST", "/nodes/{node}/lxc/{vmid}/migrate", _migrate("lxc"), _NV | {
        "target": NODE, "online": OPT_BOOL, "restart": OPT_BOOL, "timeout": P("integer", optional=True),
        "bwlimit": P("number", optional=True, minimum=0), "target-storage": _STR}, perm=_MIGRATE, write=True),
    *[
        Route("POST", f"/nodes/{{node}}/{kind}/{{vmid}}/status/{action}", _power(kind, action), _NV | extra,
              perm=_POWER, write=True)
        for (kind, action), extra in _POWER_PARAMS.items()
    ],
    Route("POST", "/nodes/{node}/migrateall", B.migrateall, _N | {
        "target": NODE, "vms": _VMS, "max-workers": _WORKERS, "maxworkers": _WORKERS, "with-local-disks": OPT_BOOL},
          perm=("/", "VM.Migrate"), write=True),
    Route("POST", "/nodes/{node}/startall", B.startall,
          _N | {"vms": _VMS, "max-workers": _WORKERS, "force": OPT_BOOL}, perm=_POWER_ALL, write=True),
    Route("POST", "/nodes/{node}/stopall", B.stopall, _N | {
        "vms": _VMS, "max-workers": _WORKERS, "force-stop": OPT_BOOL,
        "timeout": P("integer", optional=True, minimum=0, maximum=7200)}, perm=_POWER_ALL, write=True),
    Route("GET", "/nodes/{node}/tasks", tasks, _N | {
        "start": OPT_UINT, "limit": OPT_UINT, "vmid": P("integer", optional=True, minimum=100, maximum=999999999),
        "typefilter": _STR, "userfilter": _STR, "errors": OPT_BOOL, "since": P("integer", optional=True),
        "until": P("integer", optional=True), "source": P("string", optional=True, enum=("archive", "active", "all")),
        "statusfilter": P("string", optional=True, format="pve-task-status-type-list")}),
    Route("GET", "/nodes/{node}/tasks/{upid}/status", task_status, _N | {"upid": P("string")}),
    Route("GET", "/nodes/{node}/tasks/{upid}/log", task_log,
          _N | {"upid": P("string"), "start": OPT_UINT, "limit": OPT_UINT, "download": OPT_BOOL}),
    Route("GET", "/nodes/{node}/apt/update", apt_list, _N, perm=("/nodes/{node}", "Sys.Modify")),
    Route("POST", "/nodes/{node}/apt/update", apt_update, _N | {"notify": OPT_BOOL, "quiet": OPT_BOOL},
          perm=("/nodes/{node}", "Sys.Modify")),
    Route("GET", "/nodes/{node}/apt/versions", apt_versions, _N, perm=_AUDIT_NODE),
    Route("GET", "/nodes/{node}/ceph/osd", ceph_osd, _N, perm=_AUDIT_ROOT, family="ceph"),
    Route("GET", "/nodes/{node}/ceph/status", ceph_status, _N, perm=_AUDIT_ROOT, family="ceph"),
    *[Route("GET", f"/nodes/{{node}}/ceph/{name}", _ceph_list(render), _N, perm=_AUDIT_ROOT, family="ceph")
      for name, render in (("pool", C.pools), ("mgr", C.mgrs), ("mds", C.mds), ("mon", C.mons))],
    *RRD_ROUTES,  # h-events
]

# -- issue 11 (h-operate): snapshots, reboot, config, backups, cluster tasks/log ----
from console.sim.pve_ops_routes import OPS_ROUTES  # noqa: E402

ROUTES += OPS_ROUTES
