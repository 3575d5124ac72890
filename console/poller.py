"""One Poller per source -> Snapshot; the Hub keeps the latest of each.

A poll never overlaps its predecessor (the next one is scheduled after the
previous one ends), a failing source keeps its last good data (marked stale)
and backs off exponentially up to BACKOFF_INTERVALS intervals (so a layer that
recovers is seen again soon), and no source ever waits for another.

Blocking library calls run on daemon threads (console/thread_pool.py): a call
stuck in a socket can neither delay another source nor keep the process alive
at exit.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from console.errors import ConsoleError, plain_reason
from console.layers import SOURCE_NAMES
from console.thread_pool import ensure_thread_pool

T = TypeVar("T")
log = logging.getLogger(__name__)

SOURCES = SOURCE_NAMES  # console/layers.py
BACKOFF_INTERVALS = 3  # a failing source is retried at least every 3 intervals


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[T]):
    source: str
    data: T | None = None  # last good data, kept after failures
    ok_at: float | None = None  # clock() of the last success
    error: str | None = None  # last failure; None once healthy
    latency: float | None = None  # seconds the last poll took
    interval: float = 2.0
    configured: bool = True  # False: the layer is not in the config
    polled_at: float | None = None  # clock() of the last attempt

    def age(self, now: float) -> float | None:
        return None if self.ok_at is None else max(0.0, now - self.ok_at)

    def is_stale(self, now: float) -> bool:
        """Failed last time, or older than three intervals."""
        if self.error is not None:
            return True
        age = self.age(now)
        return age is not None and age > 3 * self.interval

    @property
    def loading(self) -> bool:
        return self.configured and self.ok_at is None and self.error is None


def describe_error(exc: BaseException, source: str, timeout: float) -> str:
    """One readable line for a failed poll: never a Python exception class name."""
    if isinstance(exc, ConsoleError):
        return str(exc)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return f"{source}: no answer within {timeout:g} s (check that it is reachable)"
    log.debug("%s: failure outside the known kinds", source, exc_info=exc)
    return f"{source}: {plain_reason(exc)}"


class Poller(Generic[T]):
    def __init__(
        self,
        source: str,
        fetch: Callable[[], Awaitable[T]],
        interval: float = 2.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        max_backoff: float | None = None,
    ):
        self.source = source
        self.fetch = fetch
        self.interval = interval
        self.timeout = timeout
        self.clock = clock
        self.max_backoff = BACKOFF_INTERVALS * interval if max_backoff is None else max_backoff
        self.failures = 0
        self.latest: Snapshot[T] = Snapshot(source, interval=interval)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    async def poll_once(self) -> Snapshot[T]:
        async with self._lock:  # a poll never overlaps its own previous one
            started = self.clock()
            try:
                async with asyncio.timeout(self.timeout):
                    data = await self.fetch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure becomes a stale snapshot
                self.failures += 1
                message = describe_error(exc, self.source, self.timeout)
                if self.failures == 1 or log.isEnabledFor(logging.DEBUG):
                    log.warning("poll failed: %s", message)
                self.latest = replace(self.latest, error=message, latency=self.clock() - started, polled_at=started)
            else:
                if self.failures:
                    log.info("%s: recovered after %d failed polls", self.source, self.failures)
                self.failures = 0
                now = self.clock()
                self.latest = Snapshot(self.source, data, now, None, now - started, self.interval, True, started)
            return self.latest

    def next_delay(self) -> float:
        if not self.failures:
            return self.interval
        return min(self.max_backoff, self.interval * 2 ** min(self.failures, 10))

    @property
    def busy(self) -> bool:
        """A poll is under way (its answer may be being decoded in a thread)."""
        return self._lock.locked()

    def poke(self) -> None:
        """Poll again now instead of waiting out the interval (ctrl-r)."""
        self._wake.set()

    @property
    def refresh_requested(self) -> bool:
        """poke() was called and the poll it asked for has not started yet."""
        return self._wake.is_set()

    async def run(self, publish: Callable[[Snapshot[T]], Any]) -> None:
        while True:
            published = publish(await self.poll_once())
            if inspect.isawaitable(published):  # Hub.publish_derived: derived work in a thread first
                await published
            self._wake.clear()
            try:
                async with asyncio.timeout(self.next_delay()):
                    await self._wake.wait()
            except TimeoutError:
                pass


# blocking, pure work on (previous, new snapshot, every latest snapshot with the new one) -> result
DeriveWork = Callable[[Snapshot | None, Snapshot, Mapping[str, Snapshot]], Any]
Deriver = tuple[DeriveWork, Callable[[Snapshot, Any], Any]]


_FAILED = object()


def _derive_all(derivers: list[Deriver], prev: Snapshot | None, snap: Snapshot,
                snapshots: Mapping[str, Snapshot]) -> dict[int, Any]:
    """Blocking: id(deriver) -> its work's result on one snapshot (_FAILED, logged, if it raised)."""
    out: dict[int, Any] = {}
    for d in derivers:
        try:
            out[id(d)] = d[0](prev, snap, snapshots)
        except Exception:  # noqa: BLE001 - one bad deriver must not stop the others
            log.exception("derived work failed for %s", snap.source)
            out[id(d)] = _FAILED
    return out


class Hub:
    """Latest snapshot per source, and the subscribers to tell.

    Work derived from each snapshot (the events diff, the health story) is registered with
    derive(): while polling, all of it runs in one worker thread per snapshot, one snapshot at a
    time, and its results are applied on the loop before the subscribers are told."""

    def __init__(self, pollers: list[Poller] | None = None, unconfigured: tuple[str, ...] = ()):
        self.pollers = {p.source: p for p in pollers or []}
        self.snapshots: dict[str, Snapshot] = {p.source: p.latest for p in pollers or []}
        for name in unconfigured:
            self.snapshots[name] = Snapshot(name, configured=False)
        self._subscribers: list[Callable[[Snapshot], Any]] = []
        self._derivers: list[Deriver] = []
        self._derive_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    @property
    def busy(self) -> bool:
        """A poll or the derived work of a snapshot is under way."""
        return self._derive_lock.locked() or any(p.busy for p in self.pollers.values())

    def subscribe(self, callback: Callable[[Snapshot], Any]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def derive(self, work: DeriveWork, apply: Callable[[Snapshot, Any], Any]) -> Callable[[], None]:
        """`work(previous, snap, snapshots)` must only read the frozen snapshots it is given (it runs
        in a worker thread); `apply(snap, result)` runs on the loop, before the subscribers."""
        pair = (work, apply)
        self._derivers.append(pair)
        return lambda: self._derivers.remove(pair) if pair in self._derivers else None

    async def publish_derived(self, snap: Snapshot) -> None:
        """publish(), with the derived work done in a worker thread instead of on the event loop."""
        async with self._derive_lock:  # one at a time: each one's work sees what the one before left
            derived = None
            if self._derivers:
                derived = await asyncio.to_thread(_derive_all, list(self._derivers), self.snapshots.get(snap.source),
                                                  snap, {**self.snapshots, snap.source: snap})
            self.publish(snap, derived)

    def publish(self, snap: Snapshot, derived: dict[int, Any] | None = None) -> None:
        derivers = list(self._derivers)
        missing = [d for d in derivers if derived is None or id(d) not in derived]
        if missing:  # headless, a test, or registered while the thread ran: the derived work right here
            derived = {**(derived or {}), **_derive_all(missing, self.snapshots.get(snap.source), snap,
                                                        {**self.snapshots, snap.source: snap})}
        self.snapshots[snap.source] = snap
        for d in derivers:  # only those still registered: a detached one gets nothing
            result = derived[id(d)] if derived is not None else _FAILED
            if result is _FAILED:
                continue
            try:
                d[1](snap, result)
            except Exception:  # noqa: BLE001 - as for subscribers
                log.exception("applying derived work failed for %s", snap.source)
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                log.exception("subscriber failed for %s", snap.source)

    async def poll_all_once(self) -> dict[str, Snapshot]:
        """One concurrent round of every source (for `labconsole check`)."""
        ensure_thread_pool()
        snaps = await asyncio.gather(*(p.poll_once() for p in self.pollers.values()))
        for snap in snaps:
            self.publish(snap)
        return dict(self.snapshots)

    def start(self) -> None:
        ensure_thread_pool()
        for p in self.pollers.values():
            self._tasks.append(asyncio.create_task(p.run(self.publish_derived), name=f"poll-{p.source}"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def refresh(self) -> None:
        for p in self.pollers.values():
            p.poke()
