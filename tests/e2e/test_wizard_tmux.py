"""End-to-end: the maintenance wizard of the real `labconsole --demo` in tmux walks
one node (pve3) through maintenance, driven by keys and read from the screen.

A private tmux server per test (tests/e2e/tmux_helpers.py); the demo's temp dir,
the journal (LABCONSOLE_STATE_DIR) and the XDG dirs live in this test's own
temp dir. Waits are bounded by generous timeouts; nothing is timed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.tmux_helpers import TmuxSession, console_env, make_sandbox, tmux_available

pytestmark = pytest.mark.e2e

LABCONSOLE = Path(sys.executable).parent / "labconsole"
START_BOUND = 90.0  # the sim's start-up and the first poll of every layer, on a loaded machine
PLAN_BOUND = 60.0  # plan + preflight read every layer once
RUN_BOUND = 300.0  # one node at --speed 20 takes ~10 s here; generous for a busy 2-core CI box
ENDED = ("maintenance done", "maintenance rolled_back", "stopped at", "interrupted")


@pytest.fixture
def sandbox():
    if not tmux_available():
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; scripts/install-deps.sh --test installs it")
        pytest.skip("tmux is not installed (scripts/install-deps.sh --test installs it)")
    if not LABCONSOLE.exists():
        pytest.fail(f"{LABCONSOLE} is missing: install the project into the venv (scripts/install-deps.sh)")
    root = make_sandbox("lcwiz-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _env(root: Path) -> dict[str, str]:
    return console_env(root)


def _demo_dir(root: Path) -> Path:
    found = [d for d in (root / "tmp").glob("labconsole-demo-*") if (d / "sim.json").exists()]
    assert found, f"no demo dir under {root / 'tmp'}"
    return found[0]


def _choose_pve3(tm: TmuxSession) -> str:
    tm.send("7")
    tm.wait_until(lambda s: "Maintenance wizard" in s and _row(s, "pve3"), 20, "the wizard's node list")
    tm.send("Down", "Down", "Down", "Enter")  # rows: all, pve1, pve2, pve3
    tm.wait_for("drain only, for hardware work", 10)
    tm.send("u")  # upgrade (d: drain only)
    screen = tm.wait_until(lambda s: "preflight passed" in s or "checks failed" in s or "cannot plan" in s,
                           PLAN_BOUND, "plan and preflight")
    assert "preflight passed" in screen and "Maintenance plan for pve3" in screen, screen
    return screen


def _confirm(tm: TmuxSession, word: str) -> None:
    tm.send("c")
    tm.wait_for(f"Type {word}", 10)
    tm.type(word)
    tm.send("Enter")


def _row(screen: str, name: str) -> str:
    return next((line for line in screen.splitlines() if line.strip().startswith(name + " ")), "")


def test_wizard_walks_pve3_through_maintenance(sandbox):
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", "20"], width=100, height=30, env=_env(sandbox),
                     cwd=str(sandbox)) as tm:
        screen = tm.wait_until(lambda s: "nodes 3/3 up" in s, START_BOUND, "the health view of the demo lab")
        before = _row(screen, "pve3")
        assert "online" in before, screen

        # 7: the wizard; its node list comes from the first poll; enter on pve3 plans it and runs preflight
        screen = _choose_pve3(tm)
        assert "c: confirm by typing pve3" in screen, screen

        # a wrong name is refused and nothing starts
        tm.send("c")
        tm.wait_for("Type pve3", 10)
        tm.type("pve2")
        tm.send("Enter")
        screen = tm.wait_for("not confirmed", 10)
        assert "preflight passed" in screen and not list((sandbox / "state").glob("journal/*/*.jsonl"))

        # the right name starts the run; the steps show live
        _confirm(tm, "pve3")
        tm.wait_until(lambda s: "pve3 steps" in s and "▶" in s or any(e in s for e in ENDED), 30, "the run to start")
        screen = tm.wait_until(lambda s: any(e in s for e in ENDED), RUN_BOUND, "the run to end")
        assert re.search(r"maintenance done after [\d a-z]+: nodes done pve3", screen), screen
        # (the node's "■ pve3: done" row may have scrolled out above the 27 steps; the headline says it)
        # rejoin steps shown done (the list of 28 may show its top or its end, V5 being last now)
        assert any(f"✔ {step}" in screen for step in ("R2", "R3", "R4", "V5")), screen

        journals = list((sandbox / "state").glob("journal/*/*.jsonl"))
        assert len(journals) == 1
        records = [json.loads(line) for line in journals[0].read_text().splitlines()]
        assert records[-1]["event"] == "run-end" and records[-1]["state"] == "done"
        assert [r["node"] for r in records if r["event"] == "node-done"] == ["pve3"]

        # Health shows the node back: online, out of HA maintenance, on the new kernel, nothing pending
        tm.send("1")

        def back(s: str) -> bool:
            row = _row(s, "pve3")
            return ("nodes 3/3 up" in s and "online" in row and "maint" not in row
                    and re.search(r"\s0\s+(idle|active)\b", row) is not None)  # UPD 0, then HA/MAINT

        screen = tm.wait_until(back, 30, "Health to show pve3 back")
        kernel = re.search(r"6\.\d+\.\d+-\d+-pve", _row(screen, "pve3"))
        assert kernel and kernel.group(0) not in before, (before, _row(screen, "pve3"))

        tm.send("C-q")  # nothing applying: quits without asking
        tm.wait_until(lambda s: tm.pane_dead(), 30, "the console to quit")


def test_wizard_stops_at_a_failed_upgrade_and_rolls_back_at_80x24(sandbox):
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", "20"], width=80, height=24, env=_env(sandbox),
                     cwd=str(sandbox)) as tm:
        tm.wait_until(lambda s: "nodes 3/3 up" in s, START_BOUND, "the health view of the demo lab")
        fault = subprocess.run([sys.executable, "-m", "console.sim", "fault", "--dir", str(_demo_dir(sandbox)),
                                "apt-fail", "pve3"], capture_output=True, text=True, timeout=30)
        assert fault.returncode == 0, fault.stderr
        _choose_pve3(tm)
        _confirm(tm, "pve3")
        screen = tm.wait_until(lambda s: any(e in s for e in ENDED), RUN_BOUND, "the run to stop")
        assert "stopped at U1 on pve3" in screen, screen
        assert "r: retry · ctrl+b: roll back · ctrl+x: abort" in screen and "ctrl+y: skip" not in screen, screen
        assert "✖ U1" in screen, screen

        tm.send("C-b")
        tm.wait_for("Roll back pve3", 10)
        tm.send("y")
        screen = tm.wait_until(lambda s: "maintenance rolled_back" in s or "rollback_failed" in s, RUN_BOUND,
                               "the rollback to end")
        assert "maintenance rolled_back" in screen and "↺ D1" in screen, screen

        tm.send("Escape")
        time.sleep(0.5)  # a key right after Escape would read as alt+key
        tm.send("1")
        tm.wait_until(lambda s: "online" in _row(s, "pve3") and "maint" not in _row(s, "pve3")
                      and "nodes 3/3 up" in s, 30, "Health to show pve3 back, out of maintenance")
