"""Transitions between successive snapshots -> a timeline of events (pure, no I/O).

`derive(prev, new, now)` compares two {source: Snapshot} maps and returns what
changed: node online/offline, HA states, OSD up/down/in/out, mon quorum
membership, Ceph health and flags, VIP holder per VRRP instance, Swarm node
state and availability, service converged/under-replicated, router errors
appeared/cleared, and a source that stopped or resumed answering.

An event's severity is the state *after* it: "ok" for a recovery, "info",
"warning" or "critical" otherwise. `first_seen` uses that: the current spell
of trouble of a subject starts at the oldest event of the trailing run of
non-ok events about it.

The first data of a source is a baseline, not a change: only what is already
wrong then becomes an event ("... when first polled"), so every incident has a
start time even if it began before the console did.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from console.inert import cap

SEVERITIES = ("critical", "warning", "info", "ok")
TEXT_CAP = 200
AT_START = " (when first polled)"


@dataclass(frozen=True, slots=True)
class Event:
    time: float  # epoch seconds
    layer: str  # "cluster" | "guests" | "ceph" | "swarm" | "traefik" | "vrrp" | "maintenance" | "source"
    subject: str  # the subject a Finding about it would name: "pve2", "osd.3", "VI_1", "web", ...
    kind: str  # "node-offline", "osd-down", "vip-moved", ... (see derive)
    text: str  # one inert line
    severity: str = "info"  # state after the event: critical | warning | info | ok

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Event":
        """An Event from a stored record; raises ValueError/KeyError/TypeError on a bad one."""
        sev = str(d.get("severity", "info"))
        t = float(d["time"])
        if t != t:  # NaN
            raise ValueError("time is not a number")
        return cls(t, cap(d["layer"], 40), cap(d["subject"], 80), cap(d["kind"], 40), cap(d["text"], TEXT_CAP),
                   sev if sev in SEVERITIES else "info")


def _ev(now: float, layer: str, subject: str, kind: str, text: str, severity: str) -> Event:
    return Event(now, layer, cap(subject, 80), kind, cap(text, TEXT_CAP), severity)


def _data(snaps: Mapping[str, Any] | None, source: str) -> Any:
    snap = (snaps or {}).get(source)
    return None if snap is None else snap.data


def derive(prev: Mapping[str, Any] | None, new: Mapping[str, Any], now: float | None = None) -> list[Event]:
    """Events for what changed from `prev` to `new` (dicts of source -> Snapshot)."""
    now = time.time() if now is None else now
    out: list[Event] = []
    for source, snap in new.items():
        old_snap = (prev or {}).get(source)
        out += _source_events(source, old_snap, snap, now)
        new_data = getattr(snap, "data", None)
        if new_data is None:
            continue
        old_data = _data(prev, source)
        if old_data is new_data:
            continue
        fn = DERIVERS.get(source)
        if fn is not None:
            out += fn(old_data, new_data, now)
    return out


def _source_events(source: str, old, new, now: float) -> list[Event]:
    old_err = getattr(old, "error", None)
    new_err = getattr(new, "error", None)
    if new_err and not old_err:
        return [_ev(now, "source", source, "source-down", f"{source} stopped answering: {new_err}", "warning")]
    if old_err and not new_err and getattr(new, "ok_at", None) is not None:
        return [_ev(now, "source", source, "source-up", f"{source} answers again", "ok")]
    return []


# ------------------------------------------------------------------ queries


def first_seen(events: Iterable[Event], subject: str, kind: str | None = None,
               layer: str | None = None) -> float | None:
    """When the current spell of trouble of `subject` began, or None if it is fine / unknown.

    `events` oldest first. The spell is the trailing run of non-"ok" events
    about `subject`; its start is the oldest of them. Without `kind` only
    warning/critical events open a spell (a migration is no trouble); with
    `kind` every non-ok event of that kind does ("node-maintenance").
    `layer` tells apart subjects two layers share ("ceph" health vs the
    "ceph" source not answering, layer "source")."""
    start: float | None = None
    opens = ("warning", "critical") if kind is None else ("warning", "critical", "info")
    for e in events:
        if e.subject != subject or (kind is not None and e.kind != kind) or (layer is not None and e.layer != layer):
            continue
        if e.severity == "ok":
            start = None
        elif start is None and e.severity in opens:
            start = e.time
    return start


from console.event_rules import DERIVERS, vip_holders  # noqa: E402  (the rules need Event, defined above)

__all__ = ["AT_START", "Event", "SEVERITIES", "derive", "first_seen", "vip_holders"]
