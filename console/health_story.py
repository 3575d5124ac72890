"""The current Story of a cluster for the live console: computed once per new snapshot set
(and once a second while a source is stale), shared by the header, the Health screen and every
banner, so that they cannot disagree. Maintenance runs and silences are re-read from
the state dir at most every REREAD_SECONDS (a directory listing and a small JSON file).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

from console.errors import ConsoleError
from console.incidents import Story, tell

log = logging.getLogger(__name__)
REREAD_SECONDS = 2.0  # one poll interval: a run that stops shows within one


class StoryKeeper:
    def __init__(self, cluster: str, clock: Callable[[], float] = time.monotonic,
                 read_runs: Callable[[str], list] | None = None, read_silences: Callable[[str], list] | None = None,
                 wall: Callable[[], float] = time.time):
        self.cluster = cluster
        self.clock = clock
        self.wall = wall  # epoch time: silences expire by it
        self._read_runs = read_runs or _runs
        self._read_silences = read_silences or (lambda c: _silences(c, self.wall()))
        self._context: tuple = ((), ())
        self._context_at: float | None = None
        self._key: tuple | None = None
        self._story: Story | None = None

    def context(self) -> tuple:
        """(runs, silences), re-read when older than REREAD_SECONDS."""
        t = self.clock()
        if self._context_at is None or t - self._context_at >= REREAD_SECONDS:
            self._context = (tuple(self._read_runs(self.cluster)), tuple(self._read_silences(self.cluster)))
            self._context_at = t
        return self._context

    def invalidate(self) -> None:
        """A silence was added or removed, a run started: read again on the next call."""
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
                             wall=getattr(owner, "wall_clock", time.time))
        owner._story_keeper = keeper
    return keeper
