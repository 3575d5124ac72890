"""The :events view (fake lab: follow, filter, enter) and, against the real sim, an injected
OSD fault in the timeline and node sparklines that move between polls."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from widgets.fast_table import FastTable

from .helpers import poll, screen_text


def _osd(lab, osd_id: int, **changes) -> None:
    osds = lab.data["ceph"].osds
    lab.update("ceph", osds=tuple(replace(o, **changes) if o.id == osd_id else o for o in osds))


async def test_events_view_lists_a_fault_newest_first_and_follows(make_app, lab, clock):
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await poll(app, pilot)  # the baseline: a healthy lab, no events
        await pilot.press("8")
        await pilot.pause()
        table = app.screen.query_one("#events", FastTable)
        assert app.current_mode == "events" and table.total_count == 0
        assert "no events yet" in screen_text(app)

        _osd(lab, 1, up=False)
        clock.now += 2
        await poll(app, pilot)
        text = screen_text(app)
        assert "osd.1 on pve2 is down" in text and "✖ crit" in text
        assert table.total_count == 1

        lab.update("vrrp", firewalls=tuple(replace(fw, instances=(replace(fw.instances[0], state="MASTER"),))
                                           for fw in lab.data["vrrp"].firewalls))
        clock.now += 2
        await poll(app, pilot)
        first = table.get_row(table.visible_keys[0])
        assert "VI_1 VIP fw1 → fw1 and fw2 (SPLIT BRAIN)" in first.cells[4][0]  # newest on top
        assert table.cursor == 0  # following

        assert table.border_title == "events (follow) 2"
        await pilot.press("f")  # follow off: the cursor keeps its event
        await pilot.press("j")
        assert table.border_title == "events 2"
        held = table.cursor_key
        _osd(lab, 1, up=True)
        clock.now += 2
        await poll(app, pilot)
        assert table.total_count == 3 and table.cursor_key == held and table.cursor == 2
        await pilot.press("f")  # follow on again: back to the newest
        await pilot.pause()
        assert table.cursor == 0 and "osd.1 on pve2 is up" in table.get_row(table.cursor_key).cells[4][0]

        await pilot.press("slash", *"osd", "enter")
        await pilot.pause()
        assert table.row_count == 2 and all("osd" in k for k in table.visible_keys)
        await pilot.press("enter")  # to the subject in its view
        await pilot.pause()
        assert app.current_mode == "ceph"


async def test_events_command_lists_changes_and_maintenance_steps(make_app, lab, clock, tmp_path):
    import json

    journal = tmp_path / "state" / "journal" / "home"  # LABCONSOLE_STATE_DIR is tmp_path/state (conftest)
    journal.mkdir(parents=True)
    (journal / "20261201-run.jsonl").write_text(json.dumps(
        {"t": time.time(), "event": "apply-failed", "node": "pve2", "step": "migrate", "error": "no target"}))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        deadline = time.monotonic() + 10
        while not app.timeline.maintenance:  # read in a thread after the first snapshot
            assert time.monotonic() < deadline, "the maintenance journal was not read"
            await pilot.pause(0.05)
        lab.update("swarm", services=tuple(replace(s, replicas_running=0) if s.name == "web" else s
                                           for s in lab.data["swarm"].services))
        clock.now += 2
        await poll(app, pilot)
        app.run_console_command(":events")
        await pilot.pause()
        assert app.current_mode == "events"
        assert "service web under-replicated (0/2)" in screen_text(app)
        table = app.screen.query_one("#events", FastTable)
        texts = [table.get_row(k).cells[4][0] for k in table.visible_keys]
        assert "maintenance pve2: step migrate failed: no target" in texts  # cut short at 80 columns on screen
        assert app.timeline.first_seen("web") is not None


# ------------------------------------------------------------------ against the sim


@pytest.mark.slow
async def test_sim_osd_down_in_the_timeline_and_node_sparklines_move(tmp_path):
    from console.app import ConsoleApp
    from console.config import load_config
    from console.sources import build_hub
    from tests.simlab import SimLab

    async with SimLab(speed=60.0) as lab:
        config = load_config(lab.config_path)
        app = ConsoleApp(config, None, lambda c: build_hub(c), start_polling=False)
        async with app.run_test(size=(160, 40)) as pilot:
            await poll(app, pilot)  # the first Proxmox poll starts the read of every node's RRD
            deadline = time.monotonic() + 20
            while app.history.node_series("pve1") is None:
                assert time.monotonic() < deadline, f"no node history: {app.history.reader.errors}"
                await asyncio.sleep(0.1)
            await pilot.pause()
            nodes = app.screen.query_one("#nodes", FastTable)
            before = nodes.get_row("pve1").cells[-3:]  # CPU~ MEM~ NET~
            assert all(len(c.strip()) >= 10 and set(c.strip()) <= set("▁▂▃▄▅▆▇█") for c in before)

            await asyncio.to_thread(lab.control, "osd-down", 1)
            deadline = time.monotonic() + 30
            while not any(e.kind == "osd-down" for e in app.timeline.timeline()):
                assert time.monotonic() < deadline, "the sim's osd.1 never showed as down"
                await asyncio.sleep(0.3)
                await poll(app, pilot)
            await pilot.press("8")
            await pilot.pause()
            assert "osd.1 on pve2 is down" in screen_text(app)

            await pilot.press("1")
            await asyncio.sleep(2.5)  # 150 sim seconds: RRD has new steps
            assert await app.history.refresh_nodes(force=True)  # new steps: the series changed
            await poll(app, pilot)
            after = app.screen.query_one("#nodes", FastTable).get_row("pve1").cells[-3:]
            assert after != before and after[2] != before[2]  # the window slid: at least the net line moved

            await pilot.press("3")  # Ceph: client IO over the last polls
            await pilot.pause()
            assert "client io " in screen_text(app)
            await pilot.press("2", "d")  # a guest's detail pane reads its RRD
            deadline = time.monotonic() + 20
            while "cpu  " not in screen_text(app) or "history   loading" in screen_text(app):
                assert time.monotonic() < deadline, "the guest's history never arrived"
                await asyncio.sleep(0.2)
                await pilot.pause()
            assert any(ch in screen_text(app) for ch in "▁▂▃▄▅▆▇█")
            await asyncio.to_thread(lab.clear)
