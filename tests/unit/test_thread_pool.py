"""console/thread_pool.py: the sources' daemon threads; a small hot set does the work, idle ones end."""

from __future__ import annotations

import threading
import time

from console.thread_pool import DaemonPool


def _wait_until(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_calls_one_after_another_run_on_the_thread_that_was_idle_last():
    pool = DaemonPool(max_workers=8, idle_exit=30)
    try:
        names = {pool.submit(lambda: threading.current_thread().name).result(timeout=5) for _ in range(20)}
        assert len(names) == 1
        assert pool.alive == 1
    finally:
        pool.shutdown()


def test_a_burst_gets_a_thread_per_call_up_to_the_limit_and_the_rest_waits():
    pool = DaemonPool(max_workers=4, idle_exit=30)
    gate = threading.Event()
    running = []
    lock = threading.Lock()

    def call(i):
        with lock:
            running.append(i)
        gate.wait(5)
        return i

    try:
        futures = [pool.submit(call, i) for i in range(6)]
        assert _wait_until(lambda: len(running) == 4)
        time.sleep(0.1)
        assert len(running) == 4 and pool.alive == 4  # two wait for a thread
        gate.set()
        assert [f.result(timeout=5) for f in futures] == list(range(6))
    finally:
        pool.shutdown()


def test_a_thread_idle_for_idle_exit_ends_and_a_later_call_starts_one_again():
    pool = DaemonPool(max_workers=4, idle_exit=0.2)
    gate = threading.Event()
    try:
        futures = [pool.submit(gate.wait, 5) for _ in range(3)]
        assert _wait_until(lambda: pool.alive == 3)
        gate.set()
        assert all(f.result(timeout=5) for f in futures)
        assert _wait_until(lambda: pool.alive == 0)
        assert pool.submit(lambda: 42).result(timeout=5) == 42
    finally:
        pool.shutdown()


def test_a_failing_call_hands_its_exception_to_the_caller():
    pool = DaemonPool(max_workers=2)
    try:
        future = pool.submit(int, "not a number")
        assert isinstance(future.exception(timeout=5), ValueError)
        assert pool.submit(int, "7").result(timeout=5) == 7
    finally:
        pool.shutdown()


def test_shutdown_ends_idle_threads_and_refuses_new_work():
    pool = DaemonPool(max_workers=4, idle_exit=60)
    assert pool.submit(lambda: 1).result(timeout=5) == 1
    pool.shutdown()
    assert _wait_until(lambda: pool.alive == 0)
    try:
        pool.submit(lambda: 2)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a pool that was shut down took new work")
