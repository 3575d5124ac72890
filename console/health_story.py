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
                 wall: Callable[[], float] = time.time, on_change: Callable[[], None] | None = None,
                 on_aged: Callable[[], None] | None = None):
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
        self._held: tuple = ()
        self.on_aged = on_aged or self.on_change
        self._aging: asyncio.Task | None = None
        self._hub = None
        self._unfollow: Callable[[], None] | None = None

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
        if not changed:
            return
        held = self._held
        if held:  # the story of the snapshots last told, with the new runs and silences: in the thread too
            now = self.clock()
            snaps = dict(held)
            story = await asyncio.to_thread(tell, snaps, now, *context)
            if self._held is held and self._context == context:  # nothing newer was told meanwhile
                self._key, self._story = _key(snaps, now, *context)[1], story
        else:
            self._key = None
        self.on_change()

    def invalidate(self) -> None:
        """A silence was added or removed, a run started: read again on the next call."""
        self._generation += 1
        self._context_at = None
        self._key = None

    def story(self, snapshots: Mapping[str, object], now: float) -> Story:
        runs, silences = self.context()
        snaps, key = _key(snapshots, now, runs, silences)
        if self._story is None or key != self._key:
            if self._story is not None and self._key is not None and _same_but_clock(key, self._key) \
                    and self._age_off_loop(snapshots, now, key):
                return self._story  # the last story until this second's is back from the thread
            self._story = tell(dict(snapshots), now, runs, silences)
            self._key = key
            self._held = snaps  # keeps the snapshots alive so that their ids stay theirs
        return self._story

    # ------------------------------------------------------------ off the event loop
    def follow(self, hub) -> None:
        """Tell the story of every new snapshot set in the Hub's worker thread (Hub.derive), so that
        the screens find it ready; a keeper follows one Hub at a time."""
        if self._hub is hub:
            return
        if self._unfollow is not None:
            self._unfollow()
        self._hub, self._unfollow = hub, hub.derive(self._tell_ahead, self._told)

    def _tell_ahead(self, _prev, _snap, snapshots: Mapping[str, object]) -> tuple:
        """Blocking (a worker thread): the story of `snapshots` with the runs and silences last read."""
        runs, silences = self._context
        now = self.clock()
        snaps, key = _key(snapshots, now, runs, silences)
        return key, snaps, tell(dict(snapshots), now, runs, silences)

    def _told(self, _snap, told: tuple) -> None:
        self._key, self._held, self._story = told

    def _age_off_loop(self, snapshots: Mapping[str, object], now: float, key: tuple) -> bool:
        """Only the clock moved on (the age of stale data, or a layer's data grew old enough to be
        stale): tell it again in a thread, then show it (on_aged for an age, on_change when a layer
        turned stale or fresh). False without a running loop: then it is told right away."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._aging is None or self._aging.done():
            self._aging = loop.create_task(self._age(dict(snapshots), now, key))
        return True

    async def _age(self, snapshots: dict, now: float, key: tuple) -> None:
        runs, silences = key[3], key[4]
        story = await asyncio.to_thread(tell, snapshots, now, runs, silences)
        last = self._key
        if last is not None and _same_but_clock(key, last):  # nothing newer was told meanwhile
            self._key, self._held, self._story = key, tuple(sorted(snapshots.items())), story
            if key[1] != last[1]:
                self.on_change()  # a layer turned stale: its incidents, not only the ages
            else:
                self.on_aged()


def _key(snapshots: Mapping[str, object], now: float, runs: tuple, silences: tuple) -> tuple[tuple, tuple]:
    """(the snapshots in order, what the story depends on): only staleness, and the age it
    reports, depends on the clock, so with stale data the story is told once a second."""
    snaps = tuple(sorted(snapshots.items()))
    stale = tuple(bool(s is not None and s.is_stale(now)) for _, s in snaps)
    return snaps, (tuple((k, id(s)) for k, s in snaps), stale, int(now) if any(stale) else None, runs, silences)


def _same_but_clock(key: tuple, last: tuple) -> bool:
    """The same snapshots, runs and silences: only what the clock decides differs (which layers
    are stale, and the second of their ages)."""
    return key[0] == last[0] and key[3:] == last[3:]


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
                             wall=getattr(owner, "wall_clock", time.time), on_change=lambda: _rerender(owner),
                             on_aged=lambda: _restatus(owner))
        owner._story_keeper = keeper
    hub = getattr(owner, "hub", None)
    if hub is not None and hasattr(hub, "derive"):
        keeper.follow(hub)
    return keeper


def _restatus(owner) -> None:
    """Stale data's age moved on: the live screen's header, tiles and banners show it."""
    _on_screen(owner, "update_status", owner.clock())


def _rerender(owner) -> None:
    """A re-read brought a new run or silence: the live screen renders again."""
    _on_screen(owner, "refresh_data")


def _on_screen(owner, method: str, *args) -> None:
    """Call `method` of the live screen, if there is one (duck-typed: no Textual here)."""
    try:
        screen = owner.screen
    except Exception:  # noqa: BLE001 - no screen (tearing down): nothing to show
        return
    call = getattr(screen, method, None)
    if callable(call):
        call(*args)
