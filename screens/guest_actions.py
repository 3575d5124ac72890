"""The guest keys' dialogue (issue 11 item 1): start, shutdown, reboot, hard
stop (typed confirmation), migrate (the target dialog), evacuate a node, and
the same on the marked rows as a batch. Every confirmation is the ops layer's
sentence; every confirmed action goes into the screen's queue (BatchQueue),
which runs at most CONCURRENCY at once, follows each to the end of its task
and reports the result. The work is console/ops/guests.py (through
app.actions); this module only asks, queues and shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from console.errors import ConsoleError
from console.ops.guest_batch import BatchItem
from widgets.batch_queue import QueueRow

CONCURRENCY = 3  # guest tasks at once across every batch: PVE runs them in parallel, the network does not
QUEUE_KEPT = 50  # finished items shown before the oldest go
REDRAW_S = 0.1  # progress lines arrive fast during a batch; the panel redraws at most this often
POKE_S = 2.0  # items ending one after another ask PVE for a fresh poll at most this often (a poll of a
              # large cluster costs the event loop real time)
POWER_WORDS = {"start": "start", "shutdown": "shut down", "reboot": "reboot", "stop": "STOP"}


@dataclass
class Queued:
    item: BatchItem
    what: str  # "migrate VM 112 (backup-server) -> pve3"
    confirmed_at: float  # monotonic
    started_at: float | None = None
    single: bool = False  # report its result on its own (a batch reports a summary)

    @property
    def visible_after(self) -> float | None:
        """Seconds from the confirmation to the action's task being visible on the cluster."""
        res = self.item.result
        if res is None or res.visible_after is None or self.started_at is None:
            return None
        return (self.started_at - self.confirmed_at) + res.visible_after


@dataclass
class GuestQueue:
    """The queue behind the panel: every item confirmed on this screen, newest last."""

    screen: Any
    entries: list[Queued] = field(default_factory=list)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    _redraw_pending: bool = False
    _poke_at: float = float("-inf")
    _poke_pending: bool = False

    def rows(self) -> list[QueueRow]:
        return [QueueRow(e.item.state, e.what, e.item.message) for e in self.entries]

    def submit(self, entries: list[Queued], title: str) -> None:
        self.entries.extend(entries)
        finished = [e for e in self.entries if e.item.state in ("done", "failed")]
        for old in finished[: max(0, len(self.entries) - QUEUE_KEPT)]:
            self.entries.remove(old)
        self._redraw()
        self.screen.run_worker(partial(self._run, entries, title), group="guest-queue", exit_on_error=False)

    def clear_finished(self) -> int:
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.item.state in ("queued", "running")]
        self._redraw()
        return before - len(self.entries)

    @property
    def busy(self) -> bool:
        return any(e.item.state in ("queued", "running") for e in self.entries)

    async def _run(self, entries: list[Queued], title: str) -> None:
        app = self.screen.app
        by_item = {id(e.item): e for e in entries}

        def changed(item: BatchItem) -> None:
            entry = by_item[id(item)]
            if item.state == "running" and entry.started_at is None:
                entry.started_at = time.monotonic()
            if item.state in ("done", "failed"):
                self._poke_soon()  # the table shows where the guest is now
                if entry.single:
                    ok = item.state == "done"
                    app.notify(item.message or item.state, title=title if ok else f"{title} failed",
                               severity="information" if ok else "error")
            self._redraw_soon()

        await app.actions.guest_batch([e.item for e in entries], on_change=changed,
                                      on_note=lambda _item: self._redraw_soon(), gate=self.gate)
        self._redraw()
        if not any(e.single for e in entries):  # a batch (or an evacuation) reports once, at its end
            failed = [e for e in entries if e.item.state == "failed"]
            text = f"{len(entries) - len(failed)} done, {len(failed)} failed" + (
                ": " + "; ".join(f"{e.item.vmid} {e.item.message}" for e in failed[:3]) if failed else "")
            app.notify(text, title=title if not failed else f"{title}: some failed",
                       severity="error" if failed else "information")

    def _poke_soon(self) -> None:
        wait = self._poke_at + POKE_S - time.monotonic()
        if wait <= 0:
            self._poke()
        elif not self._poke_pending:
            self._poke_pending = True
            self.screen.set_timer(wait, self._poke)

    def _poke(self) -> None:
        self._poke_pending = False
        self._poke_at = time.monotonic()
        poke_proxmox(self.screen.app)

    def _redraw_soon(self) -> None:
        if not self._redraw_pending:
            self._redraw_pending = True
            self.screen.set_timer(REDRAW_S, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.screen.show_queue(self.rows())


def poke_proxmox(app) -> None:
    """Poll PVE again now (only PVE: a batch ends items often, and the other layers did not change)."""
    poller = app.hub.pollers.get("proxmox") if hasattr(app.hub, "pollers") else None
    if poller is not None:
        poller.poke()
    else:
        app.hub.refresh()


# ------------------------------------------------------------------ the flows

Prepare = Callable[[], Awaitable[list[Queued] | None]]


def start_flow(screen, title: str, prepare: Prepare) -> None:
    """Refuse read-only at once (nothing asked); otherwise ask and confirm (prepare), then queue."""
    app = screen.app
    if app.read_only:
        app.notify(f"refused: {title} (read-only)", title="read-only", severity="warning")
        return
    if getattr(app.actions, "guest_batch", None) is None:
        app.notify(f"{title}: not available for this cluster", severity="warning")
        return

    async def flow() -> None:
        try:
            entries = await prepare()
        except ConsoleError as exc:
            app.notify(exc.message + (f" ({exc.hint})" if exc.hint else ""), title=f"{title} failed",
                       severity="error")
            return
        if entries:
            app.notify(f"{title}: queued", title=title, timeout=2)
            screen.queue.submit(entries, title)

    screen.run_worker(flow, group="guest-ask", exclusive=True, exit_on_error=False)


async def confirm(app, sentence: str) -> bool:
    from screens.modals import ConfirmModal

    return bool(await app.push_screen_wait(ConfirmModal(sentence)))


async def confirm_typed(app, sentence: str, accepted: tuple[str, ...], asked: str) -> bool:
    from screens.guest_modals import TypedConfirmModal

    return bool(await app.push_screen_wait(TypedConfirmModal(sentence, accepted, asked)))


def what(action: str, g, target: str | None = None) -> str:
    label = getattr(g, "label", None) or f"{'VM' if g.type == 'qemu' else 'CT'} {g.vmid} ({g.name})"
    return f"{action} {label}" + (f" -> {target}" if target else "")


async def prepare_power(app, vmid: int, action: str) -> list[Queued] | None:
    from console.ops.guests import power_sentence
    from screens.operate import ask

    g = await app.actions.guest_find(vmid)  # fresh: a guest that vanished meanwhile is refused here
    timeout = None
    if action == "shutdown":
        text = await ask(app, f"Shut down {g.label} cleanly: how many seconds may PVE wait for it? "
                         "(empty: PVE's default)", "120")
        if text is None:
            return None
        timeout = _seconds(text)
    sentence = power_sentence(g, action, timeout)
    if action == "stop":
        ok = await confirm_typed(app, sentence, (str(g.vmid), g.name), f"the VMID ({g.vmid}) or the name ({g.name})")
    else:
        ok = await confirm(app, sentence)
    if not ok:
        return None
    return [Queued(BatchItem(g.vmid, action, timeout=timeout), what(action, g), time.monotonic(), single=True)]


def _seconds(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) == 0:
        raise ConsoleError("shutdown", f"{text.strip()!r} is not a number of seconds (such as 120)")
    return int(text)


async def prepare_batch(app, guests: list, action: str, target: str | None = None) -> list[Queued] | None:
    labels = ", ".join(f"{g.vmid} ({g.name})" for g in guests)
    where = f" to {target}" if target else ""
    word = POWER_WORDS.get(action, action)
    sentence = (f"{word.capitalize() if word != 'STOP' else word} {len(guests)} guests{where}, at most "
                f"{CONCURRENCY} at once, each followed to the end of its task: {labels}.")
    if action == "stop":
        sentence += " A hard stop is like pulling the power: unsaved data in them is lost."
        ok = await confirm_typed(app, sentence, (str(len(guests)),), f"the number of guests ({len(guests)})")
    else:
        ok = await confirm(app, sentence)
    if not ok:
        return None
    now = time.monotonic()
    return [Queued(BatchItem(g.vmid, action, target), what(action, g, target), now) for g in guests]


async def prepare_migrate(app, vmid: int) -> list[Queued] | None:
    from console.ops.guests import check_target, migrate_sentence
    from screens.guest_modals import MigrateModal, migrate_facts

    opt = await app.actions.guest_migrate_options(vmid)
    targets = [(t.name, t.free_mem, t.reason) for t in opt.targets]
    target = await app.push_screen_wait(MigrateModal(f"migrate {opt.guest.label}", migrate_facts(opt), targets))
    if not target:
        return None
    check_target(opt, target)  # refused here, before the question, with PVE's own reasons
    if not await confirm(app, migrate_sentence(opt, target)):
        return None
    return [Queued(BatchItem(vmid, "migrate", target), what("migrate", opt.guest, target), time.monotonic(),
                   single=True)]


async def prepare_batch_migrate(app, guests: list, nodes: list) -> list[Queued] | None:
    from screens.guest_modals import MigrateModal

    here = {g.node for g in guests}
    targets = [(n.name, max(0, n.maxmem - n.mem) if n.status == "online" else 0,
                "offline" if n.status != "online" else "") for n in nodes]
    need = sum(g.maxmem for g in guests if g.status == "running")
    facts = [f"{len(guests)} marked guests, now on {', '.join(sorted(here))}; running ones need "
             f"{need / 1024**3:.1f} GiB together",
             "each is checked as it goes (local resources, allowed nodes, free memory): a guest that cannot "
             "move fails alone; guests already on the target are skipped"]
    target = await app.push_screen_wait(MigrateModal(f"migrate {len(guests)} guests", facts, targets))
    if not target:
        return None
    movers = [g for g in guests if g.node != target]
    if not movers:
        raise ConsoleError("migrate", f"every marked guest is already on {target}")
    return await prepare_batch(app, movers, "migrate", target)


async def prepare_evacuate(app, node: str, guests_by_vmid: dict) -> list[Queued] | None:
    from console.ops.guest_batch import evacuate_items, evacuate_sentence

    moves = await app.actions.guest_evacuate_plan(node)
    items = evacuate_items(moves)
    if not items:
        stay = "; ".join(f"{m.guest.vmid} stays ({m.reason})" for m in moves) or "it has no guests"
        raise ConsoleError("evacuate", f"nothing to move off {node}: {stay}")
    if not await confirm(app, evacuate_sentence(node, moves) + f" At most {CONCURRENCY} at once."):
        return None
    now = time.monotonic()
    refs = {m.guest.vmid: m.guest for m in moves}
    return [Queued(i, what("migrate", refs.get(i.vmid) or guests_by_vmid[i.vmid], i.target), now) for i in items]
