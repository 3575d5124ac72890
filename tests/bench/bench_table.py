"""Table repaint cost: FastTable (in the real Guests screen) against Textual's stock DataTable.

    .venv/bin/python -m tests.bench.bench_table

Figures are CPU seconds of the event-loop thread (time.thread_time) for the
update *and* the repaint that follows (Pilot.pause forces the compositor to
render and write the frame), minus the cost of an idle pause, median of
several runs, at 160x48. Targets (issue 4): 5% of 2,000 rows changed < 10 ms;
46 visible rows changed < 15 ms; page down < 15 ms.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from dataclasses import replace

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from console.app import ConsoleApp  # noqa: E402
from screens.rows import guest_row  # noqa: E402
from tests.tui.fixtures import FakeActions, FrozenClock, large_lab, test_config  # noqa: E402
from widgets.fast_table import FastTable  # noqa: E402

SIZE = (160, 48)
N = 2000
REPEAT = 9


async def measure(pilot, action, repeat: int = REPEAT) -> float:
    """Median CPU ms of action() plus the repaint, minus an idle pause."""
    idle, busy = [], []
    for i in range(repeat):
        await pilot.pause()
        t = time.thread_time()
        await pilot.pause()
        idle.append(time.thread_time() - t)
        t = time.thread_time()
        result = action(i)
        if asyncio.iscoroutine(result):
            await result
        await pilot.pause()
        busy.append(time.thread_time() - t)
    return max(0.0, statistics.median(busy) - statistics.median(idle)) * 1000


def changed_states(base, picks, rounds: int):
    """Pre-built ProxmoxState per round (built outside the timing), each from the previous one with the
    guests at `picks(round)` changed. Every Guest is a new object, as a real source builds them each poll."""
    out = []
    for r in range(rounds):
        idx = set(picks(r))
        guests = tuple(replace(g, cpu=(g.cpu + 0.013 * (r + 1)) % 1, mem=g.mem + 4096 * (r + 1)) if i in idx
                       else replace(g) for i, g in enumerate(base.guests))
        base = replace(base, guests=guests)
        out.append(base)
    return out


async def bench_guests_screen() -> dict[str, float]:
    lab = large_lab(N)
    clock = FrozenClock()
    app = ConsoleApp(test_config(), None, lambda c: (lab.hub(clock), FakeActions()), clock=clock,
                     start_polling=False)
    figures = {}
    async with app.run_test(size=SIZE) as pilot:
        await app.hub.poll_all_once()
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        poller = app.hub.pollers["proxmox"]
        base = lab.data["proxmox"]
        gc.freeze()

        def publish(states):
            async def step(i):
                lab.data["proxmox"] = states[i]
                app.hub.publish(await poller.poll_once())
            return step

        # 5% of the guests change, spread over the whole table (most of them off screen)
        states = changed_states(base, lambda r: range(r, N, 20), REPEAT)
        before = table.paint_count
        figures["fast: 5% of 2000 rows changed (Guests screen, poll->repaint)"] = await measure(pilot, publish(states))
        figures["  rows re-rendered per update"] = (table.paint_count - before) / REPEAT
        # every visible row changes
        visible = table.scrollable_content_region.height - 1
        states = changed_states(states[-1], lambda r: range(0, visible), REPEAT)
        figures[f"fast: {visible} visible rows changed"] = await measure(pilot, publish(states))
        table.focus()
        figures["fast: page down"] = await measure(pilot, lambda i: table.action_page_down())
        figures["fast: set_rows of 2000 fresh rows (cold: new table contents)"] = await measure(
            pilot, lambda i: table.set_rows([guest_row(replace(g, name=f"{g.name}-{i}")) for g in base.guests]), 3)
    return figures


class DataTableApp(App):
    def compose(self) -> ComposeResult:
        yield DataTable()


async def bench_datatable() -> dict[str, float]:
    lab = large_lab(N)
    rows = [guest_row(g) for g in lab.data["proxmox"].guests]
    app = DataTableApp()
    figures = {}
    async with app.run_test(size=SIZE) as pilot:
        dt = app.query_one(DataTable)
        keys = [c.upper() for c in ("vmid", "name", "t", "node", "status", "cpu", "mem", "up", "ha", "lock", "tags")]
        col_keys = dt.add_columns(*keys)
        plain = [[c if isinstance(c, str) else c[0] for c in r.cells] for r in rows]
        dt.add_rows(plain)
        await pilot.pause()
        row_keys = list(dt.rows)
        dt.focus()
        gc.freeze()

        def update(picks):
            def step(i):
                for r in picks(i):
                    dt.update_cell(row_keys[r], col_keys[5], f"{(i * 7 + r) % 100}%")
            return step

        figures["stock DataTable: 5% of 2000 rows changed (update_cell)"] = await measure(
            pilot, update(lambda i: range(i, N, 20)))
        figures["stock DataTable: 46 visible rows changed"] = await measure(pilot, update(lambda i: range(0, 46)))
        figures["stock DataTable: page down"] = await measure(pilot, lambda i: dt.action_page_down())

        def reload(i):
            dt.clear()
            dt.add_rows(plain)
        figures["stock DataTable: clear() + add_rows(2000)"] = await measure(pilot, reload, 3)
    return figures


def main() -> None:
    results = asyncio.run(bench_guests_screen())
    results.update(asyncio.run(bench_datatable()))
    print(f"table benchmark at {SIZE[0]}x{SIZE[1]}, {N} rows, CPU ms on the event loop incl. repaint (median)")
    for name, value in results.items():
        unit = "" if name.startswith("  ") else " ms"
        print(f"  {name:<68} {value:8.2f}{unit}")


if __name__ == "__main__":
    main()
