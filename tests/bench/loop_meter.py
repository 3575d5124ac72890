"""How long the event loop is held, and by what: a probe on the loop, the garbage collector's
pauses, and per stall a split into the loop's own work, garbage collection, the process's other
threads (the GIL) and time nobody in the process ran (no free core: a loaded machine).

Used by tests/bench/bench_batch.py. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import statistics
import sys
import threading
import time
import traceback
from dataclasses import dataclass

TICK = 0.010
TARGET_MS = 50.0


@dataclass
class Pause:
    generation: int
    start: float  # perf_counter
    end: float
    cpu: float  # CPU time of the thread that collected
    on_loop: bool


class GcWatch:
    """Every collection (gc.callbacks): when, how long, in which thread. The collector holds the
    GIL throughout, so a long one stalls the loop wherever it runs."""

    def __init__(self, loop_thread: int | None = None) -> None:
        self.pauses: list[Pause] = []
        self._open: dict[int, tuple[float, float]] = {}
        self._loop_thread = loop_thread or threading.get_ident()

    def __call__(self, phase: str, info: dict) -> None:
        me = threading.get_ident()
        if phase == "start":
            self._open[me] = (time.perf_counter(), time.thread_time())
        elif me in self._open:
            start, cpu = self._open.pop(me)
            self.pauses.append(Pause(info.get("generation", -1), start, time.perf_counter(),
                                     time.thread_time() - cpu, me == self._loop_thread))

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc) -> None:
        gc.callbacks.remove(self)

    def line(self) -> str:
        full = [p for p in self.pauses if p.generation == 2]
        young = [p for p in self.pauses if p.generation != 2]
        young_ms = sum(p.end - p.start for p in young) * 1000
        young_cpu = sum(p.cpu for p in young) * 1000
        young_max = max((p.cpu for p in young), default=0.0) * 1000
        text = (f"{len(young)} young collections ({young_ms:.0f} ms wall, {young_cpu:.0f} ms CPU in all,"
                f" longest {young_max:.1f} ms CPU); ")
        if not full:
            return text + "no full collections"
        walls = [(p.end - p.start) * 1000 for p in full]
        cpus = [p.cpu * 1000 for p in full]
        on_loop = sum(1 for p in full if p.on_loop)
        return (text + f"{len(full)} full collections ({on_loop} in the loop's thread), longest {max(walls):.0f} ms"
                f" wall / {max(cpus):.0f} ms CPU, {sum(walls):.0f} ms wall in all")

    def overlap(self, start: float, end: float) -> tuple[float, float, float]:
        """(wall time of collections inside [start, end], their CPU in the loop's thread, in others)."""
        wall = loop_cpu = other_cpu = 0.0
        for p in self.pauses:
            inside = min(end, p.end) - max(start, p.start)
            if inside <= 0:
                continue
            wall += inside
            share = p.cpu * inside / max(p.end - p.start, 1e-9)
            if p.on_loop:
                loop_cpu += share
            else:
                other_cpu += share
        return wall, loop_cpu, other_cpu


@dataclass
class Beat:
    start: float
    end: float
    loop_cpu: float  # CPU time of the loop's thread meanwhile
    process_cpu: float  # CPU time of every thread of this process meanwhile

    @property
    def lag(self) -> float:
        return self.end - self.start - TICK


class LoopProbe:
    """How late the loop runs a 10 ms sleeper: each lateness is time something else held the loop
    (or the loop's thread waited for the GIL or a core). With `why`, a thread samples the loop
    thread's stack while the probe is overdue."""

    def __init__(self, why: bool = False) -> None:
        self.beats: list[Beat] = []
        self._task: asyncio.Task | None = None
        self.why = why
        self.beat = time.perf_counter()
        self.stalls: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self.load_before = self.load_after = (0.0, 0.0, 0.0)

    async def _run(self) -> None:
        while True:
            t, c, p = time.perf_counter(), time.thread_time(), time.process_time()
            self.beat = t
            await asyncio.sleep(TICK)
            self.beats.append(Beat(t, time.perf_counter(), time.thread_time() - c, time.process_time() - p))

    def _sampler(self, loop_thread: int) -> None:
        while not self._stop.wait(0.01):
            if time.perf_counter() - self.beat > TARGET_MS / 1000:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    self.stalls[where(frame)] += 1

    def start(self) -> None:
        self.beats.clear()
        self.load_before = os.getloadavg()
        self._task = asyncio.get_running_loop().create_task(self._run())
        if self.why:
            threading.Thread(target=self._sampler, args=(threading.get_ident(),), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.load_after = os.getloadavg()
        if self._task is not None:
            self._task.cancel()

    # ------------------------------------------------------------ figures
    def stall_line(self) -> str:
        ms = sorted(b.lag * 1000 for b in self.beats)
        if not ms:
            return "no probes"
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        over = sum(1 for x in ms if x > TARGET_MS)
        return (f"{len(ms)} probes: longest stall {ms[-1]:.1f} ms, stalls over {TARGET_MS:.0f} ms: {over}"
                f" (p99 {p99:.1f} ms, median {statistics.median(ms):.1f} ms)")

    def cpu_line(self) -> str:
        """The loop thread's own CPU while each probe waited: work done on the loop, whatever the load."""
        ms = sorted(b.loop_cpu * 1000 for b in self.beats)
        if not ms:
            return "no probes"
        over = sum(1 for x in ms if x > TARGET_MS)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return f"loop thread's CPU per probe: longest {ms[-1]:.1f} ms, p99 {p99:.1f} ms; {over} over {TARGET_MS:.0f} ms"

    def load_line(self) -> str:
        before, after = self.load_before[0], self.load_after[0]
        return f"load average {before:.1f} before, {after:.1f} after (1 min; {os.cpu_count()} cores)"

    def breakdown_line(self, gc_watch: GcWatch | None) -> str:
        """Over the stalls over 50 ms: how much of their wall time was the loop's own work, garbage
        collection, other threads of this process holding the GIL, and no thread of it running."""
        stalls = [b for b in self.beats if b.lag * 1000 > TARGET_MS]
        if not stalls:
            return "no stalls over 50 ms to split"
        wall = loop = collect = others = 0.0
        for b in stalls:
            g_wall, g_loop, g_other = gc_watch.overlap(b.start, b.end) if gc_watch else (0.0, 0.0, 0.0)
            wall += b.end - b.start
            collect += g_wall
            loop += max(0.0, b.loop_cpu - g_loop)
            others += max(0.0, b.process_cpu - b.loop_cpu - g_other)
        idle = max(0.0, wall - loop - collect - others)
        return (f"the {len(stalls)} stalls' {wall * 1000:.0f} ms: loop work {loop * 1000:.0f} ms, garbage collection "
                f"{collect * 1000:.0f} ms, other threads (GIL) {others * 1000:.0f} ms, no thread of the process "
                f"running (waiting for a core) {idle * 1000:.0f} ms")


class OnLoop:
    """Named pieces of work that should stay off the loop (the health story, table rows): how often
    each ran in the loop's thread and its longest CPU time there (calls in other threads not counted)."""

    def __init__(self, targets: dict[str, tuple[object, str]]) -> None:
        self.targets = targets  # label -> (module or class, attribute)
        self.calls: dict[str, list[float]] = {label: [] for label in targets}
        self._saved: list[tuple[object, str, object]] = []
        self._loop_thread = threading.get_ident()

    def __enter__(self) -> OnLoop:
        for label, (owner, attr) in self.targets.items():
            real = getattr(owner, attr)
            self._saved.append((owner, attr, real))
            setattr(owner, attr, self._wrap(label, real))
        return self

    def _wrap(self, label: str, real):
        calls, loop_thread = self.calls[label], self._loop_thread

        def timed(*args, **kwargs):
            if threading.get_ident() != loop_thread:
                return real(*args, **kwargs)
            start = time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                calls.append(time.thread_time() - start)
        return timed

    def __exit__(self, *_exc) -> None:
        for owner, attr, real in reversed(self._saved):
            setattr(owner, attr, real)

    def line(self) -> str:
        parts = [f"{label} {len(c)}x" + (f" (longest {max(c) * 1000:.1f} ms CPU)" if c else "")
                 for label, c in self.calls.items()]
        return "on the loop's thread: " + ", ".join(parts)


def where(frame) -> str:
    """The innermost frames of the project's own code (console/, screens/, widgets/), else the innermost."""
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if any(f"/{d}/" in f.filename for d in ("console", "screens", "widgets"))]
    picked = (ours or stack)[-3:]
    return " < ".join(f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno} {f.name}" for f in reversed(picked))
