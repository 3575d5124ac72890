"""What upgrading everything costs on the seed lab, by the sim's availability record:
one `labconsole upgrade run --all --yes` (firewall pair BACKUP first, nodes rolling,
CTs and VMs inside with snapshots, Swarm images last) against the naive way: each
node upgraded in place and rebooted (bench_maintenance.naive_run, imported), then
each guest and firewall upgraded inside and rebooted in place (no drain, no VIP move,
no snapshot), then each Swarm service updated to its new image with Docker's default
update config.

The engine runs its items in lanes (console/upgrade/everything_lanes.py): guests alongside
the nodes. Rounds interleave engine and naive (engine first, then naive first, ...) and
each prints the load average, since wall time on a shared machine is noisy; the overlap
(sum of the items' own spans / the run's wall time) does not depend on the load.

Run: .venv/bin/python -m tests.bench.bench_upgrade_all [--speed 20] [--rounds 2] [--log FILE]
(prints figures; asserts nothing). Seconds are lab seconds unless said "real".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import statistics
import tempfile
import time

from console.config import load_config
from console.sources import build_sources
from console.upgrade.everything_run import layer_of
from tests.bench.bench_maintenance import VIP_BUDGET, guest_types, naive_run, settled
from tests.simlab import SimLab

UPGRADE_CMD = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade"


def engine_run(lab: SimLab) -> tuple[float, str]:
    from console.cli import main

    os.environ["LABCONSOLE_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-upgall-state-")
    out = io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(lab.config_path), "upgrade", "run", "--all", "--yes"])
    took = time.monotonic() - t0
    if code != 0:
        print(out.getvalue()[-3000:])
        raise SystemExit(f"upgrade run --all ended with exit {code}")
    return took, out.getvalue()


async def naive_guests_and_services(lab: SimLab) -> None:
    """Inside every inspectable guest with updates: dist-upgrade and reboot in place; then every
    Swarm service with a newer digest: a plain image update (Docker's defaults: stop-first, pause)."""
    from console.ops import swarm_upgrade as su
    from console.ops.guests import power
    from console.upgrade.everything_plan import build
    from console.upgrade.guest_access import GuestShell
    from console.upgrade.inventory import guest_target

    cluster = load_config(lab.config_path).cluster(None)
    sources = build_sources(cluster)
    try:
        plan = await build(sources, cluster)
        pve = await sources.get("proxmox").fetch()
        shell = GuestShell(sources)
        vmids = [int(g.vmid) for g in pve.guests if any(i.label.startswith(f"{g.vmid}/") for i in plan.todo)]
        if any(i.label == "firewalls" for i in plan.todo):
            vmids = [f.vmid for f in cluster.vrrp.firewalls if f.vmid is not None] + vmids  # type: ignore[union-attr]
        for vmid in vmids:
            g = next(g for g in pve.guests if g.vmid == vmid)
            t = await guest_target(sources, cluster, g)
            code = await shell.stream(t, UPGRADE_CMD, lambda line: None, timeout=600)
            if code != 0:
                raise SystemExit(f"naive: dist-upgrade in {g.name} exited {code}")
            res = await power(sources, vmid, "reboot", follow_timeout=120)
            if not res.ok:
                raise SystemExit(f"naive: reboot of {g.name}: {res.message}")
        for item in plan.todo:
            if item.layer == "service":
                name = item.label.removeprefix("service:")
                p = await su.plan_upgrade(sources, name)
                src = sources.get("swarm")
                await src.service_update(p.info.id, image=p.ref)
                await until_settled(sources, name, p.info.update_started)
    finally:
        await sources.close()


async def until_settled(sources, name: str, before: str | None, timeout: float = 120) -> None:
    from console.ops.swarm import find_service

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = await find_service(sources, name)
        if s.update_started != before and s.update_state in ("completed", "rollback_completed", "paused"):
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"naive: the update of {name} did not settle within {timeout:g} s")


def measure(kind: str, speed: float) -> tuple[dict, float, str]:
    with SimLab("seed", speed=speed) as lab:
        running = settled(lab, lab.state()["guests"]["running"])["guests"]["running"]
        lab.reset_availability()
        if kind == "engine":
            took, out = engine_run(lab)
        else:
            t0 = time.monotonic()
            asyncio.run(naive_run(lab, running))
            t_nodes = time.monotonic() - t0
            asyncio.run(naive_guests_and_services(lab))
            took = time.monotonic() - t0
            out = f"naive: nodes {t_nodes:.1f} s, guests and services {took - t_nodes:.1f} s"
        settled(lab, running)
        av = lab.availability()
        av["vip_holder_at_end"] = lab.state()["vrrp"]["vip_holder"]
        return av, took, out


def item_spans(out: str) -> dict[str, tuple[float, float]]:
    """(first, last) real second of each item, from the engine's timestamped lines ("  12.3s [label] ...")."""
    span: dict[str, list[float]] = {}
    for m in re.finditer(r"^\s*([\d.]+)s \[([^\]]+)\]", out, re.M):
        span.setdefault(m.group(2), []).append(float(m.group(1)))
    return {label: (min(ts), max(ts)) for label, ts in span.items()}


def item_times(out: str) -> dict[str, float]:
    """Real seconds per item."""
    return {label: b - a for label, (a, b) in item_spans(out).items()}


def report(eng: dict, naive: dict, kinds: dict, t_eng: float, t_naive: float, speed: float, out: str,
           naive_out: str) -> None:
    print(f"Upgrade everything on the seed lab (`upgrade run --all --yes`) vs naive, sim speed {speed:g}")
    print(f"  wall time: engine {t_eng:.1f} s, naive {t_naive:.1f} s (real seconds); "
          f"ratio engine/naive {t_eng / t_naive if t_naive else 0:.2f}")
    print(f"  {'service-seconds lost':34} {'engine':>9} {'naive':>9}")
    for vmid in sorted(set(eng["guests"]) | set(naive["guests"]) | set(kinds), key=int):
        typ, name = kinds.get(vmid, ("?", "?"))
        e, n = eng["guests"].get(vmid, 0.0), naive["guests"].get(vmid, 0.0)
        if e or n:
            print(f"  {typ:4} {vmid:>4} {name:24} {e:9.1f} {n:9.1f}")
    for svc in sorted(set(eng["services"]) | set(naive["services"])):
        print(f"  svc  {svc:29} {eng['services'].get(svc, 0):9.1f} {naive['services'].get(svc, 0):9.1f}")
    print(f"  VIP absent (total)                 {eng['vip_absent']:9.1f} {naive['vip_absent']:9.1f}")
    print(f"  VIP longest gap                    {eng['vip_longest_gap']:9.1f} {naive['vip_longest_gap']:9.1f}"
          f"   (target <= {VIP_BUDGET:g} s, two adverts)")
    te = sum(eng["guests"].values()) + eng["service_seconds_total"] + eng["vip_absent"]
    tn = sum(naive["guests"].values()) + naive["service_seconds_total"] + naive["vip_absent"]
    print(f"  TOTAL service-seconds lost         {te:9.1f} {tn:9.1f}   engine = {100 * te / tn if tn else 0:.1f}% "
          "of naive")
    print(f"  VIP at the end: engine {eng['vip_holder_at_end']}, naive {naive['vip_holder_at_end']}")
    print(f"  wall time target (issue 12): engine at most 1.3x naive: {t_eng / t_naive if t_naive else 0:.2f}x "
          + ("MET" if t_naive and t_eng <= 1.3 * t_naive else "MISSED"))
    for line in out.splitlines():
        if line.startswith("run "):
            print(f"  engine: {line.strip()}")
    times = item_times(out)
    layers: dict[str, float] = {}
    for label, took in times.items():
        layer = layer_of(label)
        layers[layer] = layers.get(layer, 0.0) + took
    spans = item_spans(out)
    print("  engine items (real s, start-end): " + ", ".join(f"{k} {a:.1f}-{b:.1f}" for k, (a, b) in spans.items()))
    if spans:
        wall = max(b for _, b in spans.values()) - min(a for a, _ in spans.values())
        print(f"  engine overlap: items' own spans add up to {sum(times.values()):.1f} s in {wall:.1f} s of run "
              f"({sum(times.values()) / wall if wall else 0:.2f}x; load-independent)")
    print("  engine wall time per layer (real s): " + ", ".join(f"{k} {v:.1f}" for k, v in layers.items())
          + f"; {naive_out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2, help="engine and naive, interleaved, this many times")
    ap.add_argument("--log", help="write the engine's output of each round here (FILE.N)")
    args = ap.parse_args()
    kinds = guest_types(args.speed)
    ratios = []
    for n in range(1, args.rounds + 1):
        order = ("engine", "naive") if n % 2 else ("naive", "engine")
        got = {}
        for kind in order:
            load = os.getloadavg()[0]
            got[kind] = (*measure(kind, args.speed), load)
        (eng, t_eng, out, l_eng), (naive, t_naive, naive_out, l_naive) = got["engine"], got["naive"]
        print(f"--- round {n} of {args.rounds} ({' then '.join(order)}); load average at start: engine {l_eng:.2f}, "
              f"naive {l_naive:.2f}")
        report(eng, naive, kinds, t_eng, t_naive, args.speed, out, naive_out)
        ratios.append(t_eng / t_naive)
        if args.log:
            with open(f"{args.log}.{n}", "w") as f:
                f.write(out)
    ratios.sort()
    print(f"=== ratio engine/naive over {len(ratios)} round(s): " + ", ".join(f"{r:.2f}" for r in ratios)
          + f"; median {statistics.median(ratios):.2f}"
          + f"; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
