"""The current Story of a cluster for the live console: computed once per new snapshots set
(and once a second while a source is stale), shared by the header, the Health screen and every
banner, so that they cannot disagree. Maintenance runs and silences are re-read from
the state dir at most every REREAD_SECONDS (a directory listing, the runs' journals and a small
JSON file): in a worker thread, never on the event loop. Until a re-read is back the last
context is used; when it brings something new, `on_change` (the live screen's refresh) runs.
Only the very first read of a keeper (at start-up or after a cluster switch) is made at once,
so that the first screen already shows a run in progress; without a running event loop
(headless callers) reads are made at once too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from console.errors import ConsoleError
from console.incidents import Story, tell

log = logging.getLogger(__name__)
REREAD_SECONDS = 2.0  # one poll interval: a run that stops shows within one


class StoryKeeper:
    def __init__(self, cluster: str, clock: Callable[[], float] = time.monotonic,
                 read_runs: Callable[[str], list] | None = None, read_silences: Callable[[str], list] | None = None,
                 wall: Callable[[], float] = time.time, on_change: Callable[[], None] | None = None):
        self.cluster = cluster
        self.clock = clock
        self.wall = wall  # epoch time: silences expire by it
        self.on_change = on_change or (lambda: None)
        self._read_runs = read_runs or _runs
        self._read_silences = read_silences or (lambda c: _silences(c, self.wall()))
        self._context: tuple = ((), ())
        self._context_at: float | None = None
        self._reading: asyncio.Task | None = None
        self._generation = 0  # bumped by invalidate(): a read begun before it is not trusted
        self._key: tuple | None = None
        self._story: Story | None = None

    def _read(self) -> tuple:
        return tuple(self._read_runs(self.cluster)), tuple(self._read_silences(self.cluster))

    def context(self) -> tuple:
        """(runs, silences); a re-read is started when they are older than REREAD_SECONDS."""
        t = self.clock()
        if self._context_at is not None and t - self._context_at < REREAD_SECONDS:
            return self._context
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or (self._context_at is None and self._generation == 0):
            self._context, self._context_at = self._read(), t  # headless, or the very first read
        elif self._reading is None or self._reading.done():
            self._context_at = t  # the next re-read is due REREAD_SECONDS from now, not on every call
            self._reading = loop.create_task(self._reread(self._generation))
        return self._context

    async def _reread(self, generation: int) -> None:
        try:
            context = await asyncio.to_thread(self._read)
        except Exception as exc:  # noqa: BLE001 - a failed read keeps the last context, the console goes on
            log.warning("re-reading maintenance runs and silences: %s", exc)
            return
        if generation != self._generation:  # invalidated meanwhile: that read may miss the change
            self._context_at = None
            return
        changed = context != self._context
        self._context, self._context_at = context, self.clock()
        if changed:
            self._key = None
            self.on_change()

    def invalidate(self) -> None:
        """A silence was added or removed, a run started: read again on the next call."""
        self._generation += 1
        self._context_at = None
        self._key = None

    def story(self, snapshots: Mapping[str, object], now: float) -> Story:
        runs, silences = self.context()
        snaps = tuple(sorted(snapshots.items()))
        stale = tuple(bool(s is not None and s.is_stale(now)) for _, s in snaps)
        # only staleness (and the age it reports) depends on the clock: recompute per second then
        key = (tuple((k, id(s)) for k, s in snaps), stale, int(now) if any(stale) else None, runs, silences)
        if self._story is None or key != self._key:
            self._story = tell(dict(snapshots), now, runs, silences)
            self._key = key
            self._held = snaps  # keeps the snapshots alive so that their ids stay theirs
        return self._story


def _runs(cluster: str) -> list:
    from console.maintenance_view import active_runs

    return active_runs(cluster)


def _silences(cluster: str, now: float) -> list:
    from console import silences

    try:
        return silences.load(cluster, now)
    except ConsoleError as exc:
        log.warning("%s", exc)
        return []


def keeper_for(owner, cluster: str) -> StoryKeeper:
    """The keeper of `cluster`, kept on `owner` (the App): a new one after a cluster switch."""
    keeper = getattr(owner, "_story_keeper", None)
    if keeper is None or keeper.cluster != cluster:
        keeper = StoryKeeper(cluster, getattr(owner, "clock", time.monotonic),
                             wall=getattr(owner, "wall_clock", time.time), on_change=lambda: _rerender(owner))
        owner._story_keeper = keeper
    return keeper


def _rerender(owner) -> None:
    """A re-read brought a new run or silence: the live screen renders again (duck-typed: no Textual here)."""
    try:
        screen = owner.screen
    except Exception:  # noqa: BLE001 - no screen (tearing down): nothing to render
        return
    refresh = getattr(screen, "refresh_data", None)
    if callable(refresh):
        refresh()
