"""While polling, the rows of each new snapshot (guests; OSDs, Swarm nodes and services, Traefik
routers and services) are built in the Hub's worker thread (with the events diff and the health
story), not on the event loop, and the table shows them."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from widgets.fast_table import FastTable

from .helpers import poll


def threads_building(monkeypatch, memo) -> list[int]:
    """The threads `memo` builds rows in, from now on."""
    built_in: list[int] = []
    rows = memo.rows
    monkeypatch.setattr(memo, "rows", lambda objs: built_in.append(threading.get_ident()) or rows(objs))
    return built_in


async def publish_next_poll(app, source: str) -> None:
    poller = app.hub.pollers[source]
    await app.hub.publish_derived(await poller.poll_once())  # what a running poller does


async def test_guest_rows_of_a_poll_are_built_off_the_loop(make_app, lab, monkeypatch):
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#guests", FastTable)
        assert table.total_count == 9
        built_in = threads_building(monkeypatch, screen.memo)
        guests = lab.data["proxmox"].guests
        lab.update("proxmox", guests=(replace(guests[0], name="renamed-in-poll"), *guests[1:]))
        await publish_next_poll(app, "proxmox")
        await pilot.pause()
        assert built_in and threading.get_ident() not in built_in  # built once, in the worker thread
        assert table.get_row(guests[0].key).cells[1] == "renamed-in-poll"
        await pilot.press("1")  # another screen shown: the guests' rows are no longer built ahead
        await pilot.pause()
        built_in.clear()
        await publish_next_poll(app, "proxmox")
        assert built_in == []


async def test_rows_stay_built_ahead_under_a_dialog_so_closing_it_builds_none_on_the_loop(make_app, lab, monkeypatch):
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        built_in = threads_building(monkeypatch, screen.memo)
        await pilot.press("question_mark")  # the help dialog over the guests
        await pilot.pause()
        assert app.screen is not screen
        guests = lab.data["proxmox"].guests
        lab.update("proxmox", guests=(replace(guests[0], name="renamed-under-dialog"), *guests[1:]))
        await publish_next_poll(app, "proxmox")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert built_in and threading.get_ident() not in built_in  # only in the worker thread
        assert screen.table.get_row(guests[0].key).cells[1] == "renamed-under-dialog"


@pytest.mark.parametrize("key, source, memo, table, changed, cell, value", [
    ("3", "ceph", "osd_memo", "#osds", lambda d: {"osds": (replace(d.osds[0], device_class="nvme-x"), *d.osds[1:])},
     4, "nvme-x"),
    ("4", "swarm", "service_memo", "#services",
     lambda d: {"services": (replace(d.services[0], image="web:9.9"), *d.services[1:])}, 3, "web:9.9"),
    ("5", "traefik", "router_memo", "#routers",
     lambda d: {"routers": (replace(d.routers[0], rule="Host(`x.test`)"), *d.routers[1:])}, 2, "Host(`x.test`)"),
])
async def test_ceph_swarm_and_traefik_rows_of_a_poll_are_built_off_the_loop(make_app, lab, monkeypatch, key, source,
                                                                          memo, table, changed, cell, value):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await poll(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        screen = app.screen
        built_in = threads_building(monkeypatch, getattr(screen, memo))
        lab.update(source, **changed(lab.data[source]))
        await publish_next_poll(app, source)
        await pilot.pause()
        assert built_in and threading.get_ident() not in built_in
        shown = screen.query_one(table, FastTable)
        assert value in [shown.get_row(k).cells[cell] for k in shown.visible_keys]
