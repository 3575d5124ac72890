"""Data-layer benchmark (issue 3). Prints figures; asserts nothing about time.

1. With every source given 200 ms of latency in the sim, one full round of all
   five sources takes at most 1.25 x the slowest source (concurrent, not summed).
2. Parsing and health rules over the `large` scenario: CPU per round (< 100 ms).
3. An idle console polling the seed lab every 2 s: CPU share of one core (< 3%).

Run: .venv/bin/python -m tests.bench.bench_poll
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from console.config import load_config  # noqa: E402
from console.health import evaluate  # noqa: E402
from console.sources import build_hub  # noqa: E402
from tests.simlab import SimLab  # noqa: E402

FAMILIES = ("pve", "ceph", "docker", "traefik", "ssh")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def one_round(cluster):
    hub, actions = build_hub(cluster, read_only=True)
    try:
        await hub.poll_all_once()  # warm: connections, caches
        t0 = time.perf_counter()
        snaps = await hub.poll_all_once()
        wall = time.perf_counter() - t0
    finally:
        await actions.sources.close()
    return wall, snaps


def bench_latency() -> None:
    with SimLab("seed", speed=1) as lab:
        cluster = load_config(lab.config_path).cluster()
        for fam in FAMILIES:
            lab.control("latency", fam, 0.2)
        wall, snaps = asyncio.run(one_round(cluster))
    lat = {k: s.latency for k, s in snaps.items() if s.latency is not None}
    slowest = max(lat.values())
    errs = {k: s.error for k, s in snaps.items() if s.error}
    print("1. full round with 200 ms injected latency per source")
    for k, v in sorted(lat.items()):
        print(f"   {k:8s} {v * 1000:7.1f} ms")
    print(f"   round    {wall * 1000:7.1f} ms = {wall / slowest:.2f} x slowest source "
          f"(target <= 1.25 x; sum would be {sum(lat.values()) * 1000:.0f} ms)")
    if errs:
        print(f"   errors: {errs}")


PARSERS = [
    ("console.sources.proxmox_parse", "build_state"),
    ("console.sources.swarm", "parse_state"),
    ("console.sources.traefik_parse", "parse_routers"),
    ("console.sources.traefik_parse", "parse_services"),
    ("console.sources.traefik_parse", "parse_middlewares"),
    ("console.sources.traefik_parse", "parse_entrypoints"),
    ("console.sources.ceph_parse", "parse_status"),
    ("console.sources.ceph_parse", "parse_pve_osd_tree"),
    ("console.sources.vrrp", "parse_dump"),
    ("console.sources.vrrp", "parse_ip_addr"),
]


def record_parser_inputs():
    """Wrap the parsers so one real poll records exactly what they were given."""
    import importlib

    calls = []
    for mod_name, fn_name in PARSERS:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, fn_name)

        def wrapper(*a, _fn=fn, **kw):
            calls.append((_fn, a, kw))
            return _fn(*a, **kw)

        setattr(mod, fn_name, wrapper)
    return calls


def bench_parse_large() -> None:
    calls = record_parser_inputs()
    with SimLab("large", speed=1) as lab:
        cluster = load_config(lab.config_path).cluster()

        async def rounds():
            hub, actions = build_hub(cluster, read_only=True)
            try:
                await hub.poll_all_once()
                calls.clear()
                c0, t0 = cpu(), time.perf_counter()
                snaps = await hub.poll_all_once()
                return snaps, cpu() - c0, time.perf_counter() - t0
            finally:
                await actions.sources.close()

        snaps, round_cpu, round_wall = asyncio.run(rounds())
    recorded = list(calls)
    samples = []
    for _ in range(7):
        t0 = time.process_time()
        for fn, a, kw in recorded:
            fn(*a, **kw)
        t1 = time.process_time()
        evaluate(snaps, time.monotonic())
        t2 = time.process_time()
        samples.append((t1 - t0, t2 - t1))
    parse = sorted(x[0] for x in samples)[3]
    rules = sorted(x[1] for x in samples)[3]
    d = {k: s.data for k, s in snaps.items()}
    print(f"2. large scenario: {len(d['proxmox'].nodes)} nodes, {len(d['proxmox'].guests)} guests, "
          f"{len(d['ceph'].osds)} OSDs, {len(d['swarm'].services)} services, {len(d['swarm'].tasks)} tasks, "
          f"{len(d['traefik'].routers)} routers")
    print(f"   parsing ({len(recorded)} parser calls): {parse * 1000:.1f} ms CPU; health rules: {rules * 1000:.1f} ms "
          "CPU;"
          f" together {(parse + rules) * 1000:.1f} ms (target < 100 ms; median of 7)")
    print(f"   whole round incl. HTTP/TLS/JSON decoding in threads: {round_cpu * 1000:.0f} ms CPU, "
          f"{round_wall * 1000:.0f} ms wall")


def bench_idle() -> None:
    with SimLab("seed", speed=1) as lab:
        cluster = load_config(lab.config_path).cluster()

        async def idle(seconds: float):
            hub, actions = build_hub(cluster, read_only=True)
            hub.start()
            await asyncio.sleep(4)  # connect, first polls
            c0, t0 = cpu(), time.monotonic()
            await asyncio.sleep(seconds)
            c1, t1 = cpu(), time.monotonic()
            await hub.stop()
            await actions.sources.close()
            return (c1 - c0) / (t1 - t0)

        share = asyncio.run(idle(float(os.environ.get("BENCH_IDLE_S", "20"))))
    print(f"3. idle polling of the seed lab (interval 2 s, no UI): {share * 100:.2f}% of one core (target < 3%)")


if __name__ == "__main__":
    bench_latency()
    bench_parse_large()
    bench_idle()
