"""console/collector.py: rarer automatic full collections, and full collections made at quiet moments."""

from __future__ import annotations

import gc
import threading

from console.collector import FULL_THRESHOLD, QUIET_EVERY, Collector


def test_tune_makes_automatic_full_collections_rarer_and_restore_puts_the_thresholds_back():
    before = gc.get_threshold()
    c = Collector()
    try:
        c.tune()
        assert gc.get_threshold() == (before[0], before[1], max(FULL_THRESHOLD, before[2]))
    finally:
        c.restore()
    assert gc.get_threshold() == before


def test_a_full_collection_when_due_and_nobody_busy_preferably_between_polls():
    t = [0.0]
    c = Collector(clock=lambda: t[0])
    full: list[int] = []

    def seen(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(threading.get_ident())

    gc.callbacks.append(seen)
    try:
        t[0] = QUIET_EVERY / 2
        assert not c.tick(busy=False) and full == []  # too soon after the last one
        t[0] = QUIET_EVERY
        assert not c.tick(busy=True) and full == []  # due, but the operator types or waits on a batch
        assert not c.tick(busy=False, polling=True) and full == []  # a poll is under way: a moment later
        assert c.tick(busy=False) and full == [threading.get_ident()] and c.collections == 1
        t[0] += QUIET_EVERY
        assert c.tick(busy=False, polling=True) is False  # due again, a poll under way
        t[0] += QUIET_EVERY
        assert c.tick(busy=False, polling=True) and len(full) == 2  # twice overdue: polls or not
    finally:
        gc.callbacks.remove(seen)


def test_automatic_full_collections_are_held_while_work_goes_on_for_a_bounded_time():
    from console.collector import HELD, HOLD_AT_MOST

    before = gc.get_threshold()
    t = [0.0]
    c = Collector(clock=lambda: t[0])
    c.hold(True)
    assert gc.get_threshold() == before and not c.holding  # not tuned: the process's thresholds are left alone
    c.tune()
    try:
        c.hold(True)  # a batch starts
        assert c.holding and gc.get_threshold()[2] == HELD
        t[0] = HOLD_AT_MOST / 2
        c.hold(True)
        assert c.holding
        c.hold(False)  # it ended: the backstop again
        assert not c.holding and gc.get_threshold()[2] == max(FULL_THRESHOLD, before[2])
        c.hold(True)
        t[0] += HOLD_AT_MOST + 1  # a run longer than the hold may last
        c.hold(True)
        assert not c.holding and gc.get_threshold()[2] == max(FULL_THRESHOLD, before[2])
        c.hold(True)
        assert not c.holding  # until it ends
        c.hold(False)
        c.hold(True)
        assert c.holding  # the next one is held again
    finally:
        c.restore()
    assert gc.get_threshold() == before
