"""The console on the `hostile` simulated lab in a real terminal emulator (tmux): the pane
title is never renamed by data (OSC 0), and the guests table stays aligned with hostile
names (emoji, RTL override, 10,000 characters, CR) in it."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.e2e.tmux_helpers import TmuxSession, console_env, make_sandbox, tmux_available

pytestmark = pytest.mark.e2e

LABCONSOLE = Path(sys.executable).parent / "labconsole"
WIDTH, HEIGHT = 120, 40


@pytest.fixture
def sandbox():
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/install-deps.sh --test installs it)")
    root = make_sandbox("lchtm-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _title(tm: TmuxSession) -> str:
    return tm._tmux("display-message", "-p", "-t", tm.session, "#{pane_title}").stdout.strip()


def _node_columns(screen: str) -> list[tuple[str, int]]:
    """(row, cell column where its NODE value starts) for every guests-table row on the screen."""
    rows = []
    for line in screen.splitlines():
        m = re.match(r"^\s*(\d{3})\s", line)
        node = re.search(r"\bpve[123]\b", line)
        if m and node:
            rows.append((line, cell_len(line[:node.start()])))
    return rows


def test_pane_title_unchanged_and_guest_rows_aligned(sandbox):
    env = console_env(sandbox, COLORTERM="")
    with TmuxSession([str(LABCONSOLE), "demo", "--scenario", "hostile"], width=WIDTH, height=HEIGHT, env=env,
                     cwd=str(sandbox)) as tm:
        title = _title(tm)
        tm.wait_for("vrrp", timeout=120)
        time.sleep(6)
        for key in "1234567":
            tm.send(key)
            time.sleep(1.5)
        tm.send("4", "j", "l")  # the Swarm log view carries OSC 0 lines too
        time.sleep(3)
        tm.send("Escape")
        time.sleep(1)
        tm.send("2")
        time.sleep(1.5)
        tm.send("G")  # guests, down to the hostile ones
        screen = tm.wait_until(lambda s: len(_node_columns(s)) >= 10, timeout=30, what="guest rows")
        assert "PWNED" in screen  # the hostile names are on screen, as text
        assert _title(tm) == title, f"the pane title changed from {title!r} to {_title(tm)!r}"
        rows = _node_columns(screen)
        columns = {col for _, col in rows}
        assert len(columns) == 1, "guest rows are misaligned:\n" + "\n".join(f"{c:3d} {r}" for r, c in rows)
        widths = {cell_len(line.rstrip()) <= WIDTH for line in screen.splitlines()}
        assert widths == {True}
        tm.send("d")  # the detail pane of a hostile guest
        time.sleep(2)
        assert _title(tm) == title
