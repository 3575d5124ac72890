"""The routes of the operations endpoints (snapshots, reboot, config, backups,
cluster tasks and log, replication); pve_handlers appends them to ROUTES.
Parameter sets are PVE's (tests/sim/test_pve_conformance.py checks them)."""

from __future__ import annotations

from console.sim import pve_ops_backup as B
from console.sim import pve_ops_guests as G
from console.sim import pve_ops_node as ND  # h-operate2: subscription, apt repositories
from console.sim import pve_ops_tasks as T
from console.sim.pve_ops_agent import AGENT_ROUTES
from console.sim.pve_routes import NODE, OPT_BOOL, VMID, P, Route

_N = {"node": NODE}
_NV = {"node": NODE, "vmid": VMID}
_STR = P("string", optional=True)
_AUDIT_VM = ("/vms/{vmid}", "VM.Audit")
_SNAP = ("/vms/{vmid}", "VM.Snapshot")
_ROLLBACK = ("/vms/{vmid}", "VM.Snapshot.Rollback")
_AUDIT_ROOT = ("/", "Sys.Audit")
_SNAPNAME = {"snapname": P("string")}


def _guest_routes(kind: str) -> list[Route]:
    base = f"/nodes/{{node}}/{kind}/{{vmid}}"
    create = _NV | _SNAPNAME | {"description": _STR} | ({"vmstate": OPT_BOOL} if kind == "qemu" else {})
    return [
        Route("GET", f"{base}/snapshot", G.snapshot_list(kind), _NV, perm=_AUDIT_VM),
        Route("POST", f"{base}/snapshot", G.snapshot_create(kind), create, perm=_SNAP, write=True),
        Route("DELETE", f"{base}/snapshot/{{snapname}}", G.snapshot_delete(kind), _NV | _SNAPNAME | {"force": OPT_BOOL},
              perm=_SNAP, write=True),
        Route("POST", f"{base}/snapshot/{{snapname}}/rollback", G.snapshot_rollback(kind),
              _NV | _SNAPNAME | {"start": OPT_BOOL}, perm=_ROLLBACK, write=True),
        Route("POST", f"{base}/status/reboot", G.reboot(kind),
              _NV | {"timeout": P("integer", optional=True, minimum=0)},
              perm=("/vms/{vmid}", "VM.PowerMgmt"), write=True),
        Route("GET", f"{base}/config", G.config(kind), _NV | {"current": OPT_BOOL, "snapshot": _STR}, perm=_AUDIT_VM),
    ]


OPS_ROUTES: list[Route] = [
    *_guest_routes("qemu"),
    *_guest_routes("lxc"),
    # h-guestui: addresses for the guest detail pane (PVE 8 asks VM.Monitor for agent commands)
    Route("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", G.agent_interfaces, _NV,
          perm=("/vms/{vmid}", "VM.Monitor")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/interfaces", G.lxc_interfaces, _NV, perm=_AUDIT_VM),
    Route("GET", "/nodes/{node}/lxc/{vmid}/migrate", G.lxc_migrate_precondition,
          _NV | {"target": P("string", optional=True, format="pve-node")}, perm=("/vms/{vmid}", "VM.Migrate")),
    Route("GET", "/nodes/{node}/storage", B.node_storage, _N | {
        "content": _STR, "enabled": OPT_BOOL, "format": OPT_BOOL, "storage": _STR, "target": _STR}),
    Route("GET", "/nodes/{node}/storage/{storage}/content", B.storage_content, _N | {
        "storage": P("string"), "content": _STR, "vmid": P("integer", optional=True, minimum=100, maximum=999999999)},
          perm=("/storage/{storage}", "Datastore.Audit")),
    Route("GET", "/cluster/backup", B.cluster_backup, perm=_AUDIT_ROOT),
    Route("GET", "/cluster/backup-info/not-backed-up", B.not_backed_up, perm=_AUDIT_ROOT),
    Route("POST", "/nodes/{node}/vzdump", B.vzdump, {
        "node": P("string", optional=True, format="pve-node"), "vmid": _STR, "all": OPT_BOOL, "storage": _STR,
        "mode": P("string", optional=True, enum=("snapshot", "suspend", "stop")),
        "compress": P("string", optional=True, enum=("0", "1", "gzip", "lzo", "zstd")),
        "remove": OPT_BOOL, "notes-template": _STR, "quiet": OPT_BOOL, "stdexcludes": OPT_BOOL,
        "protected": OPT_BOOL}, perm=("/", "VM.Backup"), write=True),
    Route("GET", "/cluster/tasks", T.cluster_tasks),
    Route("GET", "/cluster/log", T.cluster_log, {"max": P("integer", optional=True, minimum=1)}),
    Route("GET", "/cluster/replication", T.cluster_replication),
    # h-operate2: node software (versions are in pve_handlers)
    Route("GET", "/nodes/{node}/subscription", ND.subscription, _N, perm=("/nodes/{node}", "Sys.Audit")),
    Route("GET", "/nodes/{node}/apt/repositories", ND.apt_repositories, _N, perm=("/nodes/{node}", "Sys.Audit")),
    *AGENT_ROUTES,  # h-upgguest: the QEMU guest agent (console/sim/pve_ops_agent.py)
]
