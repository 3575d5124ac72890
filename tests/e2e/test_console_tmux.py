"""End-to-end: the real `labconsole --demo` in tmux, driven by keys, read from the screen.

Each test starts its own private tmux server (tests/e2e/tmux_helpers.py) with
TMPDIR, the XDG dirs and LABCONSOLE_STATE_DIR in a fresh temp dir, so the demo's
temp dir (TMPDIR/labconsole-demo-*) is this test's alone: faults are injected
into exactly the sim this console polls, with `python -m console.sim fault`.

Waits are bounded by generous timeouts only; the launch time is printed (run
with -s to see it), not asserted against the 3 s target of issue 2.
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

REPO = Path(__file__).resolve().parents[2]
LABCONSOLE = Path(sys.executable).parent / "labconsole"
FAULT_SLACK = 12.0  # on top of two poll intervals: a loaded 2-core machine
START_BOUND = 60.0  # the sim's start-up plus the first poll of every layer
TILES = ("Cluster", "Guests", "Ceph", "Swarm", "Traefik", "VRRP")


def _require_tmux() -> None:
    if not tmux_available():
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; scripts/install-deps.sh --test installs it")
        pytest.skip("tmux is not installed (apt-get install tmux; scripts/install-deps.sh --test does it)")
    if not LABCONSOLE.exists():
        pytest.fail(f"{LABCONSOLE} is missing: install the project into the venv (scripts/install-deps.sh)")


@pytest.fixture
def sandbox():
    root = make_sandbox("lce2e-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _console_env(root: Path) -> dict[str, str]:
    return console_env(root, COLORTERM="")  # the colour depth comes from TERM alone


def _launch(root: Path, term: str, width: int = 80, height: int = 24) -> TmuxSession:
    return TmuxSession([str(LABCONSOLE), "--demo"], width=width, height=height, env=_console_env(root),
                       cwd=str(root), term=term)


def _demo_dir(root: Path, timeout: float = START_BOUND) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in (root / "tmp").glob("labconsole-demo-*") if (d / "sim.json").exists()]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no demo dir with sim.json appeared under {root / 'tmp'}")


def _sim_pid(demo_dir: Path) -> int:
    return int(json.loads((demo_dir / "sim.json").read_text())["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped) is as good as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _poll_interval(demo_dir: Path) -> float:
    """The `interval` of the demo config's cluster (every source polls at most that far apart)."""
    import tomllib

    clusters = tomllib.loads((demo_dir / "config.toml").read_text())["clusters"]
    return float(next(iter(clusters.values()))["interval"])


def _sim(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "console.sim", *args], capture_output=True, text=True,
                         timeout=30, cwd=REPO, check=True).stdout
    return json.loads(out)


def _populated(screen: str) -> bool:
    """Every tile has its headline and no source dot says loading."""
    return (all(t in screen for t in TILES) and "loading" not in screen
            and "quorate" in screen and "running" in screen and "OSD" in screen
            and "nodes 3/3 ready" in screen and "routers" in screen and "VG_1" in screen)


def _sgr_codes(tm: TmuxSession) -> set[str]:
    """The SGR parameter strings (colours, bold, ...) on the screen, as tmux holds them."""
    return set(re.findall(r"\x1b\[([0-9;:]*)m", tm.capture(escapes=True)))


def _extended_colours(codes: set[str]) -> set[str]:
    """Codes that need more than 16 colours: 38;5;N / 48;5;N (256) and 38;2;R;G;B (truecolor)."""
    return {c for c in codes if re.search(r"(^|;)[34]8[;:][25]", c)}


def _header(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def _view(tm: TmuxSession, name: str, timeout: float = 10.0) -> str:
    return tm.wait_until(lambda s: f"▸ {name}" in _header(s), timeout, what=f"the {name} view")


def _table_lines(screen: str, *names: str) -> list[str]:
    return [line for line in screen.splitlines() if any(re.search(rf"\b{re.escape(n)}\b", line) for n in names)]


def _wait_populated(tm: TmuxSession, started: float, demo: Path | None = None) -> float:
    """Wait for all six layers; print when the sim was ready, the first frame and the data came."""
    marks: dict[str, float] = {}

    def check(screen: str) -> bool:
        now = time.monotonic() - started
        if demo is not None and "sim ready" not in marks and (demo / "ready").exists():
            marks["sim ready"] = now
        if "first frame" not in marks and "▸ health" in _header(screen):
            marks["first frame"] = now
        return _populated(screen)

    tm.wait_until(check, START_BOUND, what="all six layers on Health", interval=0.05)
    took = time.monotonic() - started
    print("\ne2e: " + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items())
          + f", all six layers populated {took:.2f} s after launch (issue 2 target: 3 s)")
    return took


def _quit_and_check_cleanup(tm: TmuxSession, demo: Path, sim_pid: int) -> None:
    tm.type(":q")
    tm.send("Enter")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not tm.pane_dead():
        time.sleep(0.1)
    assert tm.pane_dead(), f"the console did not exit on :q; screen:\n{tm.capture()}"
    while time.monotonic() < deadline and (_alive(sim_pid) or demo.exists()):
        time.sleep(0.1)
    assert not _alive(sim_pid), f"the sim (pid {sim_pid}) still runs after the console quit"
    assert not demo.exists(), f"the demo dir {demo} was not removed"


def test_demo_every_screen_and_injected_faults(sandbox):
    _require_tmux()
    started = time.monotonic()
    with _launch(sandbox, "xterm-256color") as tm:
        demo = _demo_dir(sandbox)
        sim_pid = _sim_pid(demo)
        _wait_populated(tm, started, demo)
        screen = tm.capture()
        assert "▸ health" in _header(screen) and " demo " in _header(screen), screen
        # the headlines say what the sim says
        lab = _sim("state", "--dir", str(demo))
        names = sorted(lab["nodes"])
        nodes = _table_lines(screen, *names)
        assert len(nodes) == len(names) and all("online" in line for line in nodes), screen
        assert f"nodes {len(names)}/{len(names)} up" in screen, screen
        assert f"{lab['guests']['running']}/{lab['guests']['total']} running" in screen, screen
        ceph = lab["ceph"]
        assert f"OSD {ceph['osds_up']}/{ceph['osds']} up {ceph['osds_in']} in" in screen, screen
        swarm = lab["swarm"]
        assert f"svc {swarm['services_converged']}/{swarm['services']} converged" in screen, screen
        assert f"VG_1: {lab['vrrp']['vip_holder'][0]}" in screen, screen  # the seed's sync group, one line
        assert "no findings" in screen, screen
        assert _extended_colours(_sgr_codes(tm)), "TERM=xterm-256color: expected 256-colour output"

        # every view by number key, each showing its own data
        for key, view, expect in (("2", "guests", ("homeassistant", "swarm3", "VMID")),
                                  ("3", "ceph", ("HEALTH_OK", "osd.0", "osd.2")),
                                  ("4", "swarm", ("swarm1", "leader", "whoami")),
                                  ("5", "traefik", ("routers", "gitea@docker")),
                                  ("6", "vrrp", ("fw1", "fw2", "MASTER", "BACKUP"))):
            tm.send(key)
            _view(tm, view)
            screen = tm.wait_until(lambda s, expect=expect: all(e in s for e in expect), 10, what=f"{expect} on {view}")
            if view == "guests":
                assert f"guests {lab['guests']['total']}" in screen.replace("─", " "), screen
        tm.send("7")
        tm.wait_until(lambda s: "maint" in _header(s), 10, what="the maintenance view")
        tm.send("1")
        _view(tm, "health")

        # `:` command mode, with the names users type
        for command, view in (("guests", "guests"), ("ceph", "ceph"), ("swarm", "swarm"), ("traefik", "traefik"),
                              ("vrrp", "vrrp"), ("health", "health")):
            tm.type(":" + command)
            tm.send("Enter")
            _view(tm, view)

        # `/` filter on the guests table; esc clears it, a second esc goes back to health
        tm.send("2")
        _view(tm, "guests")
        tm.type("/jelly")
        screen = tm.wait_until(lambda s: "homeassistant" not in s and "jellyfin" in s, 10, what="the filter")
        assert "guests 1/11 /jelly" in screen.replace("─", " "), screen
        tm.send("Enter")  # keeps the filter
        assert "homeassistant" not in tm.capture()
        tm.send("Escape")
        tm.wait_until(lambda s: "homeassistant" in s and "jellyfin" in s, 10, what="the filter cleared")
        tm.type("/!running")
        screen = tm.wait_until(lambda s: "debian-template" in s and "homeassistant" not in s, 10,
                               what="the inverted filter")
        tm.send("Escape")
        tm.wait_until(lambda s: "homeassistant" in s, 10, what="the inverted filter cleared")

        # `?` shows the keys of the current view; esc closes it
        tm.send("?")
        tm.wait_until(lambda s: "guests — keys" in s and "this help" in s and "detail: config" in s, 10,
                      what="the help of the guests view")
        tm.send("Escape")
        tm.wait_gone("guests — keys")
        assert "▸ guests" in _header(tm.capture())
        tm.send("Escape")
        _view(tm, "health")

        # faults into the running sim: shown on Health, then on the layer's own screen
        _sim("fault", "--dir", str(demo), "osd-down", "1")
        _sim("fault", "--dir", str(demo), "split-brain")
        injected = time.monotonic()
        interval = _poll_interval(demo)
        fault_bound = 2 * interval + FAULT_SLACK
        osd_line = f"OSD {ceph['osds_up'] - 1}/{ceph['osds']} up"
        screen = tm.wait_until(lambda s: osd_line in s and "SPLIT BRAIN" in s, fault_bound,
                               what="osd-down and split-brain on Health")
        print(f"e2e: faults on Health {time.monotonic() - injected:.2f} s after injection "
              f"(poll interval {interval:g} s)")
        assert "osd.1" in screen, screen  # a finding names the OSD
        tm.send("3")
        _view(tm, "ceph")
        screen = tm.wait_until(lambda s: "HEALTH_WARN" in s, fault_bound, what="HEALTH_WARN on ceph")
        (osd1,) = _table_lines(screen, "osd.1")
        assert "down" in osd1, screen
        assert all("down" not in line for line in _table_lines(screen, "osd.0", "osd.2")), screen
        tm.send("6")
        _view(tm, "vrrp")
        screen = tm.wait_until(lambda s: "SPLIT BRAIN" in s, fault_bound, what="split brain on vrrp")
        rows = [line for line in screen.splitlines() if line.startswith(("fw1 ", "fw2 "))]
        assert len(rows) == 6 and all("MASTER" in r for r in rows), screen  # 2 firewalls x 3 instances of VG_1

        state = _sim("state", "--dir", str(demo))
        assert state["ceph"]["osds_up"] == ceph["osds_up"] - 1 and state["faults"]["split_brain"] is True

        _quit_and_check_cleanup(tm, demo, sim_pid)


@pytest.mark.parametrize("term, colours", [("linux", 16), ("screen-256color", 256)])
def test_demo_under_other_terminals(sandbox, term, colours):
    """The Linux console (16 colours) and tmux/screen's own TERM: Health and a table render, and the
    colours sent stay within what TERM says."""
    _require_tmux()
    started = time.monotonic()
    with _launch(sandbox, term) as tm:
        demo = _demo_dir(sandbox)
        sim_pid = _sim_pid(demo)
        _wait_populated(tm, started, demo)
        screen = tm.capture()
        assert len(_table_lines(screen, "pve1", "pve2", "pve3")) == 3, screen
        codes = _sgr_codes(tm)
        assert codes, f"no colours at all under TERM={term}"
        if colours == 16:
            assert not _extended_colours(codes), f"TERM={term} has 16 colours; the console sent {sorted(codes)}"
        else:
            assert _extended_colours(codes), f"TERM={term}: expected {colours}-colour output, got {sorted(codes)}"
        tm.send("2")
        _view(tm, "guests")
        screen = tm.wait_until(lambda s: "homeassistant" in s and "VMID" in s, 10, what="the guests table")
        assert len(_table_lines(screen, "fw1", "fw2", "jellyfin", "db")) == 4, screen
        if colours == 16:
            assert not _extended_colours(_sgr_codes(tm))
        _quit_and_check_cleanup(tm, demo, sim_pid)
