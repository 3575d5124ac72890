"""Each screen with the fake lab: its keys, staleness, loading, faults, read-only."""

from __future__ import annotations

from dataclasses import replace

from screens.modals import ConfirmModal
from widgets.cluster_header import ClusterHeader
from widgets.fast_table import FastTable
from widgets.key_bar import KeyBar
from widgets.log_view import LogView
from widgets.stale_banner import StaleBanner
from widgets.tile import Tile

from .helpers import notes, poll, screen_text, until


async def test_loading_until_first_data_then_rows(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        banner = app.screen.query_one(StaleBanner)
        assert banner.has_class("-loading") and "loading" in banner.text
        assert app.screen.query_one("#guests-body").loading
        await pilot.press("3")
        await pilot.pause()
        assert app.screen.query_one("#osds", FastTable).loading
        await poll(app, pilot)
        assert not app.screen.query_one("#osds", FastTable).loading
        await pilot.press("2")
        await pilot.pause()
        assert not banner.has_class("-loading")
        assert not app.screen.query_one("#guests-body").loading
        assert app.screen.query_one("#guests", FastTable).total_count == 9


async def test_stale_source_keeps_data_and_shows_banner(make_app, lab, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        lab.failures["ceph"] = "no answer within 5 s"
        clock.now += 47
        await poll(app, pilot)
        banner = app.screen.query_one("#stale-ceph", StaleBanner)
        assert banner.has_class("-stale")
        assert banner.text == "⚠ ceph: no answer within 5 s — data 47 s old"
        assert app.screen.query_one("#osds", FastTable).total_count == 3  # last good data kept
        assert "osd.2" in screen_text(app)
        header = str(app.screen.query_one(ClusterHeader).render())
        assert "▲ceph 47s" in header  # stale: a warning, as on the tile and in `check` (exit 1)
        # other layers are unaffected: guests has fresh data and no banner
        await pilot.press("2")
        await pilot.pause()
        assert not app.screen.query_one(StaleBanner).has_class("-stale")
        # recovery clears the banner
        del lab.failures["ceph"]
        await pilot.press("3")
        await poll(app, pilot)
        assert not app.screen.query_one("#stale-ceph", StaleBanner).has_class("-stale")


async def test_unconfigured_layer_is_not_an_error(make_app):
    app = make_app(unconfigured=("traefik",))
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        tile = app.screen.query_one("#tile-traefik", Tile)
        assert "not configured" in tile.text and tile.has_class("-off")
        await pilot.press("5")
        await pilot.pause()
        banner = app.screen.query_one(StaleBanner)
        assert banner.has_class("-unconfigured") and not banner.has_class("-stale")
        assert "traefik: not configured" in banner.text


async def test_health_finding_jumps_to_its_subject(make_app, lab):
    app = make_app()
    osds = lab.data["ceph"].osds
    lab.update("ceph", health="HEALTH_WARN", osds=(osds[0], replace(osds[1], up=False, in_=False), osds[2]),
               num_up_osds=2, num_in_osds=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        tile = app.screen.query_one("#tile-ceph", Tile)
        # osd.1 down and out is critical: the tile says what `check` says (it said HEALTH_WARN before)
        assert tile.has_class("-bad") and "OSD 2/3 up" in tile.text
        findings = app.screen.query_one("#findings", FastTable)
        assert findings.has_focus
        keys = findings.visible_keys
        target = next(k for k in keys if k.startswith("ceph|osd.1|"))
        assert keys == [target]  # one incident: osd.1, with "Ceph is HEALTH_WARN" beneath it
        assert "✖ crit" in screen_text(app) and "[+1]" in screen_text(app)
        findings.move_cursor_to_key(target)
        await pilot.press("space")  # opens the incident
        await pilot.pause()
        assert any("Ceph is HEALTH_WARN" in k for k in findings.visible_keys)
        await pilot.press("enter", "enter")  # its detail pane, then its subject
        await pilot.pause()
        assert app.current_mode == "ceph"
        osd_table = app.screen.query_one("#osds", FastTable)
        assert osd_table.filter_text == "osd.1" and osd_table.visible_keys == ["osd.1"]
        assert "✖ down" in screen_text(app) and "▲ out" in screen_text(app)


async def test_guest_finding_and_node_enter_filter_guests(make_app, lab):
    app = make_app()
    pve = lab.data["proxmox"]
    ha = replace(pve.ha, services=tuple(replace(s, state="error") if s.sid == "vm:101" else s for s in pve.ha.services))
    lab.update("proxmox", ha=ha, guests=tuple(replace(g, ha_state="error") if g.vmid == 101 else g for g in pve.guests))
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        findings = app.screen.query_one("#findings", FastTable)
        findings.move_cursor_to_key(next(k for k in findings.visible_keys if "vm:101" in k))
        await pilot.press("enter", "enter")  # the detail pane, then its subject
        await pilot.pause()
        assert app.current_mode == "guests"
        assert app.screen.query_one("#guests", FastTable).visible_keys == ["qemu/101"]
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.current_mode == "health"
        nodes = app.screen.query_one("#nodes", FastTable)
        nodes.focus()
        nodes.move_cursor_to_key("pve3")
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "guests"
        assert set(app.screen.query_one("#guests", FastTable).visible_keys) == {"qemu/112", "lxc/200", "lxc/301"}


async def test_guests_group_detail_and_live_update(make_app, lab):
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        await pilot.press("n")
        assert [k for k in table.visible_keys][:3] == ["qemu/100", "qemu/110", "lxc/201"]  # pve1 first
        await pilot.press("down", "down")
        assert table.cursor_key == "lxc/201"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.has_class("-detail")
        assert "db  CT 201" in screen_text(app)
        # a poll that changes the guest keeps the cursor on it and updates the pane
        guests = lab.data["proxmox"].guests
        lab.update("proxmox", guests=tuple(replace(g, cpu=0.5) if g.vmid == 201 else g for g in guests))
        await poll(app, pilot)
        assert table.cursor_key == "lxc/201"
        assert "50% of 2 vCPU" in screen_text(app)
        await pilot.press("escape")
        assert not app.screen.has_class("-detail")


async def test_guest_keys_are_offered_and_need_the_guest_operations(make_app):
    """The guest keys (h-guestui) run console/ops through Actions; a cluster without them says so
    (tests/tui/test_guest_actions_sim.py drives every key against the simulated lab)."""
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        keys = app.screen.query_one(KeyBar).keys_text
        assert "^o Start" in keys and "^e Reboot" in keys and "z Snapshots" in keys
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert any("not available for this cluster" in n for n in notes(app))
        assert app.actions.calls == []


async def test_read_only_refuses_mutating_keys(make_app):
    app = make_app(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        assert " RO " in str(app.screen.query_one(ClusterHeader).render())
        await pilot.press("2")
        await pilot.pause()
        keys = app.screen.query_one(KeyBar).keys_text
        assert "Reboot" not in keys and "Detail" in keys  # mutating keys are not offered
        await pilot.press("ctrl+e")
        await pilot.pause()
        await pilot.press("4", "ctrl+b")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert app.actions.calls == []
        refused = [n for n in notes(app) if "refused" in n]
        assert len(refused) == 2 and "roll back service traefik" in refused[1]


async def test_swarm_tasks_follow_selection_and_actions(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        tasks = app.screen.query_one("#tasks", FastTable)
        assert tasks.total_count == 3 and "tasks of traefik" in tasks.border_title
        await pilot.press("down")  # web
        await pilot.pause()
        assert tasks.total_count == 2 and "tasks of web" in tasks.border_title
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert "to its previous spec: nginx:1.26" in app.screen.question  # h-operate2: says what it returns to
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls == [("swarm_rollback", "svc-web")]
        nodes = app.screen.query_one("#swarm-nodes", FastTable)
        nodes.focus()
        await pilot.press("down", "ctrl+n")
        await pilot.pause()
        assert "Set swarm node swarm2 to drain" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert app.actions.calls[-1] == ("swarm_availability", "swarm2", "drain")


async def test_swarm_logs_filter_follow_and_close(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("4", "down", "l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        logs = app.screen.query_one(LogView)
        assert app.screen.has_class("-logs") and logs.source_name == "web"
        assert logs.line_count == 6
        await pilot.press("slash", *"404", "enter")
        await pilot.pause()
        assert logs.line_count == 1 and "GET /missing 404" in logs.lines[0]
        assert app.screen.query_one("#services", FastTable).filter_text == ""  # the filter went to the logs
        await pilot.press("f")
        assert not logs.follow and "paused" in logs.border_title
        await pilot.press("escape")  # clears the log filter
        assert logs.filter_text == "" and logs.line_count == 6
        await pilot.press("escape")  # closes the logs
        await pilot.pause()
        assert not app.screen.has_class("-logs") and app.current_mode == "swarm"


async def test_traefik_problems_only(make_app, lab):
    app = make_app()
    t = lab.data["traefik"]
    routers = tuple(replace(r, status="warning", errors=("middleware auth@file does not exist",))
                    if r.name == "api@swarm" else r for r in t.routers)
    services = tuple(replace(s, servers=(s.servers[0], replace(s.servers[1], status="DOWN")))
                     if s.name == "web@swarm" else s for s in t.services)
    lab.update("traefik", routers=routers, services=services)
    async with app.run_test(size=(120, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("5", "p")
        await pilot.pause()
        assert app.screen.query_one("#routers", FastTable).visible_keys == ["http:api@swarm"]
        assert app.screen.query_one("#traefik-services", FastTable).visible_keys == ["http:web@swarm"]
        assert "1/2 up" in screen_text(app)
        await pilot.press("p")
        assert app.screen.query_one("#routers", FastTable).row_count == 5


async def test_vrrp_split_brain_and_no_master_are_unmistakable(make_app, lab):
    app = make_app()
    v = lab.data["vrrp"]

    def set_states(a: str, b: str):
        fws = tuple(replace(fw, instances=(replace(fw.instances[0], state=s),))
                    for fw, s in zip(v.firewalls, (a, b), strict=False))
        lab.update("vrrp", firewalls=fws)

    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("6")
        await pilot.pause()
        alarm = app.screen.query_one("#vrrp-alarm")
        assert not alarm.has_class("-on")
        set_states("MASTER", "MASTER")
        await poll(app, pilot)
        assert alarm.has_class("-on") and alarm.display
        assert "SPLIT BRAIN VI_1: fw1 AND fw2 are BOTH MASTER" in screen_text(app)
        set_states("BACKUP", "BACKUP")
        await poll(app, pilot)
        assert "NO MASTER VI_1: nobody holds 192.0.2.1/24" in screen_text(app)
        await pilot.press("1")
        await pilot.pause()
        tile = app.screen.query_one("#tile-vrrp", Tile)
        assert tile.has_class("-bad") and "NO MASTER VI_1" in tile.text


async def test_ceph_check_detail_and_quit_command(make_app, lab):
    from console.model import CephCheck
    from screens.modals import TextModal

    lab.update("ceph", health="HEALTH_WARN", checks=(
        CephCheck("OSDMAP_FLAGS", "HEALTH_WARN", "noout flag(s) set", ("noout flag(s) set on the cluster",)),))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        checks = app.screen.query_one("#checks", FastTable)
        checks.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextModal)
        assert "noout flag(s) set on the cluster" in app.screen.lines
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "ceph"
        await pilot.press("colon", "q", "enter")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


async def test_old_data_without_error_turns_stale_on_the_next_tick(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        await pilot.press("6")
        await pilot.pause()
        banner = app.screen.query_one(StaleBanner)
        assert not banner.has_class("-stale")
        clock.now += 7  # more than 3 poll intervals (2 s) without a new snapshot
        app.tick()  # the 1 s timer; called directly so the test does not wait
        await pilot.pause()
        assert banner.has_class("-stale") and banner.text == "⚠ vrrp: no new data — data 7 s old"
        # the story with the stale layer is told in a worker thread: the header follows a moment later
        await until(pilot, lambda: "▲vrrp 7s" in str(app.screen.query_one(ClusterHeader).render()))
