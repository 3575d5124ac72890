"""Faults of the operations layer (issue 11), injected through World.inject/clear:

- backup-fail TARGET   a job id: that job runs now (as if its schedule fired) and
                       fails; a vmid: every backup of that guest fails
- local-resource VMID  the VM gets a PCI passthrough device: migration is refused
                       ("can't migrate VM which uses local devices")
- guest-lock VMID      the guest holds a lock (value ignored; "backup"): snapshots,
                       rollbacks, backups and migrations of it fail as in PVE
"""

from __future__ import annotations

from console.sim.ops_state import ops_of
from console.sim.sim_errors import SimError

OPS_FAULTS = ("backup-fail", "local-resource", "guest-lock", "enterprise-repo")  # h-operate2: enterprise-repo
PASSTHROUGH = "hostpci0"


def _vmid(world, kind: str, target) -> int:
    return world._t_vmid(kind, target)


def inject_ops(world, kind: str, target) -> None:
    lab = ops_of(world)
    if kind == "enterprise-repo":  # h-operate2
        from console.sim.pve_ops_node import inject

        inject(world, str(target))
        return
    if kind == "backup-fail":
        if target in lab.jobs:
            from console.sim.dynamics_ops import run_job

            lab.backup_fail.add(str(target))
            run_job(world, str(target))
            return
        lab.backup_fail.add(str(_vmid(world, kind, target)))
    elif kind == "local-resource":
        g = world.guests[_vmid(world, kind, target)]
        if g.type != "qemu":
            raise SimError(400, f"fault {kind}: {g.vmid} is a container; only VMs pass devices through")
        if PASSTHROUGH not in g.local_resources:
            g.local_resources.append(PASSTHROUGH)
            lab.injected_local.add(g.vmid)
    elif kind == "guest-lock":
        g = world.guests[_vmid(world, kind, target)]
        if g.lock is None:
            g.lock = "backup"
            lab.injected_locks.add(g.vmid)


def clear_ops(world, kind: str, target) -> None:
    lab = ops_of(world)
    if kind == "enterprise-repo":  # h-operate2
        from console.sim.pve_ops_node import clear

        clear(world, target)
        return
    if kind == "backup-fail":
        lab.backup_fail.discard(str(target)) if target else lab.backup_fail.clear()
    elif kind == "local-resource":
        for g in [world.guests[int(target)]] if target else world.guests.values():
            if g.vmid in lab.injected_local:
                g.local_resources.remove(PASSTHROUGH)
                lab.injected_local.discard(g.vmid)
    elif kind == "guest-lock":
        for g in [world.guests[int(target)]] if target else world.guests.values():
            if g.vmid in lab.injected_locks:
                g.lock = None if g.lock == "backup" else g.lock
                lab.injected_locks.discard(g.vmid)


def ops_faults_dict(world) -> dict:
    lab = ops_of(world)
    return {"backup_fail": sorted(lab.backup_fail), "local_resource": sorted(lab.injected_local),
            "guest_lock": sorted(lab.injected_locks),
            "enterprise_repo": sorted(getattr(world, "enterprise_repo_nodes", ()))}
