"""spark(), RRD row validation and the History rings (no network)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.history import History
from console.poller import Hub, Snapshot
from console.sources.proxmox_rrd import parse_rrd
from console.sources.shape import ShapeError
from tests.tui.fixtures import seed_ceph
from widgets.sparkline import BLOCKS, spark


def test_spark_scales_to_the_range_and_keeps_the_newest_on_the_right():
    assert spark([0, 1, 2, 3, 4, 5, 6, 7], 8) == BLOCKS
    assert spark([0, 7], 4) == "  ▁█"  # padded on the left
    assert spark(range(100), 5) == "▁▃▅▆█"  # the newest five (95..99), on their own range
    assert spark([5, 5, 5], 3) == "▁▁▁"  # flat is flat, not a spike
    assert spark([], 4) == "    " and spark([1, 2], 0) == ""


def test_spark_gaps_fixed_scale_and_squeeze():
    assert spark([0.0, None, float("nan"), 1.0], 4) == "▁  █"
    assert spark([0.5, 0.5], 2, lo=0.0, hi=1.0) == "▅▅"  # a fixed scale: half-way is half-way
    assert spark([0.0, 1.0], 2, lo=0.0, hi=2.0) == "▁▅"
    squeezed = spark([0] * 35 + [7] * 35, 2, squeeze=True)
    assert squeezed == "▁█" and len(spark(range(70), 10, squeeze=True)) == 10
    assert all(len(spark([1, 2, 3] * k, 6)) == 6 for k in range(5))


def test_rrd_values_are_validated_and_gaps_kept():
    rows = [{"time": 120, "cpu": 0.5, "memused": 4, "memtotal": 16, "netin": 10, "netout": 5},
            {"time": 60, "cpu": "0.2", "memused": 1, "memtotal": 0, "netout": 5},
            {"time": 180}]
    s = parse_rrd(rows)
    assert s.times == (60, 120, 180)  # sorted
    assert s.cpu == (0.2, 0.5, None) and s.mem == (None, 0.25, None)  # a row with only time is a gap
    assert s.netin == (None, 10.0, None) and s.net == (None, 15.0, None)
    g = parse_rrd([{"time": 1, "cpu": 7, "mem": 2, "maxmem": 4, "diskread": 1, "diskwrite": 2}], guest=True)
    assert g.cpu == (1.0,) and g.mem == (0.5,) and g.disk == (3.0,)
    bad = {"got an object": {"not": "a list"}, "item 1": [{"time": 1}, "junk"], "time": [{"cpu": 0.1}],
           "[0].cpu": [{"time": 1, "cpu": float("nan")}], "[0].netin": [{"time": 1, "netin": "fast"}],
           "[0].memused": [{"time": 1, "memused": -5}]}
    for words, answer in bad.items():
        with pytest.raises(ShapeError) as err:
            parse_rrd(answer, where="proxmox /nodes/pve1/rrddata")
        assert words in str(err.value) and "proxmox /nodes/pve1/rrddata" in str(err.value)


def test_ceph_rates_ring_takes_one_sample_per_successful_poll():
    hub = Hub()
    history = History.attach(hub)
    ceph = seed_ceph()
    hub.publish(Snapshot("ceph", ceph, ok_at=1.0))
    hub.publish(Snapshot("ceph", ceph, ok_at=1.0, error="timeout"))  # a failed poll keeps the old data
    faster = replace(ceph, rates=replace(ceph.rates, write_bytes_sec=9 * 1024 ** 2, recovering_bytes_per_sec=1000))
    hub.publish(Snapshot("ceph", faster, ok_at=3.0))
    assert list(history.ceph_io) == [7 * 1024 ** 2, 11 * 1024 ** 2]
    assert list(history.ceph_recovery) == [0, 1000]
    assert history.node_series("pve1") is None  # no Proxmox source: no RRD


def test_history_lines_for_the_guest_pane_and_the_ceph_summary():
    from widgets.history_cells import ceph_history_line, guest_history_lines, node_history_cells

    g = parse_rrd([{"time": t, "cpu": t / 400, "mem": t, "maxmem": 400, "netin": 1024 * t, "netout": 0,
                    "diskread": 0, "diskwrite": 2048} for t in range(60, 300, 60)], guest=True)
    lines = guest_history_lines(g, width=4)
    assert lines[0] == "cpu  ▂▃▄▅ 60%" and lines[1] == "mem  ▂▃▄▅ 60%"  # fractions on 0..100%
    assert lines[2] == "net  ▃▅▆█ 240K/s" and lines[3] == "disk ████ 2.0K/s"  # rates: 0 to their peak
    assert guest_history_lines(None) == ["history   loading…"]
    assert node_history_cells(None) == ("", "", "")
    assert ceph_history_line([5.0], [0.0]) is None  # one poll is no trend
    assert ceph_history_line([1024.0, 4096.0], [0.0, 0.0], width=4) == "client io ▃█ 4.0K/s"
    assert ceph_history_line([1.0, 2.0], [0.0, 2048.0], width=4).endswith("· recovery ▁█ 2.0K/s")


def test_guest_histories_kept_are_bounded_to_the_most_recently_read():
    import asyncio

    from console.sources.proxmox_rrd import RrdReader

    class Proxmox:
        def __init__(self):
            self.reads: list[str] = []

        async def _aget(self, path, **params):
            self.reads.append(path)
            return [{"time": 60, "cpu": 0.1, "mem": 1, "maxmem": 2}]

    async def walk():
        pve = Proxmox()
        reader = RrdReader(pve, clock=lambda: 0.0, guest_keep=3)
        for vmid in range(100, 110):  # the detail pane walks down ten guests
            assert await reader.refresh_guest("pve1", "qemu", vmid) is not None
        assert list(reader.guests) == ["qemu/107", "qemu/108", "qemu/109"]
        await reader.refresh_guest("pve1", "qemu", 108)  # still cached and fresh: not read again
        assert len(pve.reads) == 10 and list(reader.guests)[-1] == "qemu/108"
        await reader.refresh_guest("pve1", "qemu", 100)  # forgotten: read again when shown
        assert len(pve.reads) == 11 and list(reader.guests) == ["qemu/109", "qemu/108", "qemu/100"]

    asyncio.run(walk())
