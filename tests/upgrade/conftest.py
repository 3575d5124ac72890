"""Guest and firewall upgrades against the simulated lab: a fresh seed lab per test,
`labconsole upgrade ...` in process (fast timeouts) or as a subprocess (SIGKILL),
and the truth read from the sim's control port (its guests' packages)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import subprocess
import sys
from pathlib import Path

from console.config import load_config
from console.config_model import ClusterConfig, GuestProbe
from console.sim.control import call, control_url
from tests.maintenance import conftest as maintenance
from tests.maintenance.conftest import CLUSTER, SPEED, cli_env, journal_records  # noqa: F401 - re-exported
from tests.simlab import REPO_ROOT, SimLab

lab = maintenance.lab  # the fixtures: a fresh seed lab at SPEED; journals and locks in the test's own directory
state_dir = maintenance.state_dir

SCALE = 4 / SPEED
TIMEOUTS = {"probe_settle": 20.0, "guest_boot": 60.0, "vip_move": 20.0, "api_errors": 20.0}


def guests(lab: SimLab) -> dict[str, dict]:
    """The sim's own view of every guest's packages (pending, kernel, broken, units_failed)."""
    return call(lab.dir, "GET", "/guests")


def probe_url(lab: SimLab, vmid: int) -> str:
    return f"{control_url(lab.dir)}/guest-http/{vmid}"


def cluster_for(lab: SimLab, probes: tuple[GuestProbe, ...] = (), grace: float = 72.0) -> ClusterConfig:
    c = load_config(lab.config_path).cluster(None)
    up = dataclasses.replace(c.upgrade, guests=probes, snapshot_grace_hours=grace)
    return dataclasses.replace(c, upgrade=up)


def upgrade(cluster: ClusterConfig, *argv: str) -> tuple[int, str]:
    """`labconsole upgrade ARGV` in process, with the fast sim's timeouts."""
    from console.cli_upgrade import main

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    from console.cli_upgrade import add_parsers

    add_parsers(sub, lambda q, top: q.add_argument("--read-only", action="store_true"))
    args = p.parse_args(["upgrade", *argv])
    out = io.StringIO()
    code = asyncio.run(main(cluster, args, out, poll=0.2, scale=SCALE, timeouts=dict(TIMEOUTS)))
    return code, out.getvalue()


def snapshots_of(lab: SimLab, vmid: int) -> list[str]:
    from console.ops.snapshots import list_snapshots
    from console.sources import build_sources

    async def go() -> list[str]:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            return [s.name for s in (await list_snapshots(sources, vmid)).snapshots]
        finally:
            await sources.close()

    return asyncio.run(go())


def upgrade_cmd(lab: SimLab, *args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())",
            "--config", str(lab.config_path), "upgrade", *args]


def upgrade_cli(lab: SimLab, state_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(upgrade_cmd(lab, *args), env=cli_env(state_dir), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)
