"""What every operation shares: the guard, the PVE client, following a task to its end, the result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from console.errors import ConsoleError, ReadOnlyError
from console.inert import inert

Progress = Callable[[str], None]
DEFAULT_TIMEOUT = 600.0  # seconds a task may run before we stop following it (it continues on the node)


def _quiet(_: str) -> None:
    pass


def pve(sources: Any):
    """The operations client of the cluster's Proxmox source."""
    from console.sources.proxmox_ops import ProxmoxOps

    src = sources.get("proxmox")
    if src is None:
        raise ConsoleError("proxmox", "not configured for this cluster", "add a [clusters.NAME.proxmox] table")
    return ProxmoxOps(src)


def guard(sources: Any, action: str) -> None:
    """Refuse a mutating action in read-only mode, below any UI."""
    if sources.read_only:
        raise ReadOnlyError(action, sources.cluster.name)


@dataclass
class ActionResult:
    action: str  # "start", "migrate", "snapshot", ...
    target: str  # "112" / "vm:112" / node
    sentence: str  # what was to happen, in words
    ok: bool = False
    upid: str | None = None
    node: str | None = None
    exitstatus: str | None = None
    message: str = ""  # what happened, one line
    started: float = field(default_factory=time.time)
    duration: float = 0.0
    visible_after: float | None = None  # seconds from the call to its task being readable on the cluster
    log: list[str] = field(default_factory=list)  # the task's log lines as followed

    def to_dict(self) -> dict:
        return asdict(self)


async def follow(ops: Any, res: ActionResult, node: str, upid: str, progress: Progress | None,
                 timeout: float = DEFAULT_TIMEOUT, poll: float = 0.25, t0: float | None = None) -> ActionResult:
    """Follow a PVE task to its end: its log lines go to `progress` (inert), its exit status into `res`."""
    progress = progress or _quiet
    res.upid, res.node = upid, node
    t0 = time.monotonic() if t0 is None else t0
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        st = await ops.task_status(node, upid)
        if res.visible_after is None:
            res.visible_after = time.monotonic() - t0
        lines = await ops.task_log(node, upid, start=seen)
        for line in lines:
            line = inert(line)
            res.log.append(line)
            progress(line)
        seen += len(lines)
        if st.get("status") == "stopped":
            res.exitstatus = inert(st.get("exitstatus", "unknown"))
            res.ok = res.exitstatus == "OK"
            res.message = "done" if res.ok else f"task failed: {res.exitstatus}"
            break
        if time.monotonic() >= deadline:
            res.message = f"still running after {timeout:g} s; it continues on {node} ({upid})"
            break
        await _sleep(poll)
    res.duration = time.monotonic() - t0
    await _record_outcome(res)
    return res


async def _record_outcome(res: ActionResult) -> None:
    """The task's end goes into the command log too: the POST was accepted, this says how it ended
    (written in a worker thread, not on the event loop)."""
    from console.ops.command_log import Record, write

    await write(Record(res.started, "task", res.upid or "", res.target, f"{res.action}: {res.sentence}",
                       f"{res.exitstatus or 'still running'}", res.ok, res.duration))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def failed(res: ActionResult, exc: ConsoleError, t0: float) -> ActionResult:
    res.ok = False
    res.message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    res.duration = time.monotonic() - t0
    return res
