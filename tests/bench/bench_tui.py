"""Whole-console figures: first frame after launch, screen switches, page down, memory with large data.

    .venv/bin/python -m tests.bench.bench_tui

Targets (issue 4): first frame < 0.5 s from launch; screen switch < 100 ms;
page down < 15 ms; resident memory < 150 MB with the large data loaded.
The data is the `large`-sized fake lab from tests/tui/fixtures.py (2,000
guests, 240 OSDs, 300 services with 3,000 tasks, 300 routers), not the sim.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIRST_FRAME_CHILD = r"""
import sys, time
from console.app import ConsoleApp
from tests.tui.fixtures import FakeActions, FrozenClock, FakeLab, test_config

class Probe(ConsoleApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.first_frame)
    def first_frame(self):
        self.frame_at = time.time()
        self.exit()

async def go():
    lab = FakeLab()
    app = Probe(test_config(), None, lambda c: (lab.hub(FrozenClock()), FakeActions()), start_polling=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
    print(app.frame_at)

import asyncio
asyncio.run(go())
"""


def first_frame_seconds() -> float:
    """Wall time from spawning a fresh interpreter to the console's first frame (median of 3)."""
    samples = []
    for _ in range(3):
        started = time.time()
        out = subprocess.run([sys.executable, "-c", FIRST_FRAME_CHILD.format(root=str(ROOT))],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        samples.append(float(out.stdout.strip().splitlines()[-1]) - started)
    return statistics.median(samples)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def in_app() -> dict[str, float]:
    from console.app import ConsoleApp
    from console.layers import LAYER_VIEWS
    from tests.tui.fixtures import FakeActions, FrozenClock, large_lab, test_config
    from widgets.fast_table import FastTable

    lab = large_lab(2000)
    app = ConsoleApp(test_config(), None, lambda c: (lab.hub(FrozenClock()), FakeActions()), start_polling=False)
    figures: dict[str, float] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await app.hub.poll_all_once()
        await pilot.pause()
        views = ["health", *LAYER_VIEWS]
        for view in views:  # mount every screen once
            await app.switch_mode(view)
            await pilot.pause()
        gc.freeze()
        switch = []
        for _ in range(3):
            for view in views[1:] + views[:1]:
                t = time.thread_time()
                await app.switch_mode(view)
                await pilot.pause()
                switch.append(time.thread_time() - t)
        figures["screen switch, median (CPU ms, incl. render of the resumed screen)"] = statistics.median(switch) * 1000
        figures["screen switch, worst (CPU ms)"] = max(switch) * 1000
        await app.switch_mode("guests")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        table.focus()
        pd = []
        for _ in range(9):
            t = time.thread_time()
            await pilot.press("pagedown")
            pd.append(time.thread_time() - t)
        figures["page down via key press on Guests (CPU ms, incl. repaint)"] = statistics.median(pd) * 1000
        for _ in range(3):  # a few more polls of everything, as in real use
            await app.hub.poll_all_once()
            await pilot.pause()
        figures["resident memory with large data, all screens mounted (MB)"] = rss_mb()
    return figures


def main() -> None:
    figures = {"first frame from launch (s, fresh interpreter, median of 3)": first_frame_seconds()}
    figures.update(asyncio.run(in_app()))
    print("console benchmark at 160x48")
    for name, value in figures.items():
        print(f"  {name:<72} {value:9.3f}")


if __name__ == "__main__":
    main()
