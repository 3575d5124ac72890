"""What one poll of each source costs on the `large` simulated lab: CPU time and memory peak.

    .venv/bin/python -m tests.bench.bench_poll_cost [--rounds 10] [--fresh]

Each source's fetch runs `--rounds` times in this process (the sim is another process, so
its work is not counted). Per source it prints the median CPU time of this process per
round (user+system, all threads: load-independent, unlike wall time) and the largest
tracemalloc peak of a round (how much the poll's answer costs while it is decoded and
parsed: these peaks are what the allocator keeps as resident memory). `--fresh` forgets
the Swarm source's last answer before every round, so it decodes and parses as when the
swarm changed between polls. Run with and without it to see what reuse buys.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import tracemalloc

from console.demo import DemoLab
from console.sources import build_sources


def cpu() -> float:
    return time.process_time()  # every thread of this process, user + system


async def measure(srcs, names: list[str], rounds: int, fresh: bool) -> None:
    for name in names:
        src = srcs.get(name)
        if src is None:
            continue
        await src.fetch()  # warm: connections, caches, the first answer
        cpus, peaks, walls = [], [], []
        for _ in range(rounds):
            if fresh and hasattr(src, "_last_read"):
                src._last_read = None
            tracemalloc.start()
            tracemalloc.reset_peak()
            c0, w0 = cpu(), time.perf_counter()
            await src.fetch()
            cpus.append(cpu() - c0)
            walls.append(time.perf_counter() - w0)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        # tracing slows allocation: the CPU figure is measured again without it
        plain = []
        for _ in range(rounds):
            if fresh and hasattr(src, "_last_read"):
                src._last_read = None
            c0 = cpu()
            await src.fetch()
            plain.append(cpu() - c0)
        print(f"  {name:8s} CPU {statistics.median(plain) * 1000:7.1f} ms/round (median of {rounds}), "
              f"traced peak {max(peaks) / 2**20:6.2f} MiB, wall {statistics.median(walls) * 1000:7.1f} ms",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--fresh", action="store_true", help="the Swarm source forgets its last answer every round")
    parser.add_argument("--sources", default="swarm,proxmox,traefik,ceph,vrrp")
    args = parser.parse_args()
    with DemoLab(scenario="large") as lab:
        srcs = build_sources(lab.config.cluster(None), read_only=True)

        async def run():
            try:
                await measure(srcs, args.sources.split(","), args.rounds, args.fresh)
            finally:
                await srcs.close()

        print(f"poll cost on the large lab ({'fresh' if args.fresh else 'reuse'}); load {os.getloadavg()[0]:.2f}",
              flush=True)
        asyncio.run(run())


if __name__ == "__main__":
    main()
