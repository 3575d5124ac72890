"""Memory soak: the console on the `large` simulated lab for N minutes, visiting screens.

    .venv/bin/python -m tests.bench.bench_soak [--minutes 30] [--warmup 5]
    .venv/bin/python -m tests.bench.bench_soak --tracemalloc --minutes 10   # what grows
    .venv/bin/python -m tests.bench.bench_soak --count-objects --minutes 10 # which types grow

Default mode runs the real `labconsole demo --scenario large` on a pseudo-terminal
(160x48, output drained and thrown away), shows the next view every few seconds
(1-8: every layer, Maintenance and Events), opens the Guests detail pane and moves
through the guests (each one's RRD history is read), opens and closes the Swarm
log view, and reads the console process's VmRSS from /proc every minute, with
its anonymous part split by where it lives (tests/bench/smaps.py: glibc's main
heap and other arenas, thread stacks, the rest: mostly pymalloc) and the threads. After
the run it prints the least-squares slope of RSS (MB/min) over the minutes after
the warm-up.

Targets (issue 8, item 9): slope < 0.2 MB/min after the first 5 minutes, RSS < 120 MB.

--tracemalloc / --count-objects run the same app in this process (headless
Textual, the same demo lab and sources). At each measurement the pollers are
stopped and their calls in flight are let finish, so only what the console
*keeps* is compared, not the poll that happened to be running: tracemalloc
prints the allocation sites that grew most between the end of the warm-up and
the end of the run; --count-objects prints, every minute, the object types (and
the total length of big containers, by type) that grew.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

from tests.bench.smaps import describe  # noqa: E402
from tests.e2e.tmux_helpers import console_env, make_sandbox  # noqa: E402

LABCONSOLE = Path(sys.executable).parent / "labconsole"
SCREEN_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8"]  # console/layers.py VIEWS: every view with a number key
GUESTS, SWARM = "2", "4"
DOWN = "\x1b[B"
PILOT_KEYS = {"\x1b": "escape", DOWN: "down"}  # pty bytes -> Textual key names (in-process mode)
COLS, ROWS = 160, 48


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_split(pid: int | str) -> str:
    """Resident memory by kind: anonymous (the heaps: pymalloc's arenas, glibc's, thread stacks)
    and file-backed (the shared libraries and extension modules mapped in)."""
    return f"(anon {rss_mb(pid, 'RssAnon'):6.1f}: {describe(pid)}; files {rss_mb(pid, 'RssFile'):5.1f})"


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, MB) points, MB/min."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


def report(samples: list[tuple[float, float]], warmup: float) -> None:
    after = [(m, r) for m, r in samples if m >= warmup]
    print(f"soak summary: {len(samples)} samples; RSS first {samples[0][1]:.1f} MB, last {samples[-1][1]:.1f} MB, "
          f"max {max(r for _, r in samples):.1f} MB")
    print(f"  slope after minute {warmup:g}: {slope(after):+.3f} MB/min over {len(after)} samples "
          f"(target < 0.2 MB/min; RSS target < 120 MB)")


# ---------------------------------------------------------------- the real process on a pty
def _drain(fd: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def _visit_keys(step: int) -> list[str]:
    """The keys pressed at visit `step`: the next view. On Guests: the first time, open the detail
    pane; then move three guests down (the pane reads each one's RRD history). On Swarm, every
    other time: open the log view of the selected service, then close it."""
    key = SCREEN_KEYS[step % len(SCREEN_KEYS)]
    laps = step // len(SCREEN_KEYS)
    if key == GUESTS:
        return [key, "d"] if laps == 0 else [key, DOWN, DOWN, DOWN]
    if key == SWARM and laps % 2 == 0:
        return [key, "l", "\x1b"]
    return [key]


def run_process(minutes: float, warmup: float, visit_every: float) -> list[tuple[float, float]]:
    root = make_sandbox("lcsoak-")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = {**os.environ, **console_env(root), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    proc = subprocess.Popen([str(LABCONSOLE), "demo", "--scenario", "large"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=root, start_new_session=True)
    os.close(slave)
    stop = threading.Event()
    threading.Thread(target=_drain, args=(master, stop), daemon=True).start()
    samples: list[tuple[float, float]] = []
    try:
        started = time.monotonic()
        next_sample, step = 0.0, 0
        print(f"soak: labconsole demo --scenario large, pid {proc.pid}, {minutes:g} min, a screen every "
              f"{visit_every:g} s",
              flush=True)
        while True:
            elapsed = (time.monotonic() - started) / 60
            if proc.poll() is not None:
                raise SystemExit(f"the console exited early with status {proc.returncode}")
            if elapsed >= next_sample:
                mb = rss_mb(proc.pid)
                samples.append((elapsed, mb))
                print(f"  minute {elapsed:5.1f}  RSS {mb:6.1f} MB {rss_split(proc.pid)}  load {os.getloadavg()[0]:.2f}",
                      flush=True)
                next_sample += 1.0
                if elapsed >= minutes:
                    break
            for key in _visit_keys(step):
                os.write(master, key.encode())
                time.sleep(0.5)
            step += 1
            time.sleep(max(0.0, visit_every - 0.5))
    finally:
        stop.set()
        try:
            os.write(master, b"\x11")  # ctrl+q
            proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        os.close(master)
        shutil.rmtree(root, ignore_errors=True)
    return samples


# ---------------------------------------------------------------- in-process, with tracemalloc
def _type_counts() -> dict[str, int]:
    """Live objects per type, plus the summed length of big containers per type (a list that only
    grows keeps the number of lists constant): keys "len:TYPE"."""
    import gc
    from collections import Counter

    objects = gc.get_objects()
    counts = Counter(type(o).__qualname__ for o in objects)
    for o in objects:
        if isinstance(o, (list, dict, set, deque)) and len(o) >= 500:
            counts[f"len:{type(o).__qualname__}"] += len(o)
    return counts


QUIET = 6.0  # s the pollers' calls in flight get to end before a measurement


async def _quiesced(app, measure):
    """Stop polling, let the calls in flight end, collect, measure, poll again: a measurement
    sees what the console keeps between polls, not the answer being parsed at that moment."""
    import gc

    await app.hub.stop()
    await asyncio.sleep(QUIET)
    gc.collect()
    try:
        return measure()
    finally:
        app.hub.start()


async def _in_process(minutes: float, warmup: float, visit_every: float, trace: bool) -> list[tuple[float, float]]:
    """trace=True: tracemalloc diff after the run; False: live object counts per type, every minute."""
    import tracemalloc

    from console.app import ConsoleApp
    from console.demo import DemoLab
    from console.memory import tune_malloc
    from console.sources import build_hub

    tune_malloc()  # as console.app.run_tui does
    samples: list[tuple[float, float]] = []
    with DemoLab(scenario="large") as lab:
        app = ConsoleApp(lab.config, None, lambda c: build_hub(c, read_only=False))
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            # Tracing starts a minute before the warm-up ends (it slows every allocation, and only
            # growth matters): the data current at the warm-up and at the end are then both traced
            # and cancel out in the diff; what stays is what accumulated.
            base: Any = None
            started = time.monotonic()
            next_sample, step = 0.0, 0
            while True:
                elapsed = (time.monotonic() - started) / 60
                if trace and not tracemalloc.is_tracing() and elapsed >= warmup - 1:
                    tracemalloc.start(12)
                if elapsed >= next_sample:
                    counts = None if trace else await _quiesced(app, _type_counts)
                    if trace and base is None and elapsed >= warmup:
                        base = await _quiesced(app, tracemalloc.take_snapshot)
                    mb = rss_mb()
                    samples.append((elapsed, mb))
                    print(f"  minute {elapsed:5.1f}  RSS {mb:6.1f} MB (traced "
                          f"{tracemalloc.get_traced_memory()[0] / 2**20:.1f} MB)", flush=True)
                    if counts is not None:
                        if base is not None:
                            grew = sorted(((counts[t] - base.get(t, 0), t) for t in counts), reverse=True)[:10]
                            print("     grew since the warm-up: " + ", ".join(f"{t} {n:+d}" for n, t in grew if n > 0),
                                  flush=True)
                        elif elapsed >= warmup:
                            base = counts
                    next_sample += 1.0
                    if elapsed >= minutes:
                        break
                for key in _visit_keys(step):
                    await pilot.press(PILOT_KEYS.get(key, key))
                    await asyncio.sleep(0.5)
                step += 1
                await asyncio.sleep(max(0.0, visit_every - 0.5))
            if trace and base is not None:
                end = await _quiesced(app, tracemalloc.take_snapshot)
                print("allocation sites that grew most since the warm-up (polling paused for both snapshots):")
                for stat in end.compare_to(base, "traceback")[:15]:
                    print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
                    for line in stat.traceback.format()[-16:]:
                        print(f"      {line}")
                print("largest live allocations (traced since a minute before the warm-up ended) by file:")
                for stat in end.statistics("filename")[:15]:
                    print(f"  {stat.size / 2**20:8.2f} MiB {stat.count:8d} blocks  {stat.traceback[0].filename}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the slope")
    parser.add_argument("--visit-every", type=float, default=5.0, help="seconds between screen visits")
    parser.add_argument("--tracemalloc", action="store_true", help="run in this process and show what grows")
    parser.add_argument("--count-objects", action="store_true",
                        help="run in this process and print, every minute, the object types that grew")
    args = parser.parse_args()
    if args.tracemalloc or args.count_objects:
        samples = asyncio.run(_in_process(args.minutes, args.warmup, args.visit_every, trace=args.tracemalloc))
    else:
        samples = run_process(args.minutes, args.warmup, args.visit_every)
    report(samples, args.warmup)


if __name__ == "__main__":
    main()
