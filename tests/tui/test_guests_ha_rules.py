"""The guest detail pane lists the HA rules that name the guest, one line each."""

from __future__ import annotations

from console.model import HaRule
from textual.widgets import Static

from widgets.fast_table import FastTable

from .helpers import poll, screen_text


async def test_detail_pane_shows_the_guests_ha_rules(make_app, lab):
    pve = lab.data["proxmox"]
    ha_guest = next(g for g in pve.guests if g.ha_state is not None)
    sid = f"{'ct' if ha_guest.type == 'lxc' else 'vm'}:{ha_guest.vmid}"
    lab.update("proxmox", ha_rules=(
        HaRule("pin-it", "node-affinity", (sid,), nodes=((ha_guest.node, 0),), strict=True),
        HaRule("apart", "resource-affinity", (sid, "vm:999"), affinity="negative"),
        HaRule("other", "node-affinity", ("vm:999",), nodes=(("pve3", 0),)),
    ))
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        app.screen.query_one("#guests", FastTable).move_cursor_to_key(ha_guest.key)
        await pilot.press("d")
        await pilot.pause()
        assert "HA rules" in screen_text(app)
        lines = str(app.screen.query_one("#guest-detail", Static).content).splitlines()
        at = lines.index("HA rules")
        assert lines[at + 1:] == [f" node-affinity pin-it: strict {ha_guest.node}",
                                  f" resource-affinity apart: negative with {sid}, vm:999"]  # not rule `other`
        lab.update("proxmox", ha_rules=None)  # could not be read
        await poll(app, pilot)
        lines = str(app.screen.query_one("#guest-detail", Static).content).splitlines()
        assert lines[-1] == "HA rules  not read"
