"""When each incident started, from the event timeline (console.events). Pure, no I/O.

`spell_starts` reads the timeline once (oldest first) and keeps, per (layer,
subject), the start of its current spell of trouble: the same rule as
console.events.first_seen, for every subject in one pass, so a screen that
renders every poll does not scan the timeline once per finding.

An incident started when its root's trouble did; a root no event names (a
Ceph check code such as MON_DOWN, a rule's aggregate) takes the earliest start
among its effects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Starts = Mapping[tuple[str, str], float]
TROUBLE = ("warning", "critical")


def spell_starts(events: Iterable) -> dict[tuple[str, str], float]:
    """(layer, subject) -> epoch seconds its current spell of trouble began (fine subjects are absent)."""
    starts: dict[tuple[str, str], float] = {}
    for e in events:
        key = (e.layer, e.subject)
        if e.severity == "ok":
            starts.pop(key, None)
        elif e.severity in TROUBLE and key not in starts:
            starts[key] = e.time
    return starts


def finding_start(finding, starts: Starts) -> float | None:
    """A finding's start: events about its subject in its layer, or (a source that stopped
    answering) in the "source" layer."""
    return starts.get((finding.layer, finding.subject)) or starts.get(("source", finding.subject))


def incident_start(incident, starts: Starts) -> float | None:
    root = finding_start(incident.root.finding, starts)
    if root is not None:
        return root
    times = [t for a in incident.effects if (t := finding_start(a.finding, starts)) is not None]
    return min(times) if times else None


def incident_starts(incidents: Iterable, events: Iterable) -> dict[str, float]:
    """incident key -> start (only the incidents whose start is known)."""
    starts = spell_starts(events)
    out = {}
    for inc in incidents:
        t = incident_start(inc, starts)
        if t is not None:
            out[inc.key] = t
    return out
