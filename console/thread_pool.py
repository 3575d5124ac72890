"""The threads the sources' blocking calls run on (asyncio's default executor, replaced).

Daemon threads: a call stuck in a socket can neither delay another source nor
keep the process alive at exit (ThreadPoolExecutor's threads are joined at
interpreter exit, so one stuck request would keep `labconsole check` alive long
after its timeout).

Up to 32 at once (asyncio's own default is min(32, cores + 4): 6 on a 2-core
machine, and eleven concurrent Traefik requests and the Proxmox and Docker calls
would queue behind each other). But each thread that ever ran a call keeps
glibc's per-thread cache of freed blocks (up to ~240 KB, which neither other
threads nor malloc_trim can reclaim): 32 threads kept ~7 MB on the large lab.
So work goes to the thread that became idle last (a small hot set does the
steady polling), and a thread idle for IDLE_EXIT seconds ends, handing its cache
back; a burst starts threads again (large lab, loaded machine: 17-19 threads
instead of 32; RSS ~123 instead of ~137 MB in a 10-minute soak).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

SHUTDOWN_WAIT = 0.5  # s the thread pool waits for running calls when the loop closes
IDLE_EXIT = 3.0  # s an idle thread waits for work before it ends (the busiest sources poll every 2 s)
WORKERS = 32


class _Slot:
    """An idle thread waiting for work handed to it (None on shutdown or timeout)."""

    __slots__ = ("item", "ready")

    def __init__(self) -> None:
        self.item: tuple | None = None
        self.ready = threading.Event()


class DaemonPool(ThreadPoolExecutor):
    """(A ThreadPoolExecutor subclass only because asyncio's set_default_executor insists on
    one: none of its machinery is used.)"""

    def __init__(self, max_workers: int = WORKERS, name: str = "source", idle_exit: float = IDLE_EXIT):
        super().__init__(max_workers=1)  # starts no thread
        self._max = max_workers
        self._name = name
        self._idle_exit = idle_exit
        self._lock = threading.Lock()
        self._backlog: deque[tuple] = deque()  # work no idle thread was there to take
        self._idle: list[_Slot] = []  # the thread idle last is last: it gets the next call
        self._threads: list[threading.Thread] = []  # type: ignore[assignment]  # ours, not the base's set
        self._started = 0
        self._shutdown = False

    @property
    def alive(self) -> int:
        """Threads that have not ended (read by tests and the benchmark)."""
        return sum(t.is_alive() for t in self._threads)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        item = (future, fn, args, kwargs)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            if self._idle:
                slot = self._idle.pop()
                slot.item = item
                slot.ready.set()
                return future
            self._backlog.append(item)
            self._threads = [t for t in self._threads if t.is_alive()]
            if len(self._threads) < self._max:
                t = threading.Thread(target=self._worker, name=f"{self._name}-{self._started}", daemon=True)
                self._started += 1
                self._threads.append(t)
                t.start()
        return future

    def _next(self, slot: _Slot) -> tuple | None:
        """Blocking: the next call for this thread, or None when it is to end."""
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            if self._shutdown:
                return None
            slot.item = None
            slot.ready.clear()
            self._idle.append(slot)
        slot.ready.wait(self._idle_exit)
        with self._lock:
            item, slot.item = slot.item, None
            if item is None:  # timed out, or shut down: off the idle list, unless work came meanwhile
                if slot in self._idle:
                    self._idle.remove(slot)
                if self._backlog and not self._shutdown:
                    return self._backlog.popleft()
            return item

    def _worker(self) -> None:
        slot = _Slot()
        while True:
            item = self._next(slot)
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del item, future, fn, args, kwargs  # nothing of a finished call stays referenced by an idle thread
            result = None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            idle, self._idle = self._idle, []
            threads = list(self._threads)
        for slot in idle:
            slot.ready.set()
        if wait:  # briefly: a thread stuck in a socket is abandoned (it is a daemon), not waited for
            deadline = time.monotonic() + SHUTDOWN_WAIT
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))


def ensure_thread_pool(workers: int = WORKERS) -> None:
    """Give the running loop enough threads for every source's blocking calls (DaemonPool)."""
    loop = asyncio.get_running_loop()
    if getattr(loop, "_labconsole_pool", False):
        return
    loop.set_default_executor(DaemonPool(max_workers=workers))
    loop._labconsole_pool = True  # type: ignore[attr-defined]
