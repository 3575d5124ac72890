"""Append-only JSON-lines journal of a maintenance run, and the cluster lock.

Every transition is written and fsynced before and after the remote call it
describes, so a run interrupted by a dropped SSH session or a killed console
can be resumed or rolled back at the next start. Nothing secret is written:
records hold step ids, node names, versions and undo data only.

Every record is written at once (a killed console loses none: the kernel has it).
The records of a step's course between remote calls (FLUSHED_LATER) are not fsynced
on their own: the next fsynced record flushes them with it (fsync flushes the whole
file), and every remote change is preceded by one (call-start). Only a power cut
could lose the latest of them, and then nothing changed since the last fsynced
record but what the calls themselves did: the resumed run applies (or undoes) a step
again, which is idempotent. A run writes some 200 such records; each fsync costs
milliseconds on a busy disk, on the event loop.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import paths
from console.errors import ConsoleError
from console.inert import cap

SECRET_KEYS = ("token_secret", "secret", "password", "auth_data", "authorization")
SECRET_PATTERN = re.compile(r"(PVEAPIToken=[^=\s]+=)\S+"
                            r"|((?:password|secret|auth_data)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+", re.I)


def journal_dir(cluster: str) -> Path:
    d = paths.journal_dir() / cluster
    d.mkdir(parents=True, exist_ok=True)
    return d


def scrub(value: Any) -> Any:
    """Drop secret-named keys and redact secret-looking text, recursively; every string
    (keys too) inert and capped (console.inert.cap), so that a hostile name cannot bloat
    the journal or carry escape sequences into it."""
    if isinstance(value, dict):
        return {cap(k): ("<redacted>" if str(k).lower() in SECRET_KEYS else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return cap(SECRET_PATTERN.sub(lambda m: (m.group(1) or m.group(2)) + "<redacted>", value))
    return value


FLUSHED_LATER = frozenset({"apply-start", "apply-done", "state", "node-done", "call-done", "undo-start",
                           "undo-done"})

# what each record must carry to be understood (the engine's replay reads these)
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "run-start": {"cluster": str, "nodes": list},
    "apply-start": {"node": str, "step": str}, "apply-done": {"node": str, "step": str},
    "apply-failed": {"node": str, "step": str}, "skipped": {"node": str, "step": str},
    "undo-start": {"node": str, "step": str}, "undo-done": {"node": str, "step": str},
    "undo-failed": {"node": str, "step": str}, "state": {"node": str, "state": str},
    "node-done": {"node": str}, "run-end": {"state": str},
    "held": {"node": str, "step": str}, "released": {"node": str},
}


def record_problem(record: Any) -> str | None:
    """What is wrong with one decoded journal line, or None."""
    if not isinstance(record, dict):
        return f"not a journal record (a JSON {type(record).__name__ if record is not None else 'null'}, " \
               "not an object)"
    event = record.get("event")
    if not isinstance(event, str):
        return "a record without an event name"
    for key, kind in REQUIRED.get(event, {}).items():
        if not isinstance(record.get(key), kind):
            return f"a {cap(event, 40)} record without a valid {key!r}"
    if event == "run-start" and not all(isinstance(n, str) for n in record["nodes"]):
        return "a run-start record whose nodes are not names"
    for key in ("facts", "undo"):
        if key in record and not isinstance(record[key], dict):
            return f"a {cap(event, 40)} record whose {key!r} is not an object"
    return None


class Journal:
    """One run's journal file: <state>/journal/<cluster>/<run-id>.jsonl"""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, cluster: str, kind: str, nodes: list[str], identity: dict | None = None,
               options: dict | None = None) -> Journal:
        """A new run's journal; `identity` (ClusterIdentity.to_dict()) says which cluster it belongs to,
        `options` what the run was asked to do beyond its kind (return_guests)."""
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        j = cls(journal_dir(cluster) / f"{run_id}.jsonl")
        extra: dict[str, Any] = {"identity": identity} if identity else {}
        if options:
            extra["options"] = options
        j.append("run-start", cluster=cluster, kind=kind, nodes=nodes, run=run_id, **extra)
        return j

    @property
    def run_id(self) -> str:
        return self.path.stem

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        record = scrub({"t": round(time.time(), 3), "event": event, **fields})
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            if event not in FLUSHED_LATER:
                os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, checked: a damaged line is a ConsoleError naming the file and line
        ("journal FILE line N: what is wrong"), never a half-understood record."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ConsoleError(f"journal {self.path}", f"cannot be read: {exc.strerror or exc}") from None
        lines = data.split(b"\n")
        while lines and not lines[-1].strip():
            lines.pop()
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise ConsoleError(f"journal {self.path} line {n}", "is not UTF-8 text (damaged file)") from None
            except (json.JSONDecodeError, RecursionError):
                if n == len(lines) and not raw.endswith(b"}"):
                    return  # a torn last line from a crash mid-write: everything before it stands
                raise ConsoleError(f"journal {self.path} line {n}", "is not valid JSON") from None
            problem = record_problem(record)
            if problem:
                raise ConsoleError(f"journal {self.path} line {n}", problem)
            yield record

    def header(self) -> dict[str, Any]:
        for r in self.records():
            if r["event"] == "run-start":
                return r
        raise ConsoleError(f"journal {self.path}", "has no run-start record")

    def finished(self) -> bool:
        return any(r["event"] == "run-end" for r in self.records())

    def last_state(self) -> str | None:
        state = None
        for r in self.records():
            if r["event"] in ("run-end", "state"):
                state = r.get("state")
        return state


def runs_of(cluster: str, identity: Any = None) -> list[Journal]:
    """Journals kept under this cluster's name, oldest first; with `identity`
    (a ClusterIdentity) only those recorded on that very cluster."""
    from console.maintenance.identity import belongs_to

    runs = [Journal(p) for p in sorted(journal_dir(cluster).glob("*.jsonl"))]
    return runs if identity is None else [j for j in runs if belongs_to(j.header(), identity)]


def unfinished_runs(cluster: str, identity: Any = None) -> list[Journal]:
    """Journals of this cluster with no run-end record, oldest first."""
    return [j for j in runs_of(cluster, identity) if not j.finished()]


def latest_run(cluster: str, identity: Any = None) -> Journal | None:
    runs = runs_of(cluster, identity)
    return runs[-1] if runs else None


@dataclass
class LockHolder:
    pid: int
    host: str
    since: float
    run: str | None


class ClusterLock:
    """One maintenance run per cluster at a time.

    An flock on <state>/locks/<cluster>.lock: the kernel drops it when the
    holding process dies, however it dies, so a crashed console can never
    leave it stuck. The file's content only says who holds it.
    """

    def __init__(self, cluster: str):
        d = paths.state_dir() / "locks"
        d.mkdir(parents=True, exist_ok=True)
        self.cluster = cluster
        self.path = d / f"{cluster}.lock"
        self._fd: int | None = None

    def holder(self) -> LockHolder | None:
        try:
            data = json.loads(self.path.read_text() or "null")
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return LockHolder(**data) if data else None

    def held(self) -> bool:
        """Whether a live process holds the lock now (the file may name a holder that died)."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def acquire(self, run: str | None = None) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            h = self.holder()
            since = time.strftime("%H:%M:%S", time.localtime(h.since)) if h else ""
            who = f"pid {h.pid} on {h.host} since {since}" if h else "another console"
            raise ConsoleError(f"maintenance on {self.cluster}", f"already running ({who})",
                               "wait for it to finish, or stop that console") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd,
                  json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                              "run": run}).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def note(self, run: str) -> None:
        """Record which run holds the lock (the lock itself stays held)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                            "since": time.time(), "run": run}).encode(), 0)
            os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ClusterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
