"""Cost of the event timeline and the sparklines per poll, at the `large` scale.

    .venv/bin/python tests/bench/bench_events.py

Figures (median of REPEAT runs, CPU ms of this thread): derive() for one
poll of each source where ~5% of guests/OSDs/services/routers changed (the
re-parsed snapshot is a new object even when nothing changed, the usual
case, so both are measured); the JSONL append of a batch of 100 events on
the writer thread; spark() of a 70-point RRD series into 12 cells; and the
bytes of the ring when full.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.event_store import append_lines, encode  # noqa: E402
from console.events import Event, derive  # noqa: E402
from console.poller import Snapshot  # noqa: E402
from tests.tui.fixtures import large_lab  # noqa: E402
from widgets.sparkline import spark  # noqa: E402

REPEAT = 9


def ms(fn, repeat: int = REPEAT) -> float:
    runs = []
    for _ in range(repeat):
        t = time.thread_time()
        fn()
        runs.append((time.thread_time() - t) * 1000)
    return statistics.median(runs)


def copy_of(data):
    """An equal but distinct object with distinct members, as a fresh poll produces."""
    from dataclasses import fields, is_dataclass

    changes = {}
    for f in fields(data):
        value = getattr(data, f.name)
        if isinstance(value, tuple) and value and is_dataclass(value[0]):
            changes[f.name] = tuple(replace(x) for x in value)
    return replace(data, **changes)


def changed_5pct(source: str, data):
    if source == "proxmox":
        return replace(data, guests=tuple(replace(g, status="stopped") if i % 20 == 0 else g
                                          for i, g in enumerate(data.guests)))
    if source == "ceph":
        return replace(data, osds=tuple(replace(o, up=not o.up) if i % 20 == 0 else o for i, o in enumerate(data.osds)))
    if source == "swarm":
        return replace(data, services=tuple(replace(s, replicas_running=0) if i % 20 == 0 else s
                                            for i, s in enumerate(data.services)))
    if source == "traefik":
        return replace(data, routers=tuple(replace(r, status="warning", errors=("no servers",)) if i % 20 == 0 else r
                                           for i, r in enumerate(data.routers)))
    return data


def main() -> None:
    lab = large_lab(2000)
    print(f"large lab: {len(lab.data['proxmox'].guests)} guests, {len(lab.data['ceph'].osds)} OSDs, "
          f"{len(lab.data['swarm'].services)} services, {len(lab.data['traefik'].routers)} routers")
    for source, data in lab.data.items():
        old = {source: Snapshot(source, data, ok_at=1.0)}
        same = {source: Snapshot(source, copy_of(data), ok_at=3.0)}
        new = {source: Snapshot(source, changed_5pct(source, data), ok_at=3.0)}
        n = len(derive(old, new, 0.0))
        print(f"derive {source:8s}: unchanged {ms(lambda: derive(old, same, 0.0)):6.2f} ms   "
              f"~5% changed {ms(lambda: derive(old, new, 0.0)):6.2f} ms ({n} events)")
    batch = [Event(1.7e9 + i, "guests", str(100 + i), "guest-status", f"vm-{i} ({100 + i}) is stopped (was running)",
                   "info") for i in range(100)]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.jsonl"
        print(f"append 100 events (writer thread): {ms(lambda: append_lines(path, [encode(e) for e in batch])):.2f} ms")
    series = [0.1 + (i % 7) / 20 for i in range(70)]
    print(f"spark 70 points -> 12 cells: {ms(lambda: [spark(series, 12) for _ in range(1000)]) / 1000 * 1000:.1f} µs")
    ring = [replace(batch[i % 100], time=float(i)) for i in range(2000)]
    size = sum(sys.getsizeof(e) + sum(sys.getsizeof(getattr(e, f)) for f in e.__slots__) for e in ring)
    print(f"ring of 2000 events: ~{size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
