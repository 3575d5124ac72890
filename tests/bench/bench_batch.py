"""Figures for the guests' batch actions in the TUI (issue 11: "time from confirm to the action's task
being visible, and the TUI stays responsive while a batch of 10 migrations runs"):

- confirm -> task visible: for each of 10 guests marked in the guests view and migrated with one
  confirmation (ctrl+g, target, y), the time from the confirmation to its task being readable on the
  cluster (queue wait included: 3 run at once);
- the event loop while the batch runs, with every poller running: a probe on the loop wakes every 10 ms
  and records how late it woke (the longest time anything held the loop: a frame, a handler, a poll's
  parsing); the target is no stall over 50 ms. Reported apart, as the machine may be loaded: the loop
  thread's own CPU time per probe (work done on the loop, whatever the load), every garbage collection's
  pause, and the stalls over 50 ms split into loop work, collection, the process's other threads (holding
  the GIL) and time no thread of the process ran (waiting for a core); with the load average.

Run: .venv/bin/python -m tests.bench.bench_batch [--scenario both|large|seed] [--speed 20] [--count 10] [--why]
Prints figures; asserts nothing. --why samples the event loop's stack (from a thread) whenever it has
not run the probe for 50 ms, and prints where those stalls were.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from console.app import ConsoleApp
from console.config import load_config
from console.sources import build_hub
from tests.bench.loop_meter import TARGET_MS, GcWatch, LoopProbe, OnLoop
from tests.simlab import SimLab


def on_loop_meter() -> OnLoop:
    """Work that belongs in worker threads, counted when it runs on the loop instead."""
    import console.health_story
    import console.ops.command_log
    import screens.rows

    return OnLoop({"health story told": (console.health_story, "tell"),
                   "table rows built": (screens.rows.RowMemo, "rows"),
                   "command log written": (console.ops.command_log, "append")})


def pick(app, count: int):
    """`count` running, non-HA VMs (live migration, one task each) and a target node: those of the node
    with the most first, then from the other nodes (the seed lab has few per node)."""
    data = app.snapshots["proxmox"].data
    by_node: dict[str, list] = {}
    for g in data.guests:
        if g.type == "qemu" and g.status == "running" and g.ha_state is None and not g.lock:
            by_node.setdefault(g.node, []).append(g)
    source = max(by_node, key=lambda n: len(by_node[n]))
    online = [n for n in data.nodes if n.status == "online" and n.name != source]
    target = max(online, key=lambda n: n.maxmem - n.mem).name
    picked = by_node[source][:count]
    for node, guests in sorted(by_node.items()):
        if node not in (source, target):
            picked += guests[:count - len(picked)]
    sources = sorted({g.node for g in picked})
    return picked, ",".join(sources), target


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
            with GcWatch() as idle_gc, on_loop_meter() as idle_on_loop:
                idle.start()
                await asyncio.sleep(idle_s)
                idle.stop()
            probe = LoopProbe(why)
            with GcWatch() as gc_watch, on_loop_meter() as on_loop:
                probe.start()
                t0 = time.perf_counter()
                await pilot.press("y")
                queue = app.get_screen_stack("guests")[-1].queue
                while len(queue.entries) < len(guests) or queue.busy:
                    await pilot.pause(0.1)
                total = time.perf_counter() - t0
                probe.stop()
            entries = list(queue.entries)
    visible = sorted(e.visible_after for e in entries if e.visible_after is not None)
    own = sorted(e.item.result.visible_after for e in entries if e.item.result and e.item.result.visible_after)
    states = [e.item.state for e in entries]
    print(f"scenario {scenario}, speed {speed:g}: {len(guests)} VMs {source} -> {target}, 3 at once")
    print(f"  confirmation: {question[:110]}…")
    print(f"  results: {states.count('done')} done, {states.count('failed')} failed; whole batch {total:.2f} s")
    for e in entries:
        if e.item.state == "failed":
            print(f"    failed: {e.item.vmid}: {e.item.message[:120]}")
    if visible:
        print(f"  confirm -> task visible: first item {visible[0] * 1000:.0f} ms; median "
              f"{statistics.median(visible) * 1000:.0f} ms, last {visible[-1] * 1000:.0f} ms "
              "(those include the wait for one of 3 slots)")
    if own:
        print(f"  item start -> task visible (no queue wait): median {statistics.median(own) * 1000:.0f} ms, "
              f"worst {own[-1] * 1000:.0f} ms")
    for title, p, g, w in ((f"{idle_s:g} s before the batch (pollers only)", idle, idle_gc, idle_on_loop),
                           ("while the batch ran", probe, gc_watch, on_loop)):
        print(f"  event loop, {title}; {p.load_line()}:")
        print(f"    wall clock: {p.stall_line()} (target: none over {TARGET_MS:.0f} ms)")
        print(f"    {p.cpu_line()}")
        print(f"    garbage collector: {g.line()}")
        print(f"    {p.breakdown_line(g)}")
        print(f"    {w.line()}")
    if probe.stalls:
        print("  where the loop was while overdue (samples every 10 ms):")
        for place, n in probe.stalls.most_common(8):
            print(f"    {n:4d}  {place}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="both", choices=("both", "large", "seed"), help="both: seed, then large")
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--why", action="store_true", help="sample where the loop was during stalls")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of the same probe before the batch")
    args = ap.parse_args()
    for scenario in ("seed", "large") if args.scenario == "both" else (args.scenario,):
        asyncio.run(run(scenario, args.speed, args.count, args.why, args.idle))


if __name__ == "__main__":
    main()
