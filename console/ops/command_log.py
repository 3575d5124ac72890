"""The console's own command log: every mutating call labconsole made, API or
SSH, with time, target, result and duration.

JSON lines in the state dir (`command-log.jsonl`), bounded: past MAX_BYTES
the file is rotated to `command-log.1.jsonl` (one generation kept). Records
carry no secrets (console.logs.redact) and text is made inert and capped
(console.inert.cap). Writes are recorded by `recorded()`, which the write
layers wrap around each call: console/sources/proxmox_ops.py, the maintenance
engine's journaled calls (console/maintenance/remote_calls.py) and
console.actions.Actions. A call inside another recorded call is not recorded
twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from console.errors import ReadOnlyError
from console.inert import cap, inert

FILE = "command-log.jsonl"
OLD = "command-log.1.jsonl"
MAX_BYTES = 512 * 1024  # about 2000 records before a rotation
_inside: ContextVar[bool] = ContextVar("command_log_inside", default=False)
_lock = threading.Lock()
_cluster = ""  # the cluster the writes of this process go to (set_cluster), recorded with each


def set_cluster(name: str) -> None:
    """The cluster whose writable sources were built last: its writes are recorded under its name."""
    global _cluster
    _cluster = name


def log_path(directory: Path | None = None) -> Path:
    from console.paths import state_dir

    return (directory or state_dir()) / FILE


def _clean(value: object, limit: int = 300) -> str:
    from console.logs import redact

    return cap(inert(redact(str(value))), limit)


@dataclass
class Record:
    time: float
    kind: str  # "api" | "ssh" | "swarm" | ...
    call: str  # "POST nodes/pve1/qemu/112/status/start", "ssh pve1: apt-get ..."
    target: str  # the guest, node or service it changes
    action: str  # what it means, in words
    result: str = ""  # "ok: UPID:..." / "failed: ..."
    ok: bool = True
    duration: float = 0.0
    cluster: str = field(default_factory=lambda: _cluster)

    def to_dict(self) -> dict:
        return {"time": round(self.time, 3), "cluster": self.cluster, "kind": self.kind, "call": self.call,
                "target": self.target, "action": self.action, "ok": self.ok, "result": self.result,
                "duration": round(self.duration, 3)}


def append(rec: Record, directory: Path | None = None) -> None:
    path = log_path(directory)
    line = json.dumps({k: (_clean(v) if isinstance(v, str) else v) for k, v in rec.to_dict().items()},
                      ensure_ascii=False) + "\n"
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.stat().st_size + len(line) > MAX_BYTES:
                os.replace(path, path.with_name(OLD))
        except FileNotFoundError:
            pass
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)


def read(limit: int | None = None, directory: Path | None = None, cluster: str | None = None) -> list[dict]:
    """The records, oldest first (the rotated generation, then the current file); bad lines skipped.
    With `cluster`, only that cluster's (and those written before records named their cluster)."""
    path = log_path(directory)
    rows: list[dict] = []
    for p in (path.with_name(OLD), path):
        try:
            text = p.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and (cluster is None or row.get("cluster") in (cluster, None, "")):
                rows.append({k: (inert(v) if isinstance(v, str) else v) for k, v in row.items()})
    return rows[-limit:] if limit else rows


@asynccontextmanager
async def recorded(kind: str, call: str, target: str = "", action: str = "") -> AsyncIterator[Record]:
    """Record the call inside the block: its result (set `rec.result`) or its error, and how long it took."""
    if _inside.get():
        yield Record(time.time(), kind, call, target, action)
        return
    token = _inside.set(True)
    rec = Record(time.time(), kind, call, target, action or call)
    start = time.monotonic()
    try:
        yield rec
    except ReadOnlyError:
        raise  # refused before anything was sent: not a call that was made
    except BaseException as exc:
        rec.ok = False
        rec.result = f"failed: {getattr(exc, 'message', None) or exc}"
        rec.duration = time.monotonic() - start
        await write(rec)
        raise
    finally:
        _inside.reset(token)
    rec.duration = time.monotonic() - start
    rec.result = f"ok: {rec.result}" if rec.result else "ok"
    await write(rec)


async def write(rec: Record) -> None:
    """Append `rec` from async code: the file write in a worker thread (a stat, an open, maybe a
    rotation: never on the event loop), done when this returns, so a reader right after finds it.
    A failure to write is logged, never raised (as _safe_append)."""
    try:
        await asyncio.to_thread(_safe_append, rec)
    except RuntimeError:  # the loop's thread pool is shut down (the console is closing): written here then
        _safe_append(rec)


def _safe_append(rec: Record) -> None:
    import logging

    try:
        append(rec)
    except OSError as exc:  # the log must never break the action it records
        logging.getLogger(__name__).warning("command log not written: %s", exc)


class RecordingSource:
    """A source whose write methods are recorded; reads pass straight through
    (the write method names are the maintenance journal's, one list)."""

    def __init__(self, name: str, source: object):
        self._name = name
        self._source = source

    def __getattr__(self, attr: str):
        from console.maintenance.remote_calls import WRITES

        value = getattr(self._source, attr)
        if attr not in WRITES.get(self._name, ()) or not callable(value):
            return value

        async def call(*args, **kwargs):
            shown = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
            async with recorded(self._name, f"{self._name}.{attr}({shown})", str(args[0]) if args else ""):
                return await value(*args, **kwargs)

        return call


def split_call(call: str) -> tuple[str, str, str]:
    """(kind, call, target) of a maintenance journal call text:
    "ssh pve1: apt-get ..." -> ssh, target pve1; "proxmox.migrate(pve1, 101, ...)" -> proxmox, target pve1."""
    if call.startswith("ssh "):
        host = call[4:].partition(":")[0]
        return "ssh", call, host
    kind, _, rest = call.partition(".")
    args = rest.partition("(")[2].rstrip(")")
    return kind or "call", call, args.split(",")[0].strip()
