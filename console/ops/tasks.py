"""PVE tasks cluster-wide (/cluster/tasks) with a filter, a task's log
(followed while it runs), and the cluster log (/cluster/log)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

from console.inert import inert
from console.ops.common import Progress, pve


@dataclass(frozen=True)
class TaskRow:
    upid: str
    node: str
    type: str
    id: str
    user: str
    start: int
    end: int | None
    status: str  # "running", "OK", or the error text

    @property
    def running(self) -> bool:
        return self.end is None and self.status == "running"

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def to_dict(self) -> dict:
        return asdict(self) | {"running": self.running, "ok": self.ok}


@dataclass(frozen=True)
class TaskFilter:
    node: str | None = None
    type: str | None = None
    vmid: str | None = None
    errors: bool = False
    running: bool = False
    text: str | None = None  # in any field

    def keep(self, t: TaskRow) -> bool:
        if self.node and t.node != self.node:
            return False
        if self.type and t.type != self.type:
            return False
        if self.vmid and t.id != self.vmid:
            return False
        if self.errors and (t.running or t.ok):
            return False
        if self.running and not t.running:
            return False
        if self.text and self.text.lower() not in " ".join((t.upid, t.status, t.user)).lower():
            return False
        return True


def task_from(r: dict) -> TaskRow:
    end = r.get("endtime")
    status = inert(r.get("status", "")) or ("running" if end is None else "unknown")
    return TaskRow(upid=inert(r.get("upid", "")), node=inert(r.get("node", "")), type=inert(r.get("type", "")),
                   id=inert(r.get("id", "")), user=inert(r.get("user", "")), start=int(r.get("starttime") or 0),
                   end=int(end) if end is not None else None, status=status)


async def cluster_tasks(sources: Any, flt: TaskFilter | None = None, limit: int | None = None) -> list[TaskRow]:
    rows = [task_from(r) for r in await pve(sources).cluster_tasks()]
    rows.sort(key=lambda t: t.start, reverse=True)
    flt = flt or TaskFilter()
    rows = [t for t in rows if flt.keep(t)]
    return rows[:limit] if limit else rows


def node_of(upid: str) -> str:
    parts = upid.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "UPID" else ""


async def task_log(sources: Any, upid: str, follow: bool = False, on_line: Progress | None = None,
                   poll: float = 0.5, timeout: float = 3600.0) -> tuple[list[str], str]:
    """The task's log lines and its status ("running" if still running when not following)."""
    from console.errors import ConsoleError

    node = node_of(upid)
    if not node:
        raise ConsoleError("task", f"{inert(upid)!r} is not a task id (UPID:node:...)")
    ops = pve(sources)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        st = await ops.task_status(node, upid)
        new = await ops.task_log(node, upid, start=len(lines))
        for line in map(inert, new):
            lines.append(line)
            if on_line:
                on_line(line)
        if st.get("status") == "stopped":
            return lines, inert(st.get("exitstatus", "unknown"))
        if not follow or time.monotonic() > deadline:
            return lines, "running"
        await asyncio.sleep(poll)


@dataclass(frozen=True)
class LogRow:
    time: int
    node: str
    tag: str
    user: str
    severity: str  # "error" | "warning" | "notice" | "info"
    msg: str

    def to_dict(self) -> dict:
        return asdict(self)


_SEVERITY = {0: "error", 1: "error", 2: "error", 3: "error", 4: "warning", 5: "notice", 6: "info", 7: "debug"}


async def cluster_log(sources: Any, limit: int = 50) -> list[LogRow]:
    rows = await pve(sources).cluster_log(limit)
    out = [LogRow(int(r.get("time") or 0), inert(r.get("node", "")), inert(r.get("tag", "")),
                  inert(r.get("user", "")), _SEVERITY.get(int(r.get("pri") or 6), "info"), inert(r.get("msg", "")))
           for r in rows]
    return sorted(out, key=lambda r: r.time, reverse=True)
