"""Evacuate a node (every guest to the best fit) and batches of guest actions with a
per-item result, a few at a time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.common import DEFAULT_TIMEOUT, ActionResult, Progress, failed, guard, pve
from console.ops.guests import GuestRef, list_guests, list_nodes, migrate, power


@dataclass
class Move:
    guest: GuestRef
    target: str | None  # None: it stays
    reason: str = ""


async def evacuate_plan(sources: Any, node: str) -> list[Move]:
    """Every guest off `node`, the biggest running ones first onto the node with the most free memory
    (the maintenance planner's fit); stopped guests to the emptiest node; local resources stay."""
    from console.maintenance.planner import place_guests

    nodes = await list_nodes(sources)
    if node not in {n.name for n in nodes}:
        raise ConsoleError("evacuate", f"no node named {node!r} (known: {', '.join(n.name for n in nodes)})")
    others = {n.name: n.free_mem for n in nodes if n.name != node and n.online}
    if not others:
        raise ConsoleError("evacuate", f"no other online node can take the guests of {node}")
    guests = [g for g in await list_guests(sources) if g.node == node]
    moves: list[Move] = []
    movable = []
    for g in guests:
        pre = await pve(sources).migrate_preconditions(node, g.type, g.vmid) if g.type == "qemu" else {}
        local = [inert(x) for x in pre.get("local_resources") or []]
        if local and g.status == "running" and not g.ha:
            moves.append(Move(g, None, f"local resources ({', '.join(local)})"))
        else:
            movable.append(g)
    running = [g for g in movable if g.status == "running"]
    placed = place_guests(running, others)  # type: ignore[arg-type]
    free = dict(others)
    for g in running:
        if t := placed.get(g.vmid):
            free[t] -= g.maxmem
    for g in movable:
        if g.status == "running":
            t = placed.get(g.vmid)
            moves.append(Move(g, t, "" if t else "does not fit in the free memory of the other nodes"))
        else:
            moves.append(Move(g, max(free, key=lambda n: free[n])))
    return sorted(moves, key=lambda m: m.guest.vmid)


def evacuate_sentence(node: str, moves: list[Move]) -> str:
    going = [m for m in moves if m.target]
    staying = [m for m in moves if not m.target]
    text = f"Move {len(going)} guest(s) off {node}: " + ", ".join(f"{m.guest.vmid}->{m.target}" for m in going)
    if staying:
        text += "; staying: " + ", ".join(f"{m.guest.vmid} ({m.reason})" for m in staying)
    return text + "."


@dataclass
class BatchItem:
    vmid: int
    action: str  # a power action or "migrate"
    target: str | None = None
    state: str = "queued"  # queued | running | done | failed
    result: ActionResult | None = None
    note: str = ""  # the latest progress line while it runs
    timeout: int | None = None  # shutdown/reboot: seconds PVE waits for the guest

    @property
    def message(self) -> str:
        return self.result.message if self.result is not None else self.note


async def run_batch(sources: Any, items: list[BatchItem], progress: Progress | None = None,
                    on_change: Any = None, follow_timeout: float = DEFAULT_TIMEOUT,
                    concurrency: int = 1, on_note: Any = None, gate: Any = None) -> list[BatchItem]:
    """A visible queue: at most `concurrency` items run at once, in order; a failed item does not stop the rest.
    `on_change(item)` on each state change, `on_note(item)` on each progress line (item.note); `gate`, an
    asyncio.Semaphore, shares one limit between batches (the TUI's queue)."""

    gate = gate or asyncio.Semaphore(max(1, concurrency))

    async def one(item: BatchItem) -> None:
        async with gate:
            await _run_item(sources, item, progress, on_change, on_note, follow_timeout)

    await asyncio.gather(*(one(item) for item in items))
    return items


async def _run_item(sources: Any, item: BatchItem, progress: Progress | None, on_change: Any, on_note: Any,
                    follow_timeout: float) -> None:
    def say(line: str) -> None:
        item.note = line
        if progress:
            progress(line)
        if on_note:
            on_note(item)

    item.state = "running"
    if on_change:
        on_change(item)
    try:
        if item.action == "migrate":
            item.result = await migrate(sources, item.vmid, item.target or "", say, follow_timeout)
        else:
            item.result = await power(sources, item.vmid, item.action, item.timeout, say, follow_timeout)
    except ConsoleError as exc:
        item.result = failed(ActionResult(item.action, str(item.vmid), ""), exc, time.monotonic())
    item.state = "done" if item.result.ok else "failed"
    if on_change:
        on_change(item)


def evacuate_items(moves: list[Move]) -> list[BatchItem]:
    return [BatchItem(m.guest.vmid, "migrate", m.target) for m in moves if m.target]


async def evacuate(sources: Any, node: str, progress: Progress | None = None, on_change: Any = None,
                   follow_timeout: float = DEFAULT_TIMEOUT) -> list[BatchItem]:
    guard(sources, f"evacuate {node}")
    moves = await evacuate_plan(sources, node)
    return await run_batch(sources, evacuate_items(moves), progress, on_change, follow_timeout)
