"""`:ctx` without a name: the cluster picker lists every cluster with its verdict (the live one
from the Hub, the others polled in the background), says why one cannot be reached, and enter
switches through the usual path (asking first during a maintenance run)."""

from __future__ import annotations

from console.app import ConsoleApp
from screens.cluster_picker import ClusterPicker
from screens.modals import ConfirmModal

from .fixtures import WALL_NOW, FakeActions, FakeLab
from .fixtures import test_config as home_and_lab2
from .helpers import poll, screen_lines, screen_text

REFUSED = "cannot connect to 192.0.2.9:8006 (connection refused)"


def two_cluster_app(clock, lab2_down: bool = True) -> ConsoleApp:
    """home: the fake lab; lab2: every source refuses the connection (unless lab2_down is False)."""
    labs = {"home": FakeLab(), "lab2": FakeLab()}
    if lab2_down:
        labs["lab2"].failures = {s: REFUSED for s in labs["lab2"].data}
    hubs = []

    def factory(cluster_cfg):
        hub = labs[cluster_cfg.name].hub(clock)
        hubs.append((cluster_cfg.name, hub))
        return hub, FakeActions(cluster_cfg.read_only, cluster_cfg.name)

    app = ConsoleApp(home_and_lab2(), None, factory, clock=clock, start_polling=False, wall_clock=lambda: WALL_NOW)
    app.test_hubs = hubs
    app.test_labs = labs
    return app


async def open_picker(app, pilot) -> ClusterPicker:
    await pilot.press("colon", *"ctx", "enter")
    await pilot.pause()
    assert isinstance(app.screen, ClusterPicker)
    for _ in range(200):  # the glance's first round of lab2 (fake sources: milliseconds)
        if app.glance.rows["lab2"].status is not None:
            break
        await pilot.pause(0.01)
    await pilot.pause()
    return app.screen


async def test_picker_lists_both_clusters_and_says_why_one_cannot_be_reached(clock):
    app = two_cluster_app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await open_picker(app, pilot)
        lines = screen_lines(app)
        text = "\n".join(lines)
        home = next(i for i, line in enumerate(lines) if "▸ home" in line)
        assert "(current)" in lines[home] and "OK" in lines[home]
        assert "no problems found" in lines[home + 1]
        lab2 = next(i for i, line in enumerate(lines) if "lab2" in line)
        assert "UNKNOWN" in lines[lab2] and "lab2 RO" in lines[lab2]  # read_only = true in its config
        assert f"cannot reach: proxmox: {REFUSED}"[:60] in lines[lab2 + 1]  # readable at 80 columns
        assert "ConsoleError" not in text and "Traceback" not in text
        assert app.glance.polled == ("lab2",)  # the current cluster is never polled twice
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ClusterPicker) and app.cluster_name == "home"


async def test_enter_switches_and_the_glance_follows(clock):
    app = two_cluster_app(clock, lab2_down=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await open_picker(app, pilot)
        assert "lab2" in screen_text(app) and "no problems found" in screen_text(app)
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.cluster_name == "lab2" and app.hub is [h for name, h in app.test_hubs if name == "lab2"][-1]
        assert app.glance.polled == ("home",)  # the cluster left is now the one polled in the background
        await app.hub.poll_all_once()
        await open_picker(app, pilot)
        assert "▸ lab2" in screen_text(app)
        await pilot.press("escape")


class BusyRun:
    """A maintenance session that is applying a step (what _leave asks about)."""

    active = True
    aborted = False

    def busy_text(self) -> str:
        return "maintenance of pve1 is applying a step"

    def abort(self) -> None:
        self.aborted = True


async def test_picking_during_a_maintenance_run_asks_first(clock):
    app = two_cluster_app(clock, lab2_down=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        app.maintenance = BusyRun()
        await open_picker(app, pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "maintenance of pve1" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert app.cluster_name == "home" and not app.maintenance.aborted


async def test_palette_offers_the_glance(clock):
    app = two_cluster_app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"all at a glance")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ClusterPicker)


async def test_real_sources_one_sim_and_one_refused_cluster(seed_sim, tmp_path):
    """The real path: build_hub for both clusters; the glance's cluster on a port where nothing
    listens says so in its row, and quitting stops the glance and closes what it opened."""
    from console.config import load_config
    from console.sources import build_hub
    from tests.data.test_check_all_clusters import config_with

    cfg = tmp_path / "config.toml"
    name = config_with(seed_sim, cfg, gone="gone")
    app = ConsoleApp(load_config(cfg), name, lambda c: build_hub(c, read_only=True), start_polling=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.hub.poll_all_once()
        await pilot.press("colon", *"ctx", "enter")
        for _ in range(300):
            if app.glance.rows["gone"].status is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        text = screen_text(app)
        assert f"▸ {name}" in text and "OK" in text
        assert "cannot reach: proxmox: cannot connect to https://127.0.0.1:1" in text
        glance = app.glance
        assert glance.polled == ("gone",)
    assert glance.polled == ()
