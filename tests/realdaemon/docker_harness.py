"""Starting the real dockerd (scripts/docker-up.sh) for a test module: root or skip, and
under CI=true a daemon that cannot start is a failure, not a skip."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def cannot_start(what: str, reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} could not start under CI: {reason}")
    pytest.skip(f"{what} could not start: {reason}")


def docker_up(env: dict, what: str = "dockerd in swarm mode", tries: int = 10) -> None:
    """docker-up.sh with `env`; another dockerd may hold the swarm ports: wait, then retry."""
    if os.geteuid() != 0:
        cannot_start(what, "needs root (dockerd)")
    up = None
    for _ in range(tries):
        up = subprocess.run([str(SCRIPTS / "docker-up.sh")], env=env, capture_output=True, text=True, timeout=900)
        if up.returncode == 0:
            return
        subprocess.run([str(SCRIPTS / "docker-down.sh")], env=env, capture_output=True, timeout=120)
        time.sleep(30)
    assert up is not None
    cannot_start(what, f"docker-up.sh exited {up.returncode}: {up.stderr.strip()[-1500:]}")
