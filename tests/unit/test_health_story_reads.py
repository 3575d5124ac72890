"""StoryKeeper re-reads maintenance runs and silences in a worker thread, not on the event loop."""

from __future__ import annotations

import asyncio
import threading

from console.health_story import REREAD_SECONDS, StoryKeeper


class Reads:
    def __init__(self):
        self.threads: list[int] = []
        self.runs: list = []
        self.silences: list = []

    def read_runs(self, cluster):
        self.threads.append(threading.get_ident())
        return list(self.runs)

    def read_silences(self, cluster):
        return list(self.silences)


def test_rereads_run_off_the_event_loop_and_announce_a_change():
    reads, t, changes = Reads(), [0.0], []

    async def go():
        loop_thread = threading.get_ident()
        k = StoryKeeper("home", clock=lambda: t[0], read_runs=reads.read_runs, read_silences=reads.read_silences,
                        on_change=lambda: changes.append(k.context()))
        assert k.context() == ((), ())  # the first read: at once, so the first screen is complete
        assert reads.threads == [loop_thread]
        reads.runs.append("run-1")
        t[0] += REREAD_SECONDS / 2
        k.context()
        assert len(reads.threads) == 1  # fresh enough: no read at all
        t[0] += REREAD_SECONDS
        assert k.context() == ((), ())  # due: the last context now, the new one when the thread is back
        assert k.context() == ((), ())  # one re-read at a time
        for _ in range(200):
            if changes:
                break
            await asyncio.sleep(0.01)
        assert len(reads.threads) == 2 and reads.threads[1] != loop_thread
        assert changes == [(("run-1",), ())] and k.context() == (("run-1",), ())
        t[0] += REREAD_SECONDS
        k.context()
        await asyncio.sleep(0.1)
        assert len(changes) == 1  # nothing new: no re-render

    asyncio.run(go())


def test_without_an_event_loop_reads_are_made_at_once():
    reads, t = Reads(), [0.0]
    k = StoryKeeper("home", clock=lambda: t[0], read_runs=reads.read_runs, read_silences=reads.read_silences)
    k.context()
    reads.silences.append("s")
    t[0] += REREAD_SECONDS
    assert k.context() == ((), ("s",))


def test_a_new_run_or_silence_is_told_into_the_story_off_the_event_loop(monkeypatch):
    """A re-read that brings something new: the story of the snapshots on display is told again
    with it in the worker thread, and the screen (on_change) finds it ready."""
    import console.health_story as hs
    from console.poller import Snapshot

    reads, t, told, changes = Reads(), [0.0], [], []

    def tell(snapshots, now, runs, silences):
        told.append((threading.get_ident(), runs))
        return ("story", runs)

    monkeypatch.setattr(hs, "tell", tell)
    snaps = {"proxmox": Snapshot("proxmox", None, ok_at=0.0)}

    async def go():
        loop_thread = threading.get_ident()
        k = StoryKeeper("home", clock=lambda: t[0], read_runs=reads.read_runs, read_silences=reads.read_silences,
                        on_change=lambda: changes.append(k.story(snaps, t[0])))
        assert k.story(snaps, t[0]) == ("story", ())
        reads.runs.append("run-1")
        t[0] += REREAD_SECONDS
        k.story(snaps, t[0])  # due: the re-read starts
        for _ in range(200):
            if changes:
                break
            await asyncio.sleep(0.01)
        assert changes == [("story", ("run-1",))]
        assert told[1:] == [(told[1][0], ("run-1",))] and told[1][0] != loop_thread  # told once, in a thread

    asyncio.run(go())
