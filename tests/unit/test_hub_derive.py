"""Work derived from each snapshot (Hub.derive) runs in a worker thread while polling, its result
is applied on the loop before the subscribers hear of the snapshot, and the TUI's two users of
it (the event recorder, the health story) read what the thread made."""

from __future__ import annotations

import asyncio
import threading

import console.health_story as hs
from console.event_recorder import EventRecorder
from console.event_store import EventLog
from console.health_story import StoryKeeper
from console.model import Guest, ProxmoxState
from console.poller import Hub, Poller, Snapshot


def _pve(status: str) -> ProxmoxState:
    guest = Guest(vmid=101, name="web", node="pve1", type="qemu", status=status)
    return ProxmoxState(cluster_name="lab", quorate=True, votes=1, expected_votes=1, nodes=(), guests=(guest,))


async def _one_poll(hub: Hub, poller: Poller) -> None:
    await hub.publish_derived(await poller.poll_once())


async def test_derived_work_runs_off_the_loop_and_is_applied_before_subscribers():
    loop_thread = threading.get_ident()
    seen: list = []

    async def fetch():
        return _pve("running")

    poller = Poller("proxmox", fetch)
    hub = Hub([poller])
    hub.derive(lambda prev, snap, snaps: (threading.get_ident(), prev.data, snaps["proxmox"] is snap),
               lambda snap, result: seen.append(("applied", threading.get_ident(), result)))
    hub.subscribe(lambda snap: seen.append(("told", threading.get_ident(), snap.data.guests[0].status)))
    await _one_poll(hub, poller)
    (what, apply_thread, (work_thread, prev_data, sees_new)), told = seen
    assert what == "applied" and told == ("told", loop_thread, "running")
    assert apply_thread == loop_thread and work_thread != loop_thread
    assert prev_data is None and sees_new  # the work sees the previous snapshot and the new set


async def test_a_failing_or_detached_deriver_gets_nothing_and_the_others_go_on():
    applied: list = []

    async def fetch():
        return _pve("running")

    poller = Poller("proxmox", fetch)
    hub = Hub([poller])
    hub.derive(lambda *a: 1 / 0, lambda snap, result: applied.append("broken"))
    stop = hub.derive(lambda *a: "x", lambda snap, result: applied.append("detached"))
    hub.derive(lambda *a: "ok", lambda snap, result: applied.append(result))
    stop()
    told: list = []
    hub.subscribe(told.append)
    await _one_poll(hub, poller)
    assert applied == ["ok"] and len(told) == 1


async def test_events_are_derived_in_the_thread_and_recorded(tmp_path):
    states = iter([_pve("running"), _pve("stopped")])

    async def fetch():
        return next(states)

    poller = Poller("proxmox", fetch)
    hub = Hub([poller])
    recorder = EventRecorder.attach(hub, "lab", lambda: 1000.0, log=EventLog(tmp_path / "events.jsonl"))
    threads: list[int] = []
    between = recorder.events_between
    recorder.events_between = lambda prev, snap: threads.append(threading.get_ident()) or between(prev, snap)
    await _one_poll(hub, poller)
    await _one_poll(hub, poller)
    assert threads and threading.get_ident() not in threads
    assert any(e.subject.endswith("101") or "web" in e.text for e in recorder.log.ring), recorder.log.ring
    recorder.detach()


async def test_the_story_of_each_snapshot_is_told_ahead_in_the_thread(monkeypatch):
    told_in: list[int] = []

    async def fetch():
        return _pve("running")

    poller = Poller("proxmox", fetch)
    hub = Hub([poller])
    keeper = StoryKeeper("lab", clock=lambda: 0.0, read_runs=lambda c: [], read_silences=lambda c: [])
    keeper.context()  # the first read, as the first screen makes it
    keeper.follow(hub)
    real = hs.tell
    monkeypatch.setattr(hs, "tell", lambda *a: told_in.append(threading.get_ident()) or real(*a))
    await _one_poll(hub, poller)
    story = keeper.story(hub.snapshots, 0.0)
    assert len(told_in) == 1 and told_in[0] != threading.get_ident()  # told once, in the worker thread
    assert story.sources["proxmox"].summary == real(dict(hub.snapshots), 0.0).sources["proxmox"].summary


async def test_a_stale_layers_age_moves_on_off_the_loop():
    t = [0.0]
    aged: list = []
    snaps = {"proxmox": Snapshot("proxmox", _pve("running"), ok_at=0.0, interval=2.0)}
    keeper = StoryKeeper("lab", clock=lambda: t[0], read_runs=lambda c: [], read_silences=lambda c: [],
                         on_aged=lambda: aged.append(t[0]))
    t[0] = 10.0
    first = keeper.story(snaps, t[0])
    assert "10 s old" in first.sources["proxmox"].summary
    t[0] = 11.0
    assert keeper.story(snaps, t[0]) is first  # last second's story while this second's is told in a thread
    for _ in range(100):
        if aged:
            break
        await asyncio.sleep(0.01)
    assert aged == [11.0]
    assert "11 s old" in keeper.story(snaps, t[0]).sources["proxmox"].summary


async def test_a_layer_turning_stale_by_the_clock_is_told_off_the_loop_and_rerenders(monkeypatch):
    """No new snapshot, only time: the data grew older than three intervals. The story saying so is
    told in a worker thread; meanwhile the last one is shown; on its return the screen renders again
    (on_change: the incidents change, not only an age)."""
    t = [0.0]
    changed: list = []
    aged: list = []
    snaps = {"proxmox": Snapshot("proxmox", _pve("running"), ok_at=0.0, interval=2.0)}
    keeper = StoryKeeper("lab", clock=lambda: t[0], read_runs=lambda c: [], read_silences=lambda c: [],
                         on_change=lambda: changed.append(t[0]), on_aged=lambda: aged.append(t[0]))
    fresh = keeper.story(snaps, t[0])
    told_in: list[int] = []
    real = hs.tell
    monkeypatch.setattr(hs, "tell", lambda *a: told_in.append(threading.get_ident()) or real(*a))
    t[0] = 7.0
    assert keeper.story(snaps, t[0]) is fresh  # the fresh story until the stale one is back from the thread
    for _ in range(100):
        if changed:
            break
        await asyncio.sleep(0.01)
    assert changed == [7.0] and aged == []
    assert told_in and threading.get_ident() not in told_in
    assert "7 s old" in keeper.story(snaps, t[0]).sources["proxmox"].summary
