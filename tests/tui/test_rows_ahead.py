"""While polling, the guests' rows of each new snapshot are built in the Hub's worker thread (with
the events diff and the health story), not on the event loop, and the table shows them."""

from __future__ import annotations

import threading
from dataclasses import replace

from widgets.fast_table import FastTable

from .helpers import poll


async def test_guest_rows_of_a_poll_are_built_off_the_loop(make_app, lab, monkeypatch):
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#guests", FastTable)
        assert table.total_count == 9
        built_in: list[int] = []
        rows = screen.memo.rows
        monkeypatch.setattr(screen.memo, "rows", lambda objs: built_in.append(threading.get_ident()) or rows(objs))
        guests = lab.data["proxmox"].guests
        lab.update("proxmox", guests=(replace(guests[0], name="renamed-in-poll"), *guests[1:]))
        poller = app.hub.pollers["proxmox"]
        await app.hub.publish_derived(await poller.poll_once())  # what a running poller does
        await pilot.pause()
        assert built_in and threading.get_ident() not in built_in  # built once, in the worker thread
        assert table.get_row(guests[0].key).cells[1] == "renamed-in-poll"
        await pilot.press("1")  # another screen shown: the guests' rows are no longer built ahead
        await pilot.pause()
        built_in.clear()
        await app.hub.publish_derived(await poller.poll_once())
        assert built_in == []
