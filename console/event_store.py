"""The event timeline: a bounded in-memory ring plus a rotated JSONL file.

File: <state dir>/events/<cluster>.jsonl, one Event per line, rotated at
MAX_BYTES into .1, .2, .3 (the oldest dropped), mode 0600. Records hold only
derived, capped, inert text (names and states), and pass the maintenance
journal's scrub as well, so nothing secret-looking is ever written.

Writes happen on a background thread (appending is a blocking call and the
Hub's subscribers run on the event loop); `flush()` waits for them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import deque
from pathlib import Path
from queue import SimpleQueue
from typing import Iterable, Iterator

from console import paths
from console.events import Event, first_seen

log = logging.getLogger(__name__)

RING = 2000
MAX_BYTES = 1_000_000
KEEP = 3  # rotated files kept besides the current one
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_STOP = object()


def events_dir() -> Path:
    return paths.state_dir() / "events"


def events_file(cluster: str) -> Path:
    return events_dir() / f"{_SAFE.sub('_', cluster) or 'cluster'}.jsonl"


def _scrub_text(text: str) -> str:
    from console.maintenance.journal import scrub

    return scrub(text)


def encode(event: Event) -> str:
    record = event.to_json()
    record["time"] = round(record["time"], 3)
    record["text"] = _scrub_text(record["text"])
    record["subject"] = _scrub_text(record["subject"])
    return json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"


def rotate(path: Path, keep: int = KEEP) -> None:
    """path -> path.1 -> path.2 ... -> path.<keep> (the oldest is dropped)."""
    oldest = path.with_name(f"{path.name}.{keep}")
    oldest.unlink(missing_ok=True)
    for i in range(keep - 1, 0, -1):
        src = path.with_name(f"{path.name}.{i}")
        if src.exists():
            src.replace(path.with_name(f"{path.name}.{i + 1}"))
    if path.exists():
        path.replace(path.with_name(f"{path.name}.1"))


def append_lines(path: Path, lines: list[str], max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
    """Blocking: append `lines`, rotating first when the file would grow past max_bytes."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = "".join(lines).encode()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    if size and size + len(data) > max_bytes:
        rotate(path, keep)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path: Path) -> Iterator[Event]:
    """Events of one JSONL file, oldest first; unreadable lines are skipped (a torn write)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    yield Event.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
    except FileNotFoundError:
        return


def read_all(cluster: str, since: float | None = None, keep: int = KEEP) -> list[Event]:
    """Every stored event of `cluster` (rotated files too), oldest first."""
    path = events_file(cluster)
    files = [path.with_name(f"{path.name}.{i}") for i in range(keep, 0, -1)] + [path]
    out = [e for p in files for e in read_file(p) if since is None or e.time >= since]
    out.sort(key=lambda e: e.time)
    return out


class EventLog:
    """Ring of the latest events (newest last) and, with `path`, their JSONL file."""

    def __init__(self, path: Path | None = None, ring: int = RING, max_bytes: int = MAX_BYTES, keep: int = KEEP):
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.ring: deque[Event] = deque(maxlen=ring)
        self.version = 0  # bumped on every append; views re-render when it changed
        self._queue: SimpleQueue = SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    @classmethod
    def for_cluster(cls, cluster: str) -> "EventLog":
        """The cluster's log (its ring starts empty: see prepend / EventRecorder.load_history)."""
        return cls(events_file(cluster))

    def prepend(self, older: list[Event]) -> None:
        """Put events of earlier sessions (oldest first) before the ring's own."""
        if older:
            merged = list(older) + list(self.ring)
            self.ring.clear()
            self.ring.extend(merged[-(self.ring.maxlen or len(merged)):])
            self.version += 1

    def add(self, events: Iterable[Event]) -> None:
        batch = list(events)
        if not batch:
            return
        self.ring.extend(batch)
        self.version += 1
        if self.path is None:
            return
        with self._lock:
            self._pending += 1
        self._queue.put(batch)
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="event-log", daemon=True)
            self._writer.start()

    def _write_loop(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            try:
                append_lines(self.path, [encode(e) for e in batch], self.max_bytes, self.keep)
            except OSError as exc:
                log.warning("cannot write the event log %s: %s", self.path, exc)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._idle.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every added event is on disk; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer = None

    def recent(self, since: float | None = None) -> list[Event]:
        """The ring, oldest first (from `since`, epoch seconds)."""
        return [e for e in self.ring if since is None or e.time >= since]

    def first_seen(self, subject: str, kind: str | None = None, layer: str | None = None) -> float | None:
        """When the current trouble of `subject` began (see console.events.first_seen)."""
        return first_seen(self.ring, subject, kind, layer)
