"""The slow reports as pollers (console/sources/reports.py): one per report whose source is
configured, its source's timeout, a first read that waits unless asked for, and an answer of
an unreadable shape said in words."""

from __future__ import annotations

import asyncio

import pytest

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.layers import REPORTS
from console.sources import reports


class FakeSources:
    def __init__(self, **by_name):
        self.by_name = by_name

    def get(self, name):
        return self.by_name.get(name)


def test_one_poller_per_report_through_a_configured_source_with_its_timeout():
    cluster = ClusterConfig(name="lab")
    assert reports.report_pollers(FakeSources(), cluster, lambda name: 5.0) == []  # no Proxmox: no report
    pollers = reports.report_pollers(FakeSources(proxmox=object()), cluster, {"proxmox": 7.0}.get)
    assert [p.source for p in pollers] == [r.name for r in REPORTS] == ["backups", "repos"]
    assert all(p.timeout == 7.0 and p.interval == 300.0 for p in pollers)


async def test_the_first_read_waits_unless_poked():
    async def fetch():
        return "report"

    seen: list = []
    lazy = reports.ReportPoller("backups", fetch, interval=300.0, timeout=1.0)
    lazy.FIRST_READ_AFTER = 0.3
    task = asyncio.create_task(lazy.run(seen.append))
    await asyncio.sleep(0.1)
    assert seen == []  # the sources' start-up reads go first
    await asyncio.sleep(0.4)
    assert [s.data for s in seen] == ["report"]
    task.cancel()

    seen.clear()
    eager = reports.ReportPoller("backups", fetch, interval=300.0, timeout=1.0)  # 5 s unless poked
    task = asyncio.create_task(eager.run(seen.append))
    await asyncio.sleep(0.05)
    eager.poke()  # ctrl+r, or the Backups view opened
    await asyncio.sleep(0.1)
    assert [s.data for s in seen] == ["report"]
    task.cancel()


async def test_an_answer_of_an_unreadable_shape_is_said_in_words():
    async def broken():
        row: dict | None = None  # what a malformed answer gives a parser
        return row["vmid"]  # type: ignore[index]

    with pytest.raises(ConsoleError) as err:
        await reports._readable("backups", broken())
    assert "shape the report cannot read" in err.value.message
    assert "NoneType" not in str(err.value) and "TypeError" not in str(err.value)


async def test_a_round_reads_the_sources_then_the_due_reports_through_one_that_answered():
    from console.poller import Hub, Poller, Snapshot

    order: list[str] = []
    failing = {"proxmox": False}

    def fetcher(name):
        async def fetch():
            order.append(name)
            if failing.get(name):
                raise ConsoleError(name, "cannot connect")
            return name
        return fetch

    hub = Hub([Poller("proxmox", fetcher("proxmox")), Poller("ceph", fetcher("ceph")),
               reports.ReportPoller("backups", fetcher("backups"), interval=300.0)])
    snaps = await reports.poll_round(hub)
    assert sorted(order[:2]) == ["ceph", "proxmox"] and order[2:] == ["backups"]  # the report after the sources
    assert snaps["backups"].data == "backups"
    order.clear()
    await reports.poll_round(hub)
    assert "backups" not in order  # read less than its interval ago: not due
    hub.pollers["backups"].latest = Snapshot("backups")  # as if never read
    failing["proxmox"] = True
    order.clear()
    snaps = await reports.poll_round(hub)
    assert "backups" not in order and snaps["backups"].error is None  # its source did not answer: not asked
