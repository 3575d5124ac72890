"""For every fault the sim can inject, the header dots, the Health tiles, `check` and its
findings tell one story (the console on the real sim, through its real sources)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time

import pytest

from console.app import ConsoleApp
from console.check import run_check
from console.cli import main
from console.config import load_config
from console.sim.faults import KINDS
from console.sources import build_hub
from tests.simlab import SimLab
from widgets.fast_table import FastTable

from .agreement import disagreements, header_levels, tile_levels
from .helpers import screen_text

pytestmark = pytest.mark.slow

# kind -> (target, seconds of lab time to let it show), or the reason it shows nothing on its own
FAULTS = {
    "node-down": ("pve3", 20), "osd-down": ("1", 5), "split-brain": (None, 5), "ha-error": ("110", 3),
    "traefik-backend-down": ("whoami", 5), "error-rate": ("traefik", 1), "latency": ("ceph", 1),
    "guest-lock": ("112", 1), "mon-down": ("pve2", 1), "enterprise-repo": ("pve2", 1),
}
NOT_ALONE = {  # faults that only act on what a maintenance run does (tests/maintenance covers them)
    "mon-up": "clears mon-down",
    "node-up": "clears node-down", "osd-up": "clears osd-down", "traefik-backend-up": "clears a backend fault",
    "apt-fail": "fails the upgrade step of a run", "no-return": "keeps a rebooting node away",
    "bad-kernel": "fails a run's verification", "migrate-fail": "fails a run's migration",
    "osd-stuck": "keeps an OSD down after a run's reboot", "vip-stuck": "stops the VIP moving when a run moves it",
    "backup-fail": "runs a whole backup job (minutes of lab time) before it shows; tests/data/test_check_backups.py",
    "local-resource": "only changes what a maintenance plan can move",
    "ha-pin": "a strict HA rule: only changes what a maintenance plan can move (tests/maintenance/test_ha_rules_plan)",
    # h-swarmimg: registry faults act on an image check or an upgrade (tests/ops/test_swarm_upgrade.py)
    "image-publish": "a new digest for a tag: `swarm images` says newer digest available, nothing is down",
    "image-crash": "a tag whose tasks crash: only an upgrade to it shows (Swarm rolls it back)",
    "registry-private": "only the image inventory shows it (cannot check: private image)",
    # h-upgguest: faults that act on a guest or firewall upgrade (tests/upgrade)
    "guest-upgrade-breaks-service": "breaks a guest only when an upgrade inside it runs (rolled back to its snapshot)",
    "snapshot-fails": "fails an upgrade's snapshot step; the guest itself is untouched",
    "backup-firewall-fails-check": "fails the BACKUP firewall's check after its upgrade; nothing is down before",
}


def test_every_fault_kind_is_covered():
    assert set(FAULTS) | set(NOT_ALONE) == set(KINDS), "a new sim fault: add it to FAULTS or NOT_ALONE"




async def settle(app, pilot) -> tuple[dict, dict]:
    await app.hub.poll_all_once()
    await pilot.pause()
    return header_levels(app), tile_levels(app)


async def check_json(lab, capsys) -> tuple[int, dict]:
    """`labconsole check --json` (it runs its own event loop: in a thread; the running App
    captures sys.stdout, so the report goes to a buffer)."""
    out = io.StringIO()
    cluster = load_config(lab.config_path).cluster(None)
    code = await asyncio.to_thread(run_check, cluster, True, out)
    return code, json.loads(out.getvalue())


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_header_tiles_check_and_findings_agree(kind, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    target, lab_seconds = FAULTS[kind]
    with SimLab("seed", speed=10.0) as lab:
        lab.back_up_all()  # the seed's own backup findings would share the story with the fault's
        config = load_config(lab.config_path)
        app = ConsoleApp(config, None, lambda c: build_hub(c, read_only=True), start_polling=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            lab.control(kind, target, 1.0 if kind == "error-rate" else (0.3 if kind == "latency" else None))
            time.sleep(lab_seconds / 10)
            problems = None
            for _ in range(3):  # the console and `check` poll at different moments: agree on one state
                before = await settle(app, pilot)
                code, doc = await check_json(lab, capsys)
                after = await settle(app, pilot)
                if before == after:
                    failing = {name for name, snap in app.snapshots.items() if snap.error is not None}
                    problems = disagreements(*after, doc, failing)
                    if not problems:
                        break
            assert problems == [], (kind, problems, screen_text(app))
            assert code == doc["exit_code"]
            first = app.screen.query_one("#findings", FastTable).visible_keys[:1]
            if doc["incidents"]:
                root = doc["incidents"][0]["root"]
                # the same root (its wording differs for a failing source: stale here, unreachable there)
                assert [k.split("|")[:2] for k in first] == [[root["layer"], root["subject"]]]


async def test_one_node_down_is_one_incident_in_check_json_and_health(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path))
    with SimLab("seed", speed=10.0) as lab:
        lab.back_up_all()  # else the seed's never backed-up guest is an incident of its own
        lab.control("node-down", "pve3")
        lab.wait_until(lambda s: s["nodes"]["pve3"]["status"] == "offline", timeout=20)
        time.sleep(2.0)  # 20 s of lab time: Swarm and Traefik notice
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["--config", str(lab.config_path), "check"])
        text = capsys.readouterr().out
        top = [line for line in text.splitlines() if re.match(r"(CRIT|WARN|UNKN|INFO|SIL|EXP) ", line)]
        assert code == 2 and top == ["CRIT [cluster] node pve3 is offline"], text
        for effect in ("osd.2 on pve3 is down", "swarm node swarm3 is down",
                       "jellyfin (111) is unavailable: its node pve3 is down", "Ceph is HEALTH_WARN"):
            assert any(effect in line and line.startswith("    ") for line in text.splitlines()), (effect, text)
        code, doc = await check_json(lab, capsys)
        assert [i["root"]["subject"] for i in doc["incidents"]] == ["pve3"]
        assert set(doc["incidents"][0]["root"]) >= {"severity", "layer", "subject", "text", "hint"}
        assert len(doc["incidents"][0]["effects"]) >= 8 and doc["findings"]

        config = load_config(lab.config_path)
        app = ConsoleApp(config, None, lambda c: build_hub(c, read_only=True), start_polling=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            table = app.screen.query_one("#findings", FastTable)
            assert len(table.visible_keys) == 1 and table.visible_keys[0].startswith("cluster|pve3|")
            assert "node pve3 is offline" in screen_text(app)
            await pilot.press("space")  # expand: its effects beneath it
            await pilot.pause()
            assert len(table.visible_keys) > 8 and any("jellyfin" in k for k in table.visible_keys)
