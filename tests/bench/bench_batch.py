"""Figures for the guests' batch actions in the TUI (issue 11: "time from confirm to the action's task
being visible, and the TUI stays responsive while a batch of 10 migrations runs"):

- confirm -> task visible: for each of 10 guests marked in the guests view and migrated with one
  confirmation (ctrl+g, target, y), the time from the confirmation to its task being readable on the
  cluster (queue wait included: 3 run at once);
- the event loop while the batch runs, with every poller running: a probe on the loop wakes every 10 ms
  and records how late it woke (the longest time anything held the loop: a frame, a handler, a poll's
  parsing); the target is no stall over 50 ms.

Run: .venv/bin/python -m tests.bench.bench_batch [--scenario large|seed] [--speed 20] [--count 10] [--why]
Prints figures; asserts nothing. --why samples the event loop's stack (from a thread) whenever it has
not run the probe for 50 ms, and prints where those stalls were.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import sys
import threading
import time
import traceback

from console.app import ConsoleApp
from console.config import load_config
from console.sources import build_hub
from tests.simlab import SimLab

TICK = 0.010
TARGET_MS = 50.0


class LoopProbe:
    """How late the loop runs a 10 ms sleeper: each lateness is time something else held the loop.
    With `why`, a thread samples the loop thread's stack while the probe is overdue."""

    def __init__(self, why: bool = False) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None
        self.why = why
        self.beat = time.perf_counter()
        self.stalls: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            self.beat = t
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - t - TICK)

    def _sampler(self, loop_thread: int) -> None:
        while not self._stop.wait(0.01):
            if time.perf_counter() - self.beat > TARGET_MS / 1000:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    self.stalls[where(frame)] += 1

    def start(self) -> None:
        self.lags.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())
        if self.why:
            threading.Thread(target=self._sampler, args=(threading.get_ident(),), daemon=True).start()

    def stop(self) -> list[float]:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        return list(self.lags)


def where(frame) -> str:
    """The innermost frames of the project's own code (console/, screens/, widgets/), else the innermost."""
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if any(f"/{d}/" in f.filename for d in ("console", "screens", "widgets"))]
    picked = (ours or stack)[-3:]
    return " < ".join(f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno} {f.name}" for f in reversed(picked))


def pick(app, count: int):
    """`count` running, non-HA VMs on one node (live migration, one task each) and a target node."""
    data = app.snapshots["proxmox"].data
    by_node: dict[str, list] = {}
    for g in data.guests:
        if g.type == "qemu" and g.status == "running" and g.ha_state is None and not g.lock:
            by_node.setdefault(g.node, []).append(g)
    source = max(by_node, key=lambda n: len(by_node[n]))
    online = [n for n in data.nodes if n.status == "online" and n.name != source]
    target = max(online, key=lambda n: n.maxmem - n.mem).name
    return by_node[source][:count], source, target


def stall_line(lags: list[float]) -> str:
    ms = sorted(x * 1000 for x in lags)
    if not ms:
        return "no probes"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    over = sum(1 for x in ms if x > TARGET_MS)
    return (f"{len(ms)} probes, longest stall {ms[-1]:.1f} ms, p99 {p99:.1f} ms, median {statistics.median(ms):.1f} ms;"
            f" {over} over {TARGET_MS:.0f} ms")


async def run(scenario: str, speed: float, count: int, why: bool = False, idle_s: float = 10.0) -> None:
    with SimLab(scenario, speed=speed, ready_timeout=120) as lab:
        config = load_config(lab.config_path)
        app = ConsoleApp(config, None, lambda c: build_hub(c), start_polling=True)
        async with app.run_test(size=(160, 48)) as pilot:
            while app.snapshots.get("proxmox") is None or app.snapshots["proxmox"].data is None:
                await pilot.pause(0.2)
            await pilot.press("2")
            await pilot.pause(0.5)
            guests, source, target = pick(app, count)
            table = app.screen.query_one("#guests")
            table.focus()
            for g in guests:
                table.move_cursor_to_key(g.key)
                await pilot.press("space")
            await pilot.press("ctrl+g")
            await pilot.pause(0.3)
            modal = app.screen
            index = [t[0] for t in modal.targets].index(target)
            modal.query_one("OptionList").highlighted = index
            await pilot.press("enter")
            await pilot.pause(0.3)
            question = app.screen.question
            idle = LoopProbe()  # the same probe with the dialog open, nothing running but the pollers
            idle.start()
            await asyncio.sleep(idle_s)
            idle_lags = idle.stop()
            probe = LoopProbe(why)
            probe.start()
            t0 = time.perf_counter()
            await pilot.press("y")
            queue = app.get_screen_stack("guests")[-1].queue
            while len(queue.entries) < len(guests) or queue.busy:
                await pilot.pause(0.1)
            total = time.perf_counter() - t0
            lags = probe.stop()
            entries = list(queue.entries)
    visible = sorted(e.visible_after for e in entries if e.visible_after is not None)
    own = sorted(e.item.result.visible_after for e in entries if e.item.result and e.item.result.visible_after)
    states = [e.item.state for e in entries]
    print(f"scenario {scenario}, speed {speed:g}: {len(guests)} VMs {source} -> {target}, 3 at once")
    print(f"  confirmation: {question[:110]}…")
    print(f"  results: {states.count('done')} done, {states.count('failed')} failed; whole batch {total:.2f} s")
    if visible:
        print(f"  confirm -> task visible: first item {visible[0] * 1000:.0f} ms; median "
              f"{statistics.median(visible) * 1000:.0f} ms, last {visible[-1] * 1000:.0f} ms "
              "(those include the wait for one of 3 slots)")
    if own:
        print(f"  item start -> task visible (no queue wait): median {statistics.median(own) * 1000:.0f} ms, "
              f"worst {own[-1] * 1000:.0f} ms")
    print(f"  event loop, {idle_s:g} s before the batch (pollers only): {stall_line(idle_lags)}")
    print(f"  event loop while the batch ran: {stall_line(lags)} (target: none over {TARGET_MS:.0f} ms)")
    if probe.stalls:
        print("  where the loop was while overdue (samples every 10 ms):")
        for place, n in probe.stalls.most_common(8):
            print(f"    {n:4d}  {place}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large", choices=("large", "seed"))
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--why", action="store_true", help="sample where the loop was during stalls")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of the same probe before the batch")
    args = ap.parse_args()
    asyncio.run(run(args.scenario, args.speed, args.count, args.why, args.idle))


if __name__ == "__main__":
    main()
