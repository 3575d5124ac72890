"""How long `labconsole check --all-clusters` takes: the simulated lab configured under 1, 2 and 4
names, plus one cluster whose Proxmox API accepts the connection and never answers (a socket that
listens but never accepts). Clusters are polled concurrently, so the target is the longest
configured timeout (the sim's own 5 s; the hanging cluster has TIMEOUT) plus a small margin,
whatever the count. Note the machine's load when reading the figures: every copy of the lab is
answered by one sim process.

Then the cost of the picker's background polling (console/cluster_glance.py): one round of the
`seed` and the `large` lab as the glance runs it (every 30 s), its wall time, and the longest
the event loop (the UI's) was held meanwhile, measured by a 10 ms ticker.

Run: .venv/bin/python -m tests.bench.bench_check_all_clusters
(prints figures against the target; asserts nothing).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import time
import tomllib

import tomli_w

from console.cli import main
from tests.simlab import SimLab

TIMEOUT = 2.0
MARGIN = 1.5  # s over the timeout that counts as "within" (closing, the rules, the imports of a first run)


def config(lab: SimLab, copies: int, hang_port: int) -> tuple[str, float]:
    doc = tomllib.loads(lab.config_path.read_text())
    (name, cluster), = doc["clusters"].items()
    for i in range(1, copies):
        doc["clusters"][f"{name}-{i}"] = cluster
    doc["clusters"]["hung"] = {"timeout": TIMEOUT, "proxmox": {**cluster["proxmox"],
                                                              "endpoints": [f"https://127.0.0.1:{hang_port}"]}}
    path = lab.dir / f"all-{copies}.toml"
    path.write_text(tomli_w.dumps(doc))
    return str(path), max(c.get("timeout", 5.0) for c in doc["clusters"].values())


def main_bench() -> None:
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)  # never accepted: the TLS handshake waits until the client gives up
    with SimLab("seed", speed=10.0) as lab:
        print(f"{'clusters':>8} {'took':>7} {'target':>7}  exit  statuses (load average {os.getloadavg()[0]:.1f})")
        for copies in (1, 1, 2, 4):  # the first run also pays the imports
            path, timeout = config(lab, copies, hang.getsockname()[1])
            out = io.StringIO()
            started = time.monotonic()
            with contextlib.redirect_stdout(out):
                code = main(["--config", path, "check", "--all-clusters", "--json"])
            took = time.monotonic() - started
            statuses = ",".join(d["status"] for d in json.loads(out.getvalue()))
            verdict = "ok" if took <= timeout + MARGIN else "OVER"
            print(f"{copies + 1:>8} {took:>6.2f}s {timeout + MARGIN:>6g}s  {code:>4}  {verdict}: {statuses}")
    hang.close()


async def longest_stall(done) -> float:
    """The longest the event loop was held (beyond a 10 ms sleep) until `done` is set."""
    import asyncio

    loop = asyncio.get_running_loop()
    stall = 0.0
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        stall = max(stall, loop.time() - before - 0.01)
    return stall


async def glance_rounds(lab: SimLab, rounds: int = 3) -> list[tuple[float, float, str]]:
    """(seconds, longest event-loop stall, status) of each glance round of the lab, one glance
    (its connections kept between rounds, as in the console)."""
    import asyncio

    from console.cluster_glance import ClusterGlance
    from console.config import load_config
    from console.sources import build_hub

    config = load_config(lab.config_path)
    glance = ClusterGlance(config, lambda c: build_hub(c, read_only=True))
    out = []
    for _ in range(rounds):
        done = asyncio.Event()
        tick = asyncio.create_task(longest_stall(done))
        started = time.monotonic()
        row = await glance.poll_cluster(config.clusters[0])
        took = time.monotonic() - started
        done.set()
        out.append((took, await tick, row.status or "-"))
    await glance.stop()  # closes the sources it built
    return out


def glance_bench() -> None:
    import asyncio

    print(f"\n{'lab':>8} {'round':>5} {'took':>7} {'loop held':>10}  status (load average {os.getloadavg()[0]:.1f})")
    for scenario in ("seed", "large"):
        with SimLab(scenario, speed=10.0, ready_timeout=120.0) as lab:
            # the first round also pays the imports and the connections
            for n, (took, stall, status) in enumerate(asyncio.run(glance_rounds(lab)), 1):
                print(f"{scenario:>8} {n:>5} {took:>6.2f}s {stall * 1000:>8.0f}ms  {status}")


if __name__ == "__main__":
    main_bench()
    glance_bench()
