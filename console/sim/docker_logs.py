"""GET /services/{id}/logs: moby's log stream, multiplexed as stdcopy frames.

Each line is "[timestamp ]details message\n" where details are the task's
attributes `com.docker.swarm.node.id=..,com.docker.swarm.service.id=..,
com.docker.swarm.task.id=..` (the docker CLI parses them to print
`name.slot@node | message`). The World gives (time, text) lines per service;
they are attributed to the service's tasks round-robin, running tasks first.
"""

from __future__ import annotations

import asyncio
import struct
from urllib.parse import quote_plus

from aiohttp import web

from console.sim.docker_filters import DockerApiError
from console.sim.docker_objects import rfc3339

STDOUT, STDERR = 1, 2
FOLLOW_POLL_SECONDS = 0.5


def bool_param(request: web.Request, key: str) -> bool:
    """moby's httputils.BoolValue."""
    value = request.query.get(key, "").strip().lower()
    return value not in ("", "0", "no", "false", "none")


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def _stream_of(text: str) -> int:
    upper = text.upper()
    return STDERR if ("ERROR" in upper or "WARN" in upper or "FATAL" in upper) else STDOUT


def _tasks_for(world, svc) -> list:
    tasks = [t for t in world.tasks.values() if t.service_id == svc.id]
    tasks.sort(key=lambda t: (t.state != "running", t.slot if t.slot is not None else 0, t.id))
    return tasks


def _details(task, svc) -> str:
    attrs = {
        "com.docker.swarm.node.id": task.node_id or "",
        "com.docker.swarm.service.id": svc.id,
        "com.docker.swarm.task.id": task.id,
    }
    return ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(attrs.items()))


def render_line(world, svc, index: int, when: float, text: str, timestamps: bool, details: bool,
                task_id: str | None = None) -> tuple[int, bytes]:
    line = text.rstrip("\n")
    if details:
        task = world.tasks.get(task_id) if task_id else None
        tasks = [task] if task is not None else _tasks_for(world, svc)
        if tasks:
            line = _details(tasks[index % len(tasks)], svc) + " " + line
        else:
            line = " " + line
    if timestamps:
        line = rfc3339(when) + " " + line
    return _stream_of(text), (line + "\n").encode()


def parse_tail(raw: str | None) -> int | None:
    if raw is None or raw == "" or raw == "all":
        return None
    try:
        n = int(raw)
    except ValueError:
        return None  # moby treats an unparsable tail as "all"
    return None if n < 0 else n


def _logs(world, svc_id: str, tail: int | None) -> list[tuple]:
    """(time, text, task_id) lines: each line names the task that wrote it."""
    lines = world.service_log_records(svc_id, tail)
    if tail == 0:
        return []
    return list(lines)


async def serve_logs(request: web.Request, world, svc, is_ready) -> web.StreamResponse:
    want_out = bool_param(request, "stdout")
    want_err = bool_param(request, "stderr")
    if not (want_out or want_err):
        raise DockerApiError(400, "Bad parameters: you must choose at least one stream")
    timestamps = bool_param(request, "timestamps")
    details = bool_param(request, "details")
    follow = bool_param(request, "follow")
    tail = parse_tail(request.query.get("tail"))
    tty = bool(((svc.spec or {}).get("TaskTemplate") or {}).get("ContainerSpec", {}).get("TTY"))

    resp = web.StreamResponse(status=200)
    resp.content_type = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    await resp.prepare(request)

    sent = 0
    last_time = float("-inf")
    seen_at_last: set[str] = set()

    async def emit(batch: list[tuple]) -> None:
        nonlocal sent, last_time, seen_at_last
        for when, text, *rest in batch:
            stream, payload = render_line(world, svc, sent, when, text, timestamps, details, rest[0] if rest else None)
            sent += 1
            if when > last_time:
                last_time, seen_at_last = when, set()
            seen_at_last.add(text)
            if (stream == STDOUT and not want_out) or (stream == STDERR and not want_err):
                continue
            await resp.write(payload if tty else frame(stream, payload))

    try:
        await emit(_logs(world, svc.id, tail))
        while follow:
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
            world.tick()
            if not is_ready() or svc.id not in world.services:
                break
            fresh = [rec for rec in _logs(world, svc.id, None)
                     if rec[0] > last_time or (rec[0] == last_time and rec[1] not in seen_at_last)]
            await emit(fresh)
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the client went away (follow ends when it disconnects)
    return resp
