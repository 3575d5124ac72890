"""The node detail pane (issue 11 item 9) at 80x24 against the simulated lab, through the
real sources: versions, subscription and APT repositories; with the `enterprise-repo`
fault the homelab trap shows with its fix; enter lands on the guests filtered to the
node; ctrl+n evacuates through the guests screen's own flow (its confirmation, answered
no here so the lab stays as it is); read-only refuses it in place.

One lab for the module; each test opens its own App."""

from __future__ import annotations

import pytest
from textual.containers import VerticalScroll

from screens.modals import ConfirmModal
from screens.node_detail import NodeDetail
from tests.simlab import SimLab
from widgets.fast_table import FastTable

from .helpers import notes, screen_text
from .test_guest_actions_sim import make_app  # the console on the lab, through the real sources

pytestmark = pytest.mark.slow
SIZE = (80, 24)


@pytest.fixture(scope="module")
def lab():
    with SimLab("seed", speed=20.0) as lab:
        yield lab


async def open_pane(app, pilot, node: str) -> NodeDetail:
    """Poll every source, put the cursor on `node` in the node table, press d, wait for the read."""
    await app.hub.poll_all_once()
    await pilot.pause()
    nodes = app.screen.query_one("#nodes", FastTable)
    nodes.focus()
    assert nodes.move_cursor_to_key(node)
    await pilot.press("d")
    await pilot.pause()
    assert isinstance(app.screen, NodeDetail), type(app.screen)
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


async def whole_text(app, pilot) -> str:
    """Every line of the pane, scrolled through (it is taller than 24 rows), with the border and
    the scrollbar taken off and the whitespace collapsed: a line wrapped at 80 columns reads whole."""
    box = app.screen.query_one(VerticalScroll)
    seen = [screen_text(app)]
    while box.scroll_y < box.max_scroll_y:
        await pilot.press("pagedown")
        await pilot.pause()
        seen.append(screen_text(app))
    return " ".join("\n".join(seen).translate(str.maketrans("", "", "│▁▂▃▄▅▆▇█")).split())


async def test_pane_shows_versions_subscription_repos_guests_and_ceph(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(app, pilot, "pve2")
        box = app.screen.query_one(VerticalScroll)
        assert box.max_scroll_y > 0, "at 80x24 the pane scrolls"
        text = await whole_text(app, pilot)
        for part in ("node: pve2", "pve2 online", "pve-manager 8.2.4", "kernel running 6.8.12-4-pve",
                     "(the newest installed)", "package(s) pending", "subscription", "notfound",
                     "There is no subscription key", "APT repositories", "pve-no-subscription",
                     "on http://download.proxmox.com/debian/pve bookworm pve-no-subscription",
                     "/etc/apt/sources.list.d/pve-enterprise.list off "
                     "https://enterprise.proxmox.com/debian/pve bookworm pve-enterprise",
                     "no problem with the repositories",
                     "guests", " running, ", "LRM active", "Ceph daemons", "mon.pve2", "in quorum", "up, in"):
            assert part in text, (part, text)
        assert "CRITICAL" not in text and "reading..." not in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "health" and not isinstance(app.screen, NodeDetail)


async def test_enterprise_repo_without_subscription_shows_the_problem_and_the_fix(lab):
    lab.control("enterprise-repo", "pve3")
    try:
        app = make_app(lab)
        async with app.run_test(size=SIZE) as pilot:
            await open_pane(app, pilot, "pve3")
            text = await whole_text(app, pilot)
            for part in ("APT repositories CRITICAL pve3: enterprise repository enabled without an active subscription",
                         "every apt update fails with 401 Unauthorized",
                         "fix: disable the enterprise repository", "/etc/apt/sources.list.d/pve-enterprise.list",
                         "enable pve-no-subscription"):
                assert part in text, (part, text)
    finally:
        lab.clear("enterprise-repo", "pve3")


async def test_enter_lands_on_the_guests_filtered_to_the_node(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(app, pilot, "pve2")
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "guests"
        table = app.screen.query_one("#guests", FastTable)
        assert table.filter_text == "pve2" and table.has_focus
        shown = [table.get_row(k).cells[3] for k in table.visible_keys]
        assert shown and set(shown) == {"pve2"}


async def test_ctrl_n_evacuates_through_the_guests_flow_and_read_only_refuses_in_place(lab):
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        await open_pane(app, pilot, "pve2")
        await pilot.press("ctrl+n")
        for _ in range(50):  # the guests flow reads the evacuation plan before it asks
            if isinstance(app.screen, ConfirmModal):
                break
            await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmModal), type(app.screen)
        assert app.screen.question.startswith("Move ") and " guest(s) off pve2: " in app.screen.question
        assert "At most " in app.screen.question  # the guests screen's own sentence: its flow, not a copy
        await pilot.press("n")  # no: nothing moves
        await pilot.pause()
        assert app.current_mode == "guests"
        assert app.screen.query_one("#guests", FastTable).filter_text == "pve2"
    app = make_app(lab, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_pane(app, pilot, "pve2")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, NodeDetail) and any("refused: evacuate pve2" in n for n in notes(app))
