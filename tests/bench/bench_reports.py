"""What the slow reports (backups, APT repositories; console/layers.py REPORTS) cost
`labconsole check` on the seed lab: one check round with them (read after the sources,
as check does) and without them, the reports' own latency, and what reading them at the
same time as the sources would have cost the sources (why check reads them after).
The target: the reports add well under a second to a round, and the sources' latency
stays what it is without them.

Run: .venv/bin/python -m tests.bench.bench_reports
(prints figures; asserts nothing).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from console.check import check_round
from console.config import load_config
from console.sources import build_hub, reports
from tests.simlab import SimLab

ROUNDS = 5


async def concurrent_round(cluster) -> dict[str, float]:
    """Every poller at once, the reports too (how the Hub's poll_all_once would do it)."""
    hub, actions = build_hub(cluster, read_only=True)
    try:
        snaps = await hub.poll_all_once()
    finally:
        await actions.sources.close()
    return {name: s.latency or 0.0 for name, s in snaps.items()}


def timed(coro_factory) -> tuple[float, dict]:
    started = time.monotonic()
    out = asyncio.run(coro_factory())
    return time.monotonic() - started, out


def main_bench() -> None:
    with SimLab("seed", speed=10.0) as lab:
        cluster = load_config(lab.config_path).cluster(None)
        original = reports.report_pollers
        rows: dict[str, list] = {"with": [], "without": [], "concurrent": []}
        for _ in range(ROUNDS):
            for mode in ("with", "without"):
                reports.report_pollers = original if mode == "with" else (lambda *a, **k: [])
                took, (snaps, _findings, _now) = timed(lambda: check_round(cluster))
                rows[mode].append((took, {n: s.latency or 0.0 for n, s in snaps.items()}))
            reports.report_pollers = original
            rows["concurrent"].append(timed(lambda: concurrent_round(cluster)))
        reports.report_pollers = original
        print(f"check round on the seed lab, median of {ROUNDS} ({time.strftime('%H:%M:%S')}):")
        print(f"{'':<34}{'round':>8}{'proxmox':>9}{'ceph':>7}{'backups':>9}{'repos':>7}")
        for mode, label in (("without", "sources only"), ("with", "sources, then the reports (check)"),
                            ("concurrent", "all at once (not done)")):
            took = statistics.median(r[0] for r in rows[mode])

            def med(name: str, mode: str = mode) -> str:
                values = [r[1][name] for r in rows[mode] if name in r[1]]
                return f"{statistics.median(values):.2f}" if values else "-"

            print(f"{label:<34}{took:>7.2f}s{med('proxmox'):>9}{med('ceph'):>7}{med('backups'):>9}{med('repos'):>7}")


if __name__ == "__main__":
    main_bench()
