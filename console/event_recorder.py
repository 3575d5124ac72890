"""The one place that turns Hub snapshots into events, and reads the maintenance journal.

    recorder = EventRecorder.attach(hub, cluster_name)   # the App, per cluster
    recorder.timeline()                                  # events + maintenance steps, oldest first
    recorder.log.first_seen("osd.1")                     # when osd.1's trouble began

Maintenance step events are not copied into the event file: the maintenance
journal (<state>/journal/<cluster>/*.jsonl) already holds them, so they are
read from there (`journal_events`) and merged when the timeline is shown.
Silences (console/silences.py, when present): the silence file is read with
the journal, at most every FILES_EVERY seconds in a thread, and a silence that
appeared, expired or was removed since the last read becomes an event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console import paths
from console.errors import ConsoleError
from console.event_store import EventLog
from console.events import Event, derive
from console.inert import cap

log = logging.getLogger(__name__)
FILES_EVERY = 5.0  # seconds between reads of the maintenance journal and the silences

# journal record -> (kind, severity, text template); records not listed (call-*, skipped) are too fine-grained
_JOURNAL = {
    "run-start": ("maint-start", "info", "maintenance {kind} started on {nodes}"),
    "state": ("maint-state", "info", "maintenance {node}: {state}"),
    "apply-start": ("maint-step", "info", "maintenance {node}: step {step} started"),
    "apply-done": ("maint-step-done", "info", "maintenance {node}: step {step} done"),
    "apply-failed": ("maint-step-failed", "critical", "maintenance {node}: step {step} failed: {error}"),
    "undo-start": ("maint-undo", "warning", "maintenance {node}: undoing {step}"),
    "undo-done": ("maint-undo-done", "info", "maintenance {node}: undid {step}"),
    "undo-failed": ("maint-undo-failed", "critical", "maintenance {node}: undo of {step} failed: {error}"),
    "node-done": ("maint-node-done", "ok", "maintenance {node}: done"),
    "aborted": ("maint-aborted", "warning", "maintenance stopped by the operator ({node})"),
    "run-end": ("maint-end", "ok", "maintenance run ended: {state}"),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def journal_record_event(record: dict[str, Any]) -> Event | None:
    spec = _JOURNAL.get(str(record.get("event")))
    if spec is None:
        return None
    try:
        t = float(record["t"])
    except (KeyError, TypeError, ValueError):
        return None
    kind, severity, template = spec
    fields = _Blank({k: cap(", ".join(map(str, v)) if isinstance(v, list) else v, 80) for k, v in record.items()})
    if kind in ("maint-end", "maint-state"):  # engine states: running, failed, rolling_back, rolled_back, done, ...
        state = str(record.get("state", ""))
        severity = ("ok" if state == "done" else "critical" if state in ("failed", "rollback_failed")
                    else "warning" if state in ("rolling_back", "rolled_back", "aborted") else severity)
    subject = cap(record.get("node") or "maintenance", 80)
    return Event(t, "maintenance", subject, kind, cap(template.format_map(fields), 200), severity)


def _file_events(path: Path) -> list[Event]:
    out: list[Event] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            event = journal_record_event(record)
            if event is not None:
                out.append(event)
    return out


def journal_events(cluster: str, since: float | None = None, cache: dict | None = None) -> list[Event]:
    """Blocking: maintenance step events of `cluster` from its journal files, oldest first.

    `cache` (path -> (mtime_ns, size, events)) spares re-reading files that did not change."""
    directory = paths.journal_dir() / cluster
    out: list[Event] = []
    try:
        files = sorted(directory.glob("*.jsonl"))
    except OSError:
        return out
    for path in files:
        try:
            st = path.stat()
            if since is not None and st.st_mtime < since:
                continue
            hit = cache.get(path) if cache is not None else None
            if hit is not None and hit[:2] == (st.st_mtime_ns, st.st_size):
                events = hit[2]
            else:
                events = _file_events(path)
                if cache is not None:
                    cache[path] = (st.st_mtime_ns, st.st_size, events)
        except OSError:
            continue
        out += [e for e in events if since is None or e.time >= since]
    out.sort(key=lambda e: e.time)
    return out


def read_silences(cluster: str, now: float) -> list | None:
    """Blocking: the cluster's active silences, or None if there are none to know of."""
    try:
        from console import silences
    except ImportError:  # console/silences.py has not landed on this branch
        return None
    try:
        return list(silences.load(cluster, now))
    except (ConsoleError, OSError) as exc:
        log.info("silences of %s: %s", cluster, exc)
        return None


def silence_changes(seen: dict[str, Any], current: list, now: float) -> list[Event]:
    """Events for silences that appeared, or left `current` since `seen` (id -> silence)."""
    out: list[Event] = []
    by_id = {s.id: s for s in current}
    for sid, s in by_id.items():
        if sid not in seen:
            until = time.strftime("%H:%M", time.localtime(s.until))
            out.append(Event(s.created or now, "silence", cap(s.subject, 80), "silence-added",
                             cap(f"silenced {s.subject} until {until}: {s.reason}", 200), "info"))
    for sid, s in seen.items():
        if sid not in by_id:
            expired = s.until <= now
            out.append(Event(s.until if expired else now, "silence", cap(s.subject, 80),
                             "silence-expired" if expired else "silence-removed",
                             cap(f"silence on {s.subject} {'expired' if expired else 'removed'}", 200), "info"))
    return out


class EventRecorder:
    """Subscribed to one Hub: derives events from each new snapshot into an EventLog."""

    def __init__(self, log: EventLog, cluster: str, wall_clock: Callable[[], float] = time.time):
        self.log = log
        self.cluster = cluster
        self.wall_clock = wall_clock
        self.last: dict[str, Any] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self.maintenance: list[Event] = []  # from the journal, refreshed by refresh_files()
        self._silences_seen: dict[str, Any] | None = None
        self._files_at = -1e18
        self._files_task: asyncio.Task | None = None
        self._journal_cache: dict = {}  # touched by the reading thread only

    @classmethod
    def attach(cls, hub, cluster: str, wall_clock: Callable[[], float] = time.time,
               log: EventLog | None = None) -> EventRecorder:
        recorder = cls(log if log is not None else EventLog.for_cluster(cluster), cluster, wall_clock)
        recorder.last = dict(getattr(hub, "snapshots", {}) or {})
        if hasattr(hub, "derive"):  # h-loop: the diff in the Hub's worker thread, the recording on the loop
            recorder._unsubscribe = hub.derive(lambda prev, snap, _all: recorder.events_between(prev, snap),
                                               recorder.record)
        else:
            recorder._unsubscribe = hub.subscribe(recorder.on_snapshot)
        return recorder

    def events_between(self, prev, snap) -> list[Event]:
        """Blocking and pure (run in a worker thread): the events from `prev` to `snap` of one source."""
        return derive({snap.source: prev} if prev is not None else {}, {snap.source: snap}, self.wall_clock())

    def record(self, snap, events: list[Event]) -> list[Event]:
        self.last[snap.source] = snap
        self.log.add(events)
        self._maybe_refresh_files()
        return events

    def on_snapshot(self, snap) -> list[Event]:
        return self.record(snap, self.events_between(self.last.get(snap.source), snap))

    def _maybe_refresh_files(self) -> None:
        mono = time.monotonic()
        if mono - self._files_at < FILES_EVERY or (self._files_task is not None and not self._files_task.done()):
            return
        self._files_at = mono
        try:
            self._files_task = asyncio.get_running_loop().create_task(self.refresh_files(), name="event-files")
        except RuntimeError:  # no loop: a one-shot headless poll has no timeline to keep
            pass

    def _read_files(self, now: float, first: bool) -> tuple[list[Event], list | None, set]:
        known: set = set()
        current = read_silences(self.cluster, now)
        if first and current:  # silences this log already holds (an earlier session saw them)
            from console.event_store import read_all

            known = {(e.kind, e.subject, round(e.time, 3)) for e in read_all(self.cluster) if e.layer == "silence"}
        return journal_events(self.cluster, cache=self._journal_cache), current, known

    async def refresh_files(self) -> list[Event]:
        """Re-read the maintenance journal and the silences (in a thread); returns new silence events."""
        now = self.wall_clock()
        first = self._silences_seen is None
        maintenance, current, known = await asyncio.to_thread(self._read_files, now, first)
        self.maintenance = maintenance
        if current is None:
            return []
        events = silence_changes(self._silences_seen or {}, current, now)
        if first:
            known |= {(e.kind, e.subject, round(e.time, 3)) for e in self.log.ring if e.layer == "silence"}
            events = [e for e in events if (e.kind, e.subject, round(e.time, 3)) not in known]
        self._silences_seen = {s.id: s for s in current}
        self.log.add(events)
        return events

    async def load_history(self) -> int:
        """Read what earlier sessions recorded (in a thread) and put it before this session's events."""
        from console.event_store import RING, read_all

        older = await asyncio.to_thread(read_all, self.cluster)
        first = self.log.ring[0].time if self.log.ring else None
        older = [e for e in older if first is None or e.time < first][-RING:]
        self.log.prepend(older)
        return len(older)

    def timeline(self) -> list[Event]:
        """Derived events and maintenance steps, oldest first."""
        merged = list(self.log.ring)
        if self.maintenance:
            oldest = merged[0].time if merged else 0.0
            merged += [e for e in self.maintenance if e.time >= oldest or len(merged) < 100]
            merged.sort(key=lambda e: e.time)
        return merged

    def first_seen(self, subject: str, kind: str | None = None, layer: str | None = None) -> float | None:
        """When the current trouble of `subject` began; None if fine or never seen (console.events.first_seen)."""
        return self.log.first_seen(subject, kind, layer)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._files_task is not None and not self._files_task.done():
            self._files_task.cancel()
        self.log.close()


def events_path(cluster: str) -> Path:
    from console.event_store import events_file

    return events_file(cluster)
