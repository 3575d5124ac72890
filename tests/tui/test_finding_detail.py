"""The detail pane of an incident or a finding on Health (issue 10 item 3), at 80x24,
its jump keys, the incident's start (AGE), shift+letter sorting and the focused
table's indicator (item 8)."""

from __future__ import annotations

from dataclasses import replace

from textual.containers import VerticalScroll

from console.model import CephCheck, Guest
from screens.finding_detail import FindingDetail
from screens.modals import HelpModal
from widgets.fast_table import FastTable

from .helpers import poll, screen_text

OSD_DOWN_DETAIL = "osd.1 (root=default,host=pve2) is down"


def osd1_down(lab) -> None:
    osds = lab.data["ceph"].osds
    lab.update("ceph", health="HEALTH_WARN", osds=(osds[0], replace(osds[1], up=False), osds[2]), num_up_osds=2,
               checks=lab.data["ceph"].checks + (CephCheck("OSD_DOWN", "HEALTH_WARN", "1 osds down",
                                                           (OSD_DOWN_DETAIL,)),))


async def test_incident_pane_at_80x24_shows_root_effects_start_and_closes(make_app, lab):
    osd1_down(lab)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        findings = app.screen.query_one("#findings", FastTable)
        key = findings.cursor_key
        assert key.startswith("ceph|osd.1|")
        assert findings.get_row(key).cells[4] == "0s"  # AGE: the timeline saw it start at the first poll
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, FindingDetail)
        text = screen_text(app)
        for part in ("incident: osd.1", " 1  WARNING [ceph] osd.1", "osd.1 on pve2 is down",
                     "hint: check the ceph-osd@1 service on pve2", "started: ", "(0s ago)", "evidence", "host: pve2",
                     OSD_DOWN_DETAIL, "effects (2)", " 2  warn [ceph] Ceph is HEALTH_WARN",
                     " 3  warn [ceph] OSD_DOWN: 1 osds down"):
            assert part in text, (part, text)
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "health" and not isinstance(app.screen, FindingDetail)
        assert app.screen.query_one("#findings", FastTable).cursor_key == key


async def test_pane_scrolls_when_it_does_not_fit(make_app, lab):
    """Node pve3 offline with its twelve guests listed: more lines than 24 rows; G scrolls, esc closes."""
    pve = lab.data["proxmox"]
    extra = tuple(Guest(400 + i, f"ct{i}", "lxc", "pve3", "stopped") for i in range(10))
    lab.update("proxmox", nodes=tuple(replace(n, status="offline") if n.name == "pve3" else n for n in pve.nodes),
               votes=2, guests=pve.guests + extra)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        findings = app.screen.query_one("#findings", FastTable)
        findings.move_cursor_to_key(next(k for k in findings.visible_keys if k.startswith("cluster|pve3|")))
        await pilot.press("enter")
        await pilot.pause()
        box = app.screen.query_one(VerticalScroll)
        assert box.max_scroll_y > 0 and box.scroll_y == 0
        assert "node pve3 is offline" in screen_text(app) and "status: offline" in screen_text(app)
        await pilot.press("G")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        assert "ct9 (409) stopped, not HA-managed" in screen_text(app)
        assert " 2  warn [cluster] quorum at risk" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "health" and not isinstance(app.screen, FindingDetail)


async def test_finding_pane_shows_its_evidence_and_jump_keys_land_filtered(make_app, lab):
    osd1_down(lab)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        findings = app.screen.query_one("#findings", FastTable)
        await pilot.press("space")  # open the incident, then its OSD_DOWN effect
        await pilot.pause()
        findings.move_cursor_to_key(next(k for k in findings.visible_keys if ">ceph|OSD_DOWN|" in k))
        await pilot.press("enter")
        await pilot.pause()
        text = screen_text(app)
        assert "finding: OSD_DOWN" in text and "OSD_DOWN: 1 osds down" in text and OSD_DOWN_DETAIL in text
        # its own subject first, then the incident's root
        assert " 1  WARNING [ceph] OSD_DOWN" in text and "its incident (root first)" in text
        assert " 2  [ceph] osd.1 on pve2 is down" in text
        await pilot.press("2")
        await pilot.pause()
        assert app.current_mode == "ceph"
        osds = app.screen.query_one("#osds", FastTable)
        assert osds.filter_text == "osd.1" and osds.visible_keys == ["osd.1"] and osds.has_focus


async def test_a_guest_finding_pane_names_its_ha_state_and_jumps_to_the_guest(make_app, lab):
    pve = lab.data["proxmox"]
    ha = replace(pve.ha, services=tuple(replace(s, state="error") if s.sid == "vm:101" else s for s in pve.ha.services))
    lab.update("proxmox", ha=ha)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        findings = app.screen.query_one("#findings", FastTable)
        findings.move_cursor_to_key(next(k for k in findings.visible_keys if "vm:101" in k))
        await pilot.press("d")
        await pilot.pause()
        assert "HA vm:101: state error on" in screen_text(app)
        await pilot.press("enter")  # the row's own subject
        await pilot.pause()
        assert app.current_mode == "guests"
        assert app.screen.query_one("#guests", FastTable).visible_keys == ["qemu/101"]


async def test_shift_letter_sorts_by_that_column_and_again_reverses(make_app):
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await poll(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#guests", FastTable)
        await pilot.press("O")  # NODE: its N is NAME's, so O (as k9s)
        assert table.columns[table.sort_column].label == "NODE" and not table.sort_reverse
        nodes = [table.get_row(k).cells[3] for k in table.visible_keys]
        assert nodes == sorted(nodes)
        await pilot.press("O")
        assert table.sort_reverse and [table.get_row(k).cells[3] for k in table.visible_keys] == sorted(nodes,
                                                                                                         reverse=True)
        await pilot.press("S")  # STATUS
        assert table.columns[table.sort_column].label == "STATUS"
        assert "STATUS▲" in screen_text(app)
        await pilot.press("G")  # stays "bottom"
        assert table.cursor == table.row_count - 1
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        sort_line = dict(app.screen.keys)["sort guests"]
        assert "N:NAME" in sort_line and "O:NODE" in sort_line and "S:STATUS" in sort_line


async def test_focused_table_is_marked_and_the_other_cursor_dimmed(make_app, lab):
    osd1_down(lab)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        nodes = app.screen.query_one("#nodes", FastTable)
        findings = app.screen.query_one("#findings", FastTable)

        def header_bg(table):
            return list(table.render_line(0))[0].style.bgcolor

        def cursor_bg(table):
            return list(table.render_line(1))[0].style.bgcolor

        assert findings.has_focus
        lit, plain = header_bg(findings), header_bg(nodes)
        assert lit != plain
        focused_cursor, blurred_cursor = cursor_bg(findings), cursor_bg(nodes)
        assert focused_cursor != blurred_cursor
        assert "━incidents" in screen_text(app) and "─nodes" in screen_text(app)
        await pilot.press("tab")
        await pilot.pause()
        assert nodes.has_focus
        assert header_bg(nodes) == lit and header_bg(findings) == plain
        assert cursor_bg(nodes) == focused_cursor and cursor_bg(findings) == blurred_cursor
        assert "━nodes" in screen_text(app) and "─incidents" in screen_text(app)


def test_pane_text_marks_quiet_findings_and_runs_out_of_keys_clearly():
    from console.incidents import Assessed, Incident
    from console.model import Finding
    from console.silences import Silence
    from screens.finding_detail import JUMP_KEYS, detail_text

    root = Assessed(Finding("critical", "cluster", "pve3", "node pve3 is offline"), silenced_by="s1")
    effects = tuple(Assessed(Finding("warning", "guests", str(100 + i), f"guest {100 + i} is unavailable"))
                    for i in range(40))
    incident = Incident(root, effects, ("down: whoami.lab.home",))
    silence = Silence("s1", "pve3", 10_000.0, "power work", 0.0)
    text = detail_text(incident, None, None, 0.0, (silence,)).plain
    assert "silenced by s1 (power work): reported, not counted" in text
    assert "down: whoami.lab.home" in text and "started: not known" in text
    assert f" {JUMP_KEYS[-1]}  warn [guests] guest {100 + len(JUMP_KEYS) - 2} is unavailable" in text
    assert f"... and {41 - len(JUMP_KEYS)} more: go to them from the list" in text
    expected = detail_text(incident, Assessed(effects[0].finding, expected_run="r1"), None, 0.0).plain
    assert "caused on purpose by maintenance run r1" in expected


async def test_hostile_text_in_a_finding_reaches_the_pane_inert_and_literal():
    from textual.app import App

    from console.hostile_corpus import CORPUS, OSC_TITLE
    from console.incidents import Assessed, Incident
    from console.model import Finding

    finding = Finding("critical", "traefik", CORPUS[3], f"router {CORPUS[0]} is disabled", CORPUS[5],
                      evidence=CORPUS)
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(FindingDetail(Incident(Assessed(finding)), None, None, 0.0))
        await pilot.pause()
        shot = app.export_screenshot()
        text = screen_text(app)
    assert OSC_TITLE not in shot and "\x1b" not in text and "\x07" not in text
    assert "[bold red]x[/]" in text and "[link=https://evil.example]click[/link]" in text  # literal, not markup
