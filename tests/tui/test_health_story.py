"""Health with a maintenance run in progress and with a silence (fake lab, real state dir)."""

from __future__ import annotations

from dataclasses import replace

from console import silences
from console.maintenance.journal import Journal
from widgets.cluster_header import ClusterHeader
from widgets.fast_table import FastTable
from widgets.tile import Tile

from .fixtures import WALL_NOW
from .helpers import poll, screen_text


def fault_fw1(lab):
    v = lab.data["vrrp"]
    states = {"fw1": "FAULT", "fw2": "MASTER"}
    lab.update("vrrp", firewalls=tuple(replace(fw, instances=(replace(fw.instances[0], state=states[fw.name]),))
                                       for fw in v.firewalls))


async def test_maintenance_run_is_one_dimmed_incident_not_an_alarm(make_app, lab, state_dir):
    fault_fw1(lab)  # the run moved the VIP on purpose: fw1's track file says FAULT
    j = Journal.create("home", "node", ["pve1"])
    j.append("apply-start", node="pve1", step="D2",
             facts={"plan": {"node": "pve1", "firewall": "fw1", "vip_move": True, "swarm_node": "swarm1", "osds": [0]}})
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        table = app.screen.query_one("#findings", FastTable)
        assert len(table.visible_keys) == 1
        assert "maintenance of pve1" in screen_text(app) and j.run_id in screen_text(app)
        assert "▲vrrp" in str(app.screen.query_one(ClusterHeader).render())  # a warning, not ✖
        assert app.screen.query_one("#tile-vrrp", Tile).has_class("-warn")
        await pilot.press("space")
        await pilot.pause()
        key = next(k for k in table.visible_keys if "fw1 VI_1 is in FAULT" in k)
        row = table.get_row(key)
        assert row.style == "dim" and "exp" in row.cells[0][0]


async def test_without_the_run_the_same_state_pages(make_app, lab):
    fault_fw1(lab)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        assert "✖vrrp" in str(app.screen.query_one(ClusterHeader).render())
        assert app.screen.query_one("#tile-vrrp", Tile).has_class("-bad")


async def test_a_silenced_incident_is_shown_marked_and_not_counted(make_app, lab, state_dir):
    osds = lab.data["ceph"].osds
    lab.update("ceph", health="HEALTH_WARN", osds=(osds[0], replace(osds[1], up=False), osds[2]), num_up_osds=2)
    silences.add("home", "osd.1", 7200, "disk on order", now=WALL_NOW)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        text = screen_text(app)
        assert "silenced: osd.1 (disk on order, 2h00m left)" in text
        table = app.screen.query_one("#findings", FastTable)
        row = table.get_row(table.visible_keys[0])
        assert "osd.1 on pve2 is down" in row.cells[3] and "sil" in row.cells[0][0] and row.style == "dim"
        assert "silenced: disk on order" in row.cells[-1]  # HINT, after AGE
        assert app.screen.query_one("#tile-ceph", Tile).has_class("-ok")  # not counted
        assert "●ceph" in str(app.screen.query_one(ClusterHeader).render())
