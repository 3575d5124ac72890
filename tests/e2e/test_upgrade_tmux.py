"""End-to-end: `:updates` in the real `labconsole --demo` in tmux shows the updates
inventory, refuses a wrong confirmation, and upgrades everything after the
cluster's name is typed, to the end (every item done), read from the screen and
the journal. A private tmux server and state dir per test (tests/e2e/tmux_helpers.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.test_wizard_tmux import LABCONSOLE, START_BOUND
from tests.e2e.tmux_helpers import TmuxSession, console_env, make_sandbox, tmux_available

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEED = "60"  # lab seconds per real second: everything takes ~40 s of real time here
READ_BOUND = 60.0  # one round trip into every guest and the registry
RUN_BOUND = 300.0  # generous for a busy 2-core CI box


@pytest.fixture
def sandbox():
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/install-deps.sh --test installs it)")
    if not LABCONSOLE.exists():
        pytest.fail(f"{LABCONSOLE} is missing: install the project into the venv (scripts/install-deps.sh)")
    root = make_sandbox("lcupd-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _journals(root: Path) -> list[Path]:
    return list((root / "state").glob("journal/*/*.jsonl"))


def test_updates_view_upgrades_everything_after_the_typed_cluster_name(sandbox):
    with TmuxSession([str(LABCONSOLE), "--demo", "--speed", SPEED], width=140, height=40, env=console_env(sandbox),
                     cwd=str(sandbox)) as tm:
        tm.wait_until(lambda s: "nodes 3/3 up" in s, START_BOUND, "the health view of the demo lab")
        tm.type(":updates")
        tm.send("Enter")
        screen = tm.wait_until(lambda s: "item(s) to upgrade" in s, READ_BOUND, "the updates inventory")
        assert "11 item(s) to upgrade" in screen, screen
        # (the WHAT column may be cut at the pane's width: the reasons' full text is tested headless)
        ha_row = next(line for line in screen.splitlines() if "homeassistant (110)" in line)
        assert "skipped" in ha_row and "not inspectable" in ha_row and "newer digest av" in screen, screen

        tm.send("u")
        tm.wait_for("Type demo", 10)
        tm.type("prod")
        tm.send("Enter")
        tm.wait_for("not confirmed", 10)
        assert not _journals(sandbox)

        tm.send("u")
        tm.wait_for("Type demo", 10)
        tm.type("demo")
        tm.send("Enter")
        tm.wait_until(lambda s: "[firewalls]" in s, 30, "progress lines of the first item")
        # the run ends, then the view reads every layer again (the log's title shows the phase)
        screen = tm.wait_until(lambda s: "output · ready" in s, RUN_BOUND, "the run to end and the rows to be read")
        assert re.search(r"run \S+: done; 0 item\(s\) to upgrade", screen), screen
        # the end report item by item, or the step table's row when the report scrolled under it
        assert "✔ service:grafana: done" in screen or re.search(r"service:grafana +\S+ +✔ done", screen), screen
        journals = _journals(sandbox)
        assert len(journals) == 1
        records = [json.loads(line) for line in journals[0].read_text().splitlines()]
        assert records[-1]["event"] == "run-end" and records[-1]["state"] == "done", records[-1]
        done = [r["node"] for r in records if r["event"] == "node-done"]
        # the pair runs alongside pve3 (no firewall there); pve1 holds fw1, so it waits for the pair
        assert done.index("firewalls") < done.index("pve1") and done[-1] == "service:grafana", done
        assert len(done) == 11, done


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
