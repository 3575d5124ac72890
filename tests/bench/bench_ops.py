"""Time from confirm to the action's task being visible on the cluster, for each
headless action (the moment after the operator said yes -> the first answer of
the task's status). Also the whole action (until its task ended) for scale.

Run: .venv/bin/python tests/bench/bench_ops.py [--speed 20] [--rounds 5]
Prints figures (median and worst, milliseconds); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from console.config import load_config  # noqa: E402
from console.sources import build_sources  # noqa: E402
from tests.simlab import SimLab  # noqa: E402


async def measure(lab: SimLab, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from console.ops import backups, guests, snapshots

    sources = build_sources(load_config(lab.config_path).cluster(None))
    out: dict[str, list[tuple[float, float]]] = {}

    def keep(name: str, res) -> None:
        assert res.ok, (name, res.message)
        out.setdefault(name, []).append((res.visible_after or float("nan"), res.duration))

    try:
        for i in range(rounds):
            keep("shutdown", await guests.power(sources, 112, "shutdown"))
            keep("start", await guests.power(sources, 112, "start"))
            keep("reboot", await guests.power(sources, 112, "reboot"))
            keep("snapshot", await snapshots.create(sources, 201, f"bench{i}"))
            keep("delete-snapshot", await snapshots.delete(sources, 201, f"bench{i}"))
            keep("rollback", await snapshots.rollback(sources, 201, "weekly", start=True))
            keep("backup", await backups.backup_now(sources, 112, "pbs"))
            target = "pve3" if i % 2 == 0 else "pve2"
            keep("migrate (live)", await guests.migrate(sources, 112, target))
            keep("migrate (HA)", await guests.migrate(sources, 110, "pve3" if i % 2 == 0 else "pve1"))
    finally:
        await sources.get("proxmox").close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ["LABCONSOLE_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-ops-")
    with SimLab("seed", speed=args.speed) as lab:
        t0 = time.monotonic()
        figures = asyncio.run(measure(lab, args.rounds))
        wall = time.monotonic() - t0
    print(f"confirm -> task visible (seed lab, speed {args.speed:g}, {args.rounds} rounds, {wall:.1f} s wall)")
    print(f"{'action':<18}{'visible median':>16}{'worst':>10}{'whole action median':>22}")
    for name, rows in figures.items():
        vis = [v * 1000 for v, _ in rows]
        whole = [d * 1000 for _, d in rows]
        print(f"{name:<18}{statistics.median(vis):>13.0f} ms{max(vis):>7.0f} ms{statistics.median(whole):>19.0f} ms")
    print("target: the task is visible within 1 s of confirming (the HA row: until the guest shows locked/moved)")


if __name__ == "__main__":
    main()
