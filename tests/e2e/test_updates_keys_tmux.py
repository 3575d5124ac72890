"""End-to-end at 80x24: the `:updates` view of the real `labconsole --demo` in tmux.
The selected row's full WHAT (why it is skipped) is the line under the table; `u` and
the typed cluster name upgrade everything to the end with the step table (item, step,
state, time) over the output; a guest whose upgrade breaks its service (a fault
injected into the running sim) is rolled back, `r` retries it once the fault is gone;
a run aborted with ctrl+x stays unfinished and ctrl+b rolls its item back. Read from
the screen and the journal; a private tmux server and state dir per test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import test_upgrade_tmux as updates_tmux
from tests.e2e.test_wizard_tmux import LABCONSOLE, START_BOUND
from tests.e2e.tmux_helpers import TmuxSession, console_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
sandbox = updates_tmux.sandbox  # the fixture: a private root per test (skips without tmux)
SPEED, READ_BOUND, RUN_BOUND = updates_tmux.SPEED, updates_tmux.READ_BOUND, updates_tmux.RUN_BOUND


def _records(root: Path) -> list[list[dict]]:
    """Every run's journal records, oldest run first."""
    return [[json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted((root / "state").glob("journal/*/*.jsonl"))]


def _sim(root: Path, *args: str) -> None:
    demo = next(d for d in (root / "tmp").glob("labconsole-demo-*") if (d / "sim.json").exists())
    r = subprocess.run([sys.executable, "-m", "console.sim", args[0], "--dir", str(demo), *args[1:]],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def _open_updates(tm: TmuxSession) -> str:
    tm.wait_until(lambda s: "nodes 3/3 up" in s, START_BOUND, "the health view of the demo lab")
    tm.type(":updates")
    tm.send("Enter")
    return tm.wait_until(lambda s: "item(s) to upgrade" in s, READ_BOUND, "the updates inventory")


def _select(tm: TmuxSession, text: str, name: str) -> None:
    """Filter the rows by `text`; the cursor lands on the row `name` (the first left), whose full
    WHAT is the line under the table."""
    tm.type("/")
    time.sleep(0.3)  # the prompt opens
    tm.type(text)
    tm.send("Enter")
    tm.wait_until(lambda s: any(line.startswith(f" {name}:") for line in s.splitlines()), 10,
                  f"the cursor on {name}")


def _confirm_with(tm: TmuxSession, key: str, word: str = "demo") -> None:
    tm.send(key)
    tm.wait_for(f"Type {word}", 10)
    tm.type(word)
    tm.send("Enter")


def _status(screen: str) -> str:
    return screen.splitlines()[1]


def test_updates_at_80x24_shows_the_reason_and_upgrades_everything_with_its_steps(sandbox):
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", SPEED], width=80, height=24,
                     env=console_env(sandbox), cwd=str(sandbox)) as tm:
        screen = _open_updates(tm)
        assert "11 item(s) to upgrade" in screen, screen
        _select(tm, "homeassistant", "homeassistant (110)")
        # the WHAT column is cut at 80 columns; the line under the table has it in full
        tm.wait_for("homeassistant (110): not inspectable: not Debian (Home Assistant OS)", 5)
        tm.send("Escape")  # the filter goes
        tm.wait_until(lambda s: "updates 22" in s, 5, "the filter to go")

        _confirm_with(tm, "u")
        screen = tm.wait_until(lambda s: "ITEM" in s and "firewalls" in s and "STEP" in s, 30, "the step table")
        assert "· pending" in screen, screen  # the steps to come
        screen = tm.wait_until(lambda s: re.search(r"run \S+: done; 0 item\(s\) to upgrade", s) is not None,
                               RUN_BOUND, "the run to end and the rows to be read again")
        assert "output · ready" in screen, screen  # the log pane, under the steps, at 80x24
        for item in ("firewalls", "pve3", "201/db", "service:grafana"):
            assert re.search(rf"{re.escape(item)}\s+\S+\s+✔ done\s+\d+ s", screen), (item, screen)
        runs = _records(sandbox)
        assert len(runs) == 1 and runs[0][-1]["event"] == "run-end" and runs[0][-1]["state"] == "done"
        assert len([r for r in runs[0] if r["event"] == "node-done"]) == 11

        tm.send("Escape")  # back to the inventory: everything up to date
        screen = tm.wait_until(lambda s: "KIND" in s, 5, "the inventory")
        assert "upgrade " not in "".join(line[60:70] for line in screen.splitlines()), screen


def test_a_broken_guest_is_rolled_back_retried_with_r_and_an_aborted_run_rolled_back_with_ctrl_b(sandbox):
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", SPEED], width=80, height=24,
                     env=console_env(sandbox), cwd=str(sandbox)) as tm:
        _open_updates(tm)
        _sim(sandbox, "fault", "guest-upgrade-breaks-service", "201")
        _select(tm, "201", "db (201)")
        _confirm_with(tm, "i")
        screen = tm.wait_until(lambda s: "r: retry" in s, RUN_BOUND, "the run to stop and the retry to be offered")
        assert "the last run stopped at 201/db (rolled back)" in screen, screen
        assert re.search(r"201/db\s+G\w\s+↺ rolled back", screen), screen
        assert re.search(r"G2\s+↺ undone", screen), screen  # the step table: the upgrade undone
        assert _records(sandbox)[0][-1]["state"] == "rolled_back"

        _sim(sandbox, "clear", "guest-upgrade-breaks-service", "201")
        _confirm_with(tm, "r")
        screen = tm.wait_until(lambda s: re.search(r"run \S+: done;", s) is not None, RUN_BOUND, "the retry")
        assert re.search(r"201/db\s+G5\s+✔ done", screen), screen
        assert "r: retry" not in screen, screen
        runs = _records(sandbox)
        assert [r["nodes"] for r in (run[0] for run in runs)] == [["201/db"], ["201/db"]]
        assert runs[1][-1]["state"] == "done"

        # abort a run while its guest's checks wait (the fault breaks mail's service: G4 waits for it)
        tm.send("Escape")
        _sim(sandbox, "fault", "guest-upgrade-breaks-service", "200")
        tm.send("Escape")
        tm.wait_until(lambda s: "updates 22" in s, 5, "the filter to go")
        _select(tm, "200", "mail (200)")
        _confirm_with(tm, "i")
        tm.wait_until(lambda s: re.search(r"G4\s+▶ running", s) is not None, RUN_BOUND, "mail's checks to run")
        tm.send("C-x")
        tm.wait_for("Abort the upgrade run now?", 10)
        tm.send("y")
        screen = tm.wait_until(lambda s: "unfinished upgrade run" in s, 30, "the aborted run's banner")
        assert "ctrl+b: roll back" in _status(screen) or "ctrl+b: roll back" in screen, screen
        assert _records(sandbox)[-1][-1]["event"] != "run-end"  # the journal keeps it open

        tm.send("C-b")
        tm.wait_for("Roll back 200/mail", 10)
        tm.send("y")
        screen = tm.wait_until(lambda s: re.search(r"run \S+: rolled back", s) is not None, RUN_BOUND,
                               "the rollback")
        assert "unfinished upgrade run" not in screen, screen
        last = _records(sandbox)[-1]
        assert last[-1]["event"] == "run-end" and last[-1]["state"] == "rolled_back", last[-1]
        assert any(r["event"] == "aborted" for r in last)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
