"""End-to-end: the real `labconsole --demo` in tmux: in the guests view, space marks two guests, ctrl+e
reboots both after one confirmation, and the queue panel shows each one done; the command log has both
calls. The demo runs its lab at speed 20 so a reboot takes well under a second of real time."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.tmux_helpers import TmuxSession, console_env, make_sandbox, tmux_available

pytestmark = pytest.mark.e2e

LABCONSOLE = Path(sys.executable).parent / "labconsole"
START_BOUND = 60.0  # the sim's start-up plus the first poll on a loaded 2-core machine


@pytest.fixture
def sandbox():
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/install-deps.sh --test installs it)")
    root = make_sandbox("lcgb-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_mark_two_guests_and_reboot_them(sandbox):
    env = console_env(sandbox, COLORTERM="")
    started = time.monotonic()
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", "20"], width=120, height=36, env=env,
                     cwd=str(sandbox)) as tm:
        tm.wait_until(lambda s: "swarm" in s and "loading" not in s, START_BOUND, what="the health view")
        tm.send("2")
        tm.wait_until(lambda s: "swarm2" in s, 15, what="the guests view")
        tm.type("/")
        tm.type("swarm")
        tm.send("Enter")
        screen = tm.wait_until(lambda s: "guests 3/" in s, 10, what="the filter to the swarm guests")
        tm.send("Space", "Space")  # swarm1, then the cursor moves on: swarm2
        screen = tm.wait_until(lambda s: "●2 marked" in s, 10, what="two marks")
        marked = [line for line in screen.splitlines() if line.lstrip().startswith("●") and "swarm" in line]
        assert [("swarm1" in line, "swarm2" in line) for line in marked] == [(True, False), (False, True)]
        tm.send("C-e")
        screen = tm.wait_until(lambda s: "Reboot 2 guests" in s, 10, what="the confirmation")
        assert "121 (swarm1)" in screen and "122 (swarm2)" in screen
        tm.send("y")
        screen = tm.wait_until(lambda s: "2 done" in s, 30, what="the queue: both reboots done")
        lines = [line for line in screen.splitlines() if "reboot VM" in line]
        assert len(lines) == 2 and all("✔ done" in line for line in lines), screen
        print(f"\nmarked and rebooted two guests in {time.monotonic() - started:.1f} s (start-up included)")
    records = [json.loads(line) for line in (sandbox / "state" / "command-log.jsonl").read_text().splitlines()]
    calls = sorted(r["call"] for r in records if r["call"].endswith("/status/reboot"))
    assert calls == ["POST nodes/pve1/qemu/121/status/reboot", "POST nodes/pve2/qemu/122/status/reboot"]
