"""Who may do what in the simulated PVE API: token privileges and `GET /access/permissions`.

The sim's main token stands for `root@pam!labconsole` without privilege
separation, so it holds every privilege on `/` (propagated), minus any the
sim was started without (`python -m console.sim --token-lacks Sys.Audit`):
then reads needing that privilege get 403 "Permission check failed (/,
Sys.Audit)" as pveproxy answers, and `/access/permissions` no longer lists it,
which is what `labconsole config check --live` reads.

Audit tokens hold the PVEAuditor role on `/`.
"""

from __future__ import annotations

from console.sim.pve_routes import P, PveError

# The privileges PVE 8 knows (PVE::AccessControl, `pveum role list`).
PVE_PRIVILEGES = frozenset({
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
    "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit",
    "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
    "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
    "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
    "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate",
    "VM.Monitor", "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
})
# PVEAuditor
AUDIT_PRIVILEGES = frozenset({"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit"})

PERMISSIONS_PARAMS = {"path": P("string", optional=True), "userid": P("string", optional=True)}


def unknown_privileges(names) -> list[str]:
    return sorted(set(names) - PVE_PRIVILEGES)


def full_privileges(lacking=()) -> frozenset[str]:
    return PVE_PRIVILEGES - frozenset(lacking)


def _tree(privileges: frozenset[str], path: str | None) -> dict[str, dict[str, int]]:
    # One ACL entry on "/" with propagate=1: every path has the same privileges.
    return {path or "/": {name: 1 for name in sorted(privileges)}}


def permissions(ctx, params: dict) -> dict[str, dict[str, int]]:
    """`GET /access/permissions` for the calling token (or `userid` with Sys.Audit on /access)."""
    own, tokens = ctx.token_id, ctx.tokens
    userid = params.get("userid") or own
    if userid != own:
        if "Sys.Audit" not in ctx.privileges:
            raise PveError(403, "Permission check failed (/access, Sys.Audit)")
        if userid not in tokens:
            raise PveError(500, f"no such user ('{userid}')")
        return _tree(tokens[userid], params.get("path"))
    return _tree(ctx.privileges, params.get("path"))
