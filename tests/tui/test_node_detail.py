"""The node detail pane over the fake lab (fast): what the polls know shows at once, the software
read is cached briefly and re-read with r, a failed read reads as words, x opens the shell on
the node, and hostile strings reach the pane inert. The sim-backed tests (real PVE shapes,
the enterprise-repo fault, the jump and evacuate keys) are in test_node_detail_sim.py."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace

import pytest
from textual.containers import VerticalScroll

from console.errors import ConsoleError
from console.model import CephState, HaService, HaStatus, MdsDaemon, Osd
from console.ops.node_detail import NodeSoftware, Repo, RepoProblem
from console.ops.node_facts import node_facts
from screens import operate
from screens.node_detail import NodeDetail, detail_text

from .fixtures import FakeActions, seed_proxmox
from .helpers import poll, screen_text


class SoftwareActions(FakeActions):
    """FakeActions with a node software reader that counts its calls and can fail."""

    def __init__(self, *a, **k) -> None:
        super().__init__(*a, **k)
        self.reads: list[str] = []
        self.fail: BaseException | None = None

    async def node_software(self, node: str) -> NodeSoftware:
        self.reads.append(node)
        if self.fail is not None:
            raise self.fail
        return NodeSoftware(node, "8.2.4", "6.8.12-4-pve", "6.8.12-5-pve", "notfound",
                            subscription_message="There is no subscription key",
                            repos=[Repo("/etc/apt/sources.list", 0, ("http://download.proxmox.com/debian/pve",),
                                        ("bookworm",), ("pve-no-subscription",), True)])


async def open_pane(app, pilot, node: str = "pve2") -> None:
    await poll(app, pilot)
    nodes = app.screen.query_one("#nodes")
    nodes.focus()
    assert nodes.move_cursor_to_key(node)
    await pilot.press("d")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, NodeDetail)


def with_actions(app, actions: FakeActions):
    app.actions = actions
    return actions


async def test_pane_reads_once_caches_and_r_rereads(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        actions = with_actions(app, SoftwareActions())
        await open_pane(app, pilot)
        text = screen_text(app)
        for part in ("node: pve2", "pve2 online", "pve-manager 8.2.4",
                     "kernel running 6.8.12-4-pve, installed 6.8.12-5-pve: a reboot boots it",
                     "updates: 3 package(s) pending", "notfound: There is no subscription key"):
            assert part in text, (part, text)
        await pilot.press("escape")
        await pilot.press("d")  # again within the cache time: no second read
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, NodeDetail) and actions.reads == ["pve2"]
        assert "installed 6.8.12-5-pve" in screen_text(app)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        assert actions.reads == ["pve2", "pve2"]
        await pilot.press("escape")
        clock.now += 31  # the cache has run out
        await pilot.press("d")
        await app.workers.wait_for_complete()
        assert actions.reads == ["pve2", "pve2", "pve2"]


@pytest.mark.parametrize(("fail", "shown"), [
    (ConsoleError("proxmox", "pve2: no route to host"), "not read: pve2: no route to host"),
    (OSError(113, "No route to host"), "not read: no route to host"),
])
async def test_a_failed_read_says_why_in_words_and_keeps_the_polled_facts(make_app, fail, shown):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        actions = with_actions(app, SoftwareActions())
        actions.fail = fail
        await open_pane(app, pilot)
        text = screen_text(app)
        assert shown in text and "pve-manager 8.2.4" in text, text
        assert "OSError" not in text and "Traceback" not in text


async def test_no_reader_for_this_cluster_is_said_plainly(make_app):
    app = make_app()  # the plain FakeActions has no node_software
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(app, pilot, "pve3")
        assert "not read: the node's software cannot be read for this cluster" in screen_text(app)
        box = app.screen.query_one(VerticalScroll)
        await pilot.press("G")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "health" and not isinstance(app.screen, NodeDetail)


async def test_x_opens_the_shell_on_the_node(make_app, monkeypatch):
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(operate, "RUNNER", lambda argv: ran.append(argv) or 0)
    app = make_app()
    monkeypatch.setattr(app, "suspend", nullcontext)  # the headless driver cannot suspend; the argv is what counts
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(app, pilot, "pve3")
        await pilot.press("x")
        await app.workers.wait_for_complete()
        assert [argv[-1] for argv in ran] == ["root@pve3"]
        assert isinstance(app.screen, NodeDetail)  # back in the pane after the shell


async def test_an_offline_node_is_not_read_until_r(make_app, lab):
    lab.update("proxmox", nodes=tuple(replace(n, status="offline") if n.name == "pve3" else n
                                      for n in lab.data["proxmox"].nodes))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        actions = with_actions(app, SoftwareActions())
        await open_pane(app, pilot, "pve3")
        assert actions.reads == [] and "not read: pve3 is offline in the last poll; r reads anyway" in screen_text(app)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert actions.reads == ["pve3"] and "notfound: There is no subscription key" in screen_text(app)


def test_an_unreachable_node_gives_its_reason_once():
    why = "none of the 3 endpoints answered; first: 595 No route to host"
    sw = NodeSoftware("pve3", errors=[f"{what}: {why}" for what in ("version", "subscription", "repositories",
                                                                    "packages")])
    text = detail_text(node_facts("pve3", seed_proxmox(), None), sw).plain
    assert text.count("No route to host") == 1, text
    assert f"not read: version, subscription, repositories, packages: {why}" in text
    assert "subscription\n  not read\n" in text and "unknown" not in text and "none listed" not in text


def test_facts_count_guests_ha_and_find_the_nodes_ceph_daemons():
    pve = replace(seed_proxmox(), ha=HaStatus(True, "pve1", "active", (("pve2", "active"),),
                                              (HaService("vm:101", "started", "pve2"),
                                               HaService("vm:102", "started", "pve1"))))
    ceph = CephState("HEALTH_WARN", mons=("pve1", "pve2"), quorum=("pve1",), mgr_active="pve2", mgr_available=True,
                     mgr_standbys=("pve1",), mds=(MdsDaemon("pve2", "up:standby"), MdsDaemon("pve20", "up:active")),
                     osds=(Osd(3, "pve2", False, True), Osd(1, "pve2", True, True), Osd(2, "pve1", True, True)))
    f = node_facts("pve2", pve, ceph)
    mine = [g for g in pve.guests if g.node == "pve2"]
    assert (f.running + f.stopped + f.templates) == len(mine) and f.ha_resources == 1
    assert [(d.name, d.state, d.ok) for d in f.ceph] == [
        ("mon.pve2", "out of quorum", False), ("mgr.pve2", "active", True), ("mds.pve2", "up:standby", True),
        ("osd.1", "up, in", True), ("osd.3", "down, in", False)]  # pve20's mds is not pve2's
    gone = node_facts("pve9", pve, None)
    assert gone.status == "not in the last poll" and gone.ceph is None and gone.running == 0


def test_hostile_strings_reach_the_pane_as_literal_text():
    evil = "\x1b[2J\x1b]0;owned\x07[bold red]x[/]"
    sw = NodeSoftware("pve1", evil, evil, "", evil, repos=[Repo(evil, 0, (evil,), (), (), True)],
                      problems=[RepoProblem("critical", evil, evil)], errors=[evil])
    text = detail_text(node_facts("pve1", seed_proxmox(), None), sw)
    assert "\x1b" not in text.plain and "\x07" not in text.plain
    assert "[bold red]x[/]" in text.plain  # markup stays literal: appended as plain text
    assert not any("bold red" in str(span.style) and "x[/]" in text.plain[span.start:span.end] for span in text.spans)
