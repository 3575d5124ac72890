"""Swarm image upgrades on the simulated lab: time to converge, time until an automatic
rollback is seen and done, service-seconds lost, and how long the image inventory takes
(seed: 8 services; large: 300 services sharing ~20 tags; a registry that hangs).

Targets: services with 2+ replicas lose 0 s (start-first) during an upgrade and during
a rollback of a crashing image; the inventory of a registry that hangs costs one timeout,
not one per service. Real dockerd + docker-registry figures: tests/realdaemon/test_registry_real.py
prints them (run with -s).

Run: .venv/bin/python -m tests.bench.bench_swarm_upgrade   (prints figures; asserts nothing)
"""

from __future__ import annotations

import asyncio
import time

from console.config import load_config
from console.ops import swarm_upgrade as su
from console.ops.swarm_images import service_image_updates
from console.sources import build_sources
from tests.simlab import SimLab

SPEED = 20.0


async def _upgrades(lab: SimLab) -> None:
    sources = build_sources(load_config(lab.config_path).cluster(None))
    try:
        print(f"{'service':<12} {'what':<26} {'outcome':<12} {'real s':>7} {'lab s':>7} {'lost s':>7} {'degr. s':>7}")
        cases = (("grafana", None, None, "re-pushed tag"),
                 ("gitea", ":1.22.3", "gitea/gitea:1.22.3", "new tag, 1 replica"),
                 ("whoami", ":v1.10.5", "crash:traefik/whoami:v1.10.5", "crashing image"),
                 ("nextcloud", ":30.0.0-apache", "crash:nextcloud:30.0.0-apache", "crashing image, multi-arch"))
        for service, image, publish, what in cases:
            if publish:
                if publish.startswith("crash:"):
                    lab.control("image-crash", publish[len("crash:"):])
                else:
                    lab.control("image-publish", publish)
            lab.reset_availability()
            res = await su.upgrade(sources, service, image, wait=120)
            av = lab.availability()
            t = res.converge_s if res.outcome == su.CONVERGED else res.rollback_done_s
            extra = f"  (rollback seen after {res.rollback_seen_s:.2f} s)" if res.rollback_seen_s else ""
            print(f"{service:<12} {what:<26} {res.outcome:<12} {t or 0:>7.2f} {(t or 0) * SPEED:>7.1f} "
                  f"{av['services'].get(service, 0):>7.1f} {av['service_degraded'].get(service, 0):>7.1f}{extra}")
    finally:
        await sources.close()


async def _inventory(lab: SimLab, label: str, timeout: float = 5.0) -> None:
    cfg = load_config(lab.config_path).cluster(None)
    sources = build_sources(cfg)
    try:
        state = await sources.get("swarm").fetch()
        t0 = time.monotonic()
        rows = await service_image_updates(state, mirrors=dict(cfg.swarm.registry_mirrors), timeout=timeout)
        took = time.monotonic() - t0
        kinds: dict[str, int] = {}
        for r in rows:
            kinds[r.status] = kinds.get(r.status, 0) + 1
        print(f"inventory {label:<34} {len(rows):>4} services {took:>6.2f} s  {kinds}")
    finally:
        await sources.close()


def main_bench() -> None:
    with SimLab("seed", speed=SPEED) as lab:
        asyncio.run(_inventory(lab, "seed"))
        asyncio.run(_upgrades(lab))
        lab.control("latency", "registry", 30.0)
        asyncio.run(_inventory(lab, "seed, registry hangs (timeout 2 s)", timeout=2.0))
    with SimLab("large", speed=SPEED, ready_timeout=120) as lab:
        asyncio.run(_inventory(lab, "large"))


if __name__ == "__main__":
    main_bench()
