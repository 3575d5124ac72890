"""Headless output on the `hostile` simulated lab, byte for byte: `labconsole check` (text)
and `labconsole maintenance run` (apt output streamed) to a pipe and to a terminal.

To a pipe nothing but text goes out (no escape sequence at all); to a terminal at
most SGR colours. Neither may carry a control character from the cluster's data.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.pty_helpers import PtySession
from tests.e2e.terminal_bytes import problems, split
from tests.maintenance.conftest import cli_cmd, cli_env
from tests.simlab import SimLab

pytestmark = pytest.mark.e2e

FORBIDDEN = (b"\x1b]0;PWNED", b"\x1b]52;c;", b"wipe\x1b[2J", b"\x1bP1$q", b"\xc2\x9b31m")


@pytest.fixture(scope="module")
def lab():
    with SimLab("hostile", speed=20.0) as lab:
        yield lab


def _check_cmd(lab: SimLab) -> list[str]:
    return [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())",
            "--config", str(lab.config_path), "check"]


def _assert_inert(raw: bytes, to_tty: bool, what: str) -> None:
    for needle in FORBIDDEN:
        assert needle not in raw, f"{what}: {needle!r} went out"
    if not to_tty:
        seqs, _ = split(raw)
        assert seqs == [], f"{what}: escape sequences to a pipe: {sorted(set(seqs))[:10]}"
    found = problems(raw.replace(b"\r\n", b"\n") if not to_tty else raw, allowed=set())
    assert found == [], f"{what}:\n" + "\n".join(found)


def _pty_run(cmd: list[str], env: dict, timeout: float) -> tuple[int, bytes]:
    with PtySession(cmd, width=200, height=50, env=env, cwd=os.getcwd()) as pty:
        try:
            pty.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{cmd[-3:]} did not finish in {timeout:.0f} s; output so far {pty.output()[-2000:]!r}")
        pty.stop()
        return pty.proc.returncode, pty.output()


def test_check_text_to_a_pipe_and_a_terminal(lab, tmp_path):
    env = {**os.environ, **cli_env(tmp_path)}
    piped = subprocess.run(_check_cmd(lab), env=env, capture_output=True, timeout=120)
    assert piped.returncode in (1, 2), piped.stderr  # the hostile Ceph check: a warning
    assert b"HOSTILE_CHECK" in piped.stdout
    _assert_inert(piped.stdout + piped.stderr, to_tty=False, what="check | pipe")
    code, raw = _pty_run(_check_cmd(lab), env, timeout=120)
    assert code in (1, 2) and b"HOSTILE_CHECK" in raw
    _assert_inert(raw, to_tty=True, what="check on a terminal")


@pytest.mark.slow
def test_maintenance_run_streams_apt_output_inert(lab, tmp_path):
    env = {**os.environ, **cli_env(tmp_path / "pipe")}
    piped = subprocess.run(cli_cmd(lab, "run", "pve3", "--yes"), env=env, capture_output=True, timeout=600)
    out = piped.stdout + piped.stderr
    assert b"evil" in out, out[-3000:]  # the hostile package names went through the output
    _assert_inert(out, to_tty=False, what="maintenance run | pipe")
    env = {**os.environ, **cli_env(tmp_path / "tty")}
    code, raw = _pty_run(cli_cmd(lab, "run", "pve2", "--yes"), env, timeout=600)
    assert b"evil" in raw, raw[-3000:]
    _assert_inert(raw, to_tty=True, what="maintenance run on a terminal")
