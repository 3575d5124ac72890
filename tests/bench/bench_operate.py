"""Figures for the operations of issue 11 items 5-7 on the simulated lab:
- VIP fail-back: the gap with no MASTER (as measured by console/ops/firewall.py);
- the swarm log stream: open -> first line, and the spacing of pushed bursts
  (the Engine pushes lines as written; the old screen re-fetched every 2 s);
- swarm scale: from confirm to the service settled;
- a shell: from running the ssh argv to the prompt (system ssh client, pty).

Run: .venv/bin/python tests/bench/bench_operate.py [--speed 20] [--rounds 5]
Prints figures (median and worst); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from console.config import load_config  # noqa: E402
from console.sources import build_sources  # noqa: E402
from tests.simlab import SimLab  # noqa: E402


async def failback_gaps(sources, rounds: int) -> list[float]:
    from console.ops import firewall as fw

    vrrp = sources.get("vrrp")
    gaps = []
    for _ in range(rounds):
        await vrrp.set_track("fw1", 1)
        while fw.masters(await vrrp.fetch()) != ["fw2"]:
            await asyncio.sleep(0.1)
        res = await fw.failback(sources)
        gaps.append(res.gap_s)
    return gaps


async def stream_figures(sources, seconds: float = 6.0) -> tuple[float, list[float]]:
    """(open -> first line, the spacing of arrival bursts): the Engine pushes lines as they come
    (the sim's follow loop looks every 0.5 s), instead of a re-fetch of the whole tail every 2 s."""
    from console.ops import swarm as sw

    arrivals: list[float] = []
    stop = asyncio.Event()
    t0 = time.monotonic()
    task = asyncio.create_task(sw.stream_logs(sources, "whoami", lambda _: arrivals.append(time.monotonic()),
                                              stop, tail=5))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    bursts = [a for i, a in enumerate(arrivals) if i == 0 or a - arrivals[i - 1] > 0.05]
    return (arrivals[0] - t0 if arrivals else float("nan")), [b - a for a, b in zip(bursts, bursts[1:])]


async def scale_times(sources, rounds: int) -> list[float]:
    from console.ops import swarm as sw

    out = []
    for i in range(rounds):
        res = await sw.scale(sources, "gitea", 3 if i % 2 == 0 else 1, wait=60)
        out.append(res.duration)
    return out


def shell_prompt_times(argv: tuple[str, ...], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        master, slave = os.openpty()
        t0 = time.monotonic()
        proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        buf = b""
        while b"# " not in buf and time.monotonic() - t0 < 20:
            if select.select([master], [], [], 0.2)[0]:
                buf += os.read(master, 4096)
        out.append(time.monotonic() - t0)
        os.write(master, b"exit\r")
        proc.wait(10)
        os.close(master)
    return out


def show(name: str, values: list[float], unit: str = "s") -> None:
    values = [v for v in values if v is not None]
    if not values:
        print(f"{name:<34} no samples")
        return
    print(f"{name:<34} median {statistics.median(values):7.3f} {unit}   worst {max(values):7.3f} {unit}   n={len(values)}")


async def main(speed: float, rounds: int) -> None:
    from console.ops.shells import node_shell

    with tempfile.TemporaryDirectory(prefix="bench-operate-") as d, SimLab("seed", speed=speed, directory=d) as lab:
        cluster = load_config(lab.config_path).cluster(None)
        sources = build_sources(cluster)
        try:
            show("vip fail-back gap (no MASTER)", await failback_gaps(sources, rounds))
            first, spacing = await stream_figures(sources)
            show("log stream open -> first line", [first])
            show("log stream: time between pushes", spacing)
            show("swarm scale confirm -> settled", await scale_times(sources, rounds))
        finally:
            await sources.get("proxmox").close()
            await sources.close()
        show("shell argv -> prompt (ssh, pty)", shell_prompt_times(node_shell(cluster.ssh, "pve1").argv, rounds))
    print(f"(sim speed {speed:g}: lab durations are divided by it; the gap and stream figures are wall clock)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    asyncio.run(main(a.speed, a.rounds))
