"""The QEMU guest agent through the PVE API: `POST .../agent/exec` starts a command
inside the VM and answers its pid; `GET .../agent/exec-status?pid=` says whether it
exited, with its output (all of it at the end, as qemu-ga gives it);
`POST .../agent/ping`. Errors as PVE words them: no agent configured, VM not
running, agent not answering."""

from __future__ import annotations

import asyncio
from typing import Any

from console.sim import guest_pkgs as GP
from console.sim.guest_shell import run_in_guest
from console.sim.pve_ops_guests import guest
from console.sim.pve_routes import NODE, VMID, P, PveError, Route
from console.sim.ssh_commands import Io

_NV = {"node": NODE, "vmid": VMID}
# PVE 8 (the sim's version) checks VM.Monitor for the agent; newer releases split it into VM.GuestAgent.*
_AGENT = ("/vms/{vmid}", "VM.Monitor")
_running: set[asyncio.Task] = set()


def _agent_guest(ctx, p) -> Any:
    g = guest(ctx, p["node"], p["vmid"], "qemu")
    world = ctx.world
    world.tick()
    if not GP.pkgs(world, g.vmid).agent:
        raise PveError(500, "No QEMU guest agent configured")
    if not world.guest_available(g):
        raise PveError(500, f"VM {g.vmid} is not running")
    return g


async def ping(ctx, p) -> dict:
    _agent_guest(ctx, p)
    return {"result": {}}


async def exec_start(ctx, p) -> dict:
    g = _agent_guest(ctx, p)
    world = ctx.world
    lab = GP.lab_of(world)
    lab.next_pid += 1
    pid = lab.next_pid
    status: dict[str, Any] = {"exited": 0}
    lab.agent_runs[(g.vmid, pid)] = status
    out: list[str] = []
    err: list[str] = []
    stdin = str(p.get("input-data") or "")

    async def run() -> None:
        code = await run_in_guest(world, g.vmid, list(p["command"]), Io(out.append, err.append, stdin))
        status.update({"exited": 1, "exitcode": code, "out-data": "".join(out), "err-data": "".join(err)})
        for key in ("out-data", "err-data"):
            if not status[key]:
                del status[key]

    task = asyncio.get_running_loop().create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return {"pid": pid}


async def exec_status(ctx, p) -> dict:
    g = _agent_guest(ctx, p)
    st = GP.lab_of(ctx.world).agent_runs.get((g.vmid, int(p["pid"])))
    if st is None:
        raise PveError(500, f"Agent error: Invalid parameter 'pid' (no such process {p['pid']})")
    return dict(st)


AGENT_ROUTES: list[Route] = [
    Route("POST", "/nodes/{node}/qemu/{vmid}/agent/exec", exec_start,
          _NV | {"command": P("array"), "input-data": P("string", optional=True)}, perm=_AGENT, write=True),
    Route("GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status", exec_status, _NV | {"pid": P("integer")},
          perm=_AGENT),
    Route("POST", "/nodes/{node}/qemu/{vmid}/agent/ping", ping, _NV, perm=_AGENT),
]
