"""When CPython's garbage collector makes its full collections (issue 11: the TUI stays responsive,
no frame over 50 ms, while a batch of migrations runs).

A full collection scans every tracked object outside the set frozen at start-up: on the large lab
about 100,000 (the snapshots, the rows built of them, Textual's caches), 40-120 ms of CPU with the
GIL held, so a stall of the event loop in whichever thread it runs. CPython starts one when its
allocation counts run out: with the default thresholds every few seconds on a large cluster, mostly
in a poll's thread while it decodes a large answer (whose young objects it then scans too).
Freezing each snapshot as it arrives would keep it out of the scans, but would also freeze for good
the cyclic garbage Textual has not collected yet (measured on the large lab: 160,000 objects never
freed in two minutes), so instead:

- automatic full collections are made thirty times rarer (FULL_THRESHOLD): a backstop only; and
  while the operator types or something they wait on is under way (a batch of migrations, an
  action, a maintenance run: a worker), they are held altogether, for at most HOLD_AT_MOST
  seconds at a stretch (the garbage of that stretch waits for the next quiet moment);
- the console makes them itself, every QUIET_EVERY seconds, from its 1 s tick when no batch,
  action or maintenance run is under way and no key was pressed for QUIET_INPUT seconds
  (App._busy); preferably while no poll or derived work is under way either (its young objects
  would be scanned too), but once twice overdue regardless: on a large cluster polls are nearly
  always under way (large lab, load 14: none in flight in a fifth of the tick's samples, and with
  the tick waiting for such a moment the backstop came first twice in 90 s, 181 ms of CPU in a
  poll thread). Such a collection still holds the loop for as long as it takes (large lab, idle,
  load 14-18 on 2 cores: 56-119 ms of CPU), but while nobody types or waits on an action.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_THRESHOLD = 300  # gen-1 collections before an automatic full one (CPython's default: 10)
QUIET_EVERY = 30.0  # s between the console's own full collections
QUIET_INPUT = 2.0  # s without a key before a moment counts as quiet (a pause then is not felt)
HOLD_AT_MOST = 60.0  # s automatic full collections may be held while work is under way
HELD = 1_000_000  # the gen-2 threshold while held: no automatic full collection


class Collector:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_full = clock()
        self.collections = 0  # full collections made at quiet moments
        self._saved: tuple[int, ...] | None = None
        self._frozen = False
        self._held_since: float | None = None

    def tune(self) -> None:
        """Rarer automatic full collections (the thresholds are the process's: restore() puts them back)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            self._full_after(FULL_THRESHOLD)

    def _full_after(self, middle_collections: int) -> None:
        assert self._saved is not None
        gc.set_threshold(self._saved[0], self._saved[1], max(middle_collections, self._saved[2]))

    def restore(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            self._held_since = None

    def freeze_start_up(self) -> None:
        """Once, when the first data has arrived: what start-up made (modules, the App, its first
        screen) lives as long as the process and leaves the collector's scans."""
        if not self._frozen:
            self._frozen = True
            gc.freeze()

    def hold(self, busy: bool) -> None:
        """Work the operator waits on is under way (`busy`), or no longer: automatic full collections
        are held meanwhile, for at most HOLD_AT_MOST seconds at a stretch."""
        if self._saved is None:
            return
        now = self.clock()
        if not busy:
            if self._held_since is not None:
                self._held_since = None
                self._full_after(FULL_THRESHOLD)
        elif self._held_since is None:
            self._held_since = now
            self._full_after(HELD)
        elif now - self._held_since > HOLD_AT_MOST:
            self._full_after(FULL_THRESHOLD)  # a long run: the backstop again, until it ends

    @property
    def holding(self) -> bool:
        return self._saved is not None and gc.get_threshold()[2] >= HELD

    def tick(self, busy: bool, polling: bool = False) -> bool:
        """Hold or release automatic full collections (hold), and make one now if one is due and
        the operator is not busy: preferably while no poll is under way (its answer being decoded
        would be scanned too), else once it is overdue; True if it was made."""
        self.hold(busy)
        now = self.clock()
        since = now - self.last_full
        if busy or since < QUIET_EVERY or (polling and since < 2 * QUIET_EVERY):
            return False
        gc.collect()
        self.last_full = now
        self.collections += 1
        return True
