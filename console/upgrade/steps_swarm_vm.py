"""A Swarm node VM in a guest upgrade: its Swarm node is drained before anything restarts
the VM (G3's reboot, G2's rollback to the snapshot) or its dockerd (G2, when docker-ce,
docker.io or containerd are among the pending packages: their postinst restarts
docker.service, which stops every container on the node) and made active again after.

No drain code of its own: node maintenance's D2 (drain, wait until the tasks run
elsewhere, refuse to call it drained when nothing can take them), its undo (R3:
active again, wait until every service has its replicas) and P6 (the managers keep
their majority) are called as they are, on a one-line maintenance plan for the
guest's label that names its Swarm node. The plan is made again from the guest's
facts before every call, so it holds after SIGKILL + resume (the facts are journaled).
"""

from __future__ import annotations

from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.planner import Plan, swarm_node_guest
from console.maintenance.steps_drain import D2SwarmDrain
from console.maintenance.steps_preflight import P6Swarm


async def swarm_nodes_in(svc: Any, vmid: int) -> list[Any]:
    """The Swarm nodes that run in guest `vmid` (the maintenance planner's mapping)."""
    if not svc.has("swarm"):
        return []
    try:
        swarm = await svc.swarm()
        pve = await svc.pve()
    except ConsoleError:
        return []
    return [n for n in swarm.nodes
            if (g := swarm_node_guest(n.hostname, svc.cluster, pve)) is not None and g.vmid == vmid]


async def note_swarm_node(ctx: StepContext, svc: Any, f: dict) -> str | None:
    """Preflight: record the guest's Swarm node in its facts and say how it is handled;
    the reason it must not be upgraded now (a manager whose peers would lose the majority)."""
    nodes = await swarm_nodes_in(svc, int(f["vmid"]))
    if not nodes:
        return None
    n = nodes[0]
    f["swarm_node"] = n.hostname
    f["swarm_manager"] = n.role == "manager"
    f["dockerd_restart"] = restarts_dockerd(list(f.get("pending") or ()))
    ctx.progress(f"Swarm {n.role} {n.hostname} runs in this guest: drained before "
                 + ("the upgrade (it restarts dockerd)" if f["dockerd_restart"] else "any restart")
                 + ", active again after verify")
    return await _majority(ctx, f)


async def _majority(ctx: StepContext, f: dict) -> str | None:
    _plan(ctx, f)
    reason = await P6Swarm().check(ctx)
    return f"Swarm: {reason} while {f['swarm_node']} restarts" if reason else None


DOCKER_PACKAGES = frozenset({"docker-ce", "docker-ce-cli", "docker.io", "docker-engine", "moby-engine",
                             "containerd", "containerd.io"})


def restarts_dockerd(package_names: list[str]) -> bool:
    """Whether upgrading these packages restarts dockerd (and so stops the node's containers)."""
    return bool(DOCKER_PACKAGES.intersection(package_names))


async def drain_before_upgrade(ctx: StepContext, f: dict) -> None:
    """G2: a Swarm node whose dockerd the upgrade restarts is drained first (once: G3 finds it drained)."""
    if not f.get("swarm_node") or not f.get("dockerd_restart") or f.get("swarm_drain_done"):
        return
    ctx.progress(f"the upgrade restarts dockerd ({', '.join(sorted(DOCKER_PACKAGES.intersection(f['pending'])))}):"
                 f" draining {f['swarm_node']} first")
    await drain(ctx, f)


def _plan(ctx: StepContext, f: dict) -> None:
    ctx.services.plans[ctx.node] = Plan(ctx.node, swarm_node=str(f["swarm_node"]), swarm_drain=True)


async def drain(ctx: StepContext, f: dict) -> None:
    """Before a restart: the managers keep their majority (checked again now), then D2."""
    if not f.get("swarm_node") or f.get("swarm_drain_done"):
        return
    reason = await _majority(ctx, f)
    if reason:
        raise StepFailed(ctx.step_id or "G3", reason, "it is rolled back to the snapshot; wait for the other "
                         "managers to be ready and run again")
    f["swarm_drained"] = True  # before D2: a half-done drain is undone too (G4, the rollback)
    await D2SwarmDrain().apply(ctx)
    f["swarm_drain_done"] = True


async def activate(ctx: StepContext, f: dict) -> None:
    """After verify or a rollback: R3 (active again, every service back to its replicas)."""
    if not f.get("swarm_node"):
        return
    _plan(ctx, f)
    await D2SwarmDrain().undo(ctx, {"swarm_node": f["swarm_node"]})
    f["swarm_drained"] = f["swarm_drain_done"] = False


async def drain_for_rollback(ctx: StepContext, f: dict) -> None:
    """Before a rollback to the snapshot (it stops the VM): not while it would cost the managers
    their majority (the rollback waits: run it again later); then drain if it can be done (a drain
    that cannot finish does not stop the rollback: the guest is broken either way)."""
    if not f.get("swarm_node"):
        return
    reason = await _majority(ctx, f)
    if reason:
        raise StepFailed(ctx.step_id or "G2", f"not rolled back now: {reason}",
                         "run `labconsole upgrade rollback` again once the other managers are ready")
    try:
        await D2SwarmDrain().apply(ctx)
    except StepFailed as exc:
        ctx.progress(f"could not drain {f['swarm_node']} ({exc.message}): rolling back anyway")
