"""The operations views on the hostile lab (console/sim/scenario_hostile.py: guest names
and more carry escape sequences, control characters, markup and bidi text): every string
arrived inert through console.ops (console/inert.py), so nothing a terminal acts on
reaches the screen, and the text is still shown."""

from __future__ import annotations

import pytest

from console.app import ConsoleApp
from console.config import load_config
from console.sources import build_hub
from console.sources.reports import poll_round
from tests.simlab import SimLab

from .test_ops_views import command, until

pytestmark = pytest.mark.slow


async def test_backups_tasks_and_cluster_log_views_draw_hostile_text_inert():
    with SimLab("hostile", speed=10.0) as lab:
        config = load_config(lab.config_path)
        app = ConsoleApp(config, None, lambda c: build_hub(c, read_only=True), start_polling=False, read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await poll_round(app.hub)  # as check: the sources, then the reports
            await pilot.pause()
            rep = app.snapshots["backups"].data
            assert rep is not None and rep.guests, app.snapshots["backups"].error
            for view in ("backups", "tasks", "clog"):
                await command(pilot, view)
                if view != "backups":
                    await until(pilot, lambda: app.screen.reads > 0, 10, view)
                svg = app.export_screenshot()
                for byte in ("\x1b", "\x07", "\x9b", "\u202e"):
                    assert byte not in svg, (view, repr(byte))
            names = [g.name for g in rep.guests]
            assert all(name.isprintable() for name in names), names
            assert any("␛]0;PWNED" in name for name in names)  # the hostile names are there, made visible
