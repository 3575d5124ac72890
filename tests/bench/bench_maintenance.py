"""What a rolling upgrade of the seed lab costs in service, by the sim's availability
record: `labconsole maintenance run --all --yes` against the naive way (on each node
in turn: `apt-get dist-upgrade` over SSH, reboot through the API, wait until it is
back with its guests; no drain, no VIP move, no noout).

Run: .venv/bin/python -m tests.bench.bench_maintenance [--speed 20] [--rounds 2] [--return-guests]
[--no-failback] (prints figures against the targets; asserts nothing). Seconds are lab seconds, but
wall time (real seconds: the console's own reads weigh `speed` times more than against
a real cluster, so a lower speed is closer to real life). Rounds interleave the engine and the
naive way (engine, naive, engine, naive, ...), each with the load average when it started: on a
shared machine wall times are noisy, compare a round's pair. Both start with the console's
modules imported (the naive way drives the same sources): neither pays Python's imports.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from console.config import load_config  # noqa: E402
from console.sim.scenarios import SEED_SERVICES  # noqa: E402
from console.sim.world_core import DURATIONS  # noqa: E402
from console.sources import build_sources  # noqa: E402
from tests.simlab import SimLab  # noqa: E402

NODES = ("pve1", "pve2", "pve3")
CT_RESTART_MIGRATION = DURATIONS["ct_shutdown"] + DURATIONS["ct_move"] + DURATIONS["ct_start"]
VIP_BUDGET = 2 * DURATIONS["vrrp_advert"]


def settled(lab: SimLab, running: int, timeout: float = 120) -> dict:
    def ok(s):
        return (all(n["status"] == "online" for n in s["nodes"].values()) and s["guests"]["running"] == running
                and not s["guests"]["migrating"] and set(s["ceph"]["pg_states"]) == {"active+clean"}
                and s["swarm"]["services_converged"] == s["swarm"]["services"])

    return lab.wait_until(ok, timeout=timeout, interval=0.05)


FAILBACK: list[str] = []  # the engine run's end-report lines about the VIP fail-back
PARKED: list[str] = []  # the engine run's end-report line about where the guests were left


def engine_run(lab: SimLab, target: tuple[str, ...] = ("--all",)) -> float:
    from console.cli import main

    state_dir = tempfile.mkdtemp(prefix="bench-maint-state-")
    os.environ["LABCONSOLE_STATE_DIR"] = state_dir
    out = io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(lab.config_path), "maintenance", "run", *target, "--yes"])
    took = time.monotonic() - t0
    if code != 0:
        print(out.getvalue()[-3000:])
        raise SystemExit(f"the engine's run ({' '.join(target)}) ended with exit {code}")
    FAILBACK[:] = [line.strip() for line in out.getvalue().splitlines() if "VIP fail-back" in line]
    PARKED[:] = [line.strip() for line in out.getvalue().splitlines()
                 if line.strip().startswith(("guests ", "Swarm manager VMs"))]
    return took


async def ct_moves(lab: SimLab, since: float) -> dict[str, int]:
    """vmid -> restart-migrations of each container since `since` (sim time), from PVE's task list
    (vzmigrate, and hamigrate for HA containers: HA moves them with a restart)."""
    from console.ops.common import pve

    sources = build_sources(load_config(lab.config_path).cluster(None))
    try:
        client = pve(sources)
        guests = {str(g["vmid"]): g.get("type") for g in await client.resources("vm")}
        tasks = await client.cluster_tasks()
    finally:
        await sources.get("proxmox").close()
        await sources.close()
    counts = {vmid: 0 for vmid, kind in guests.items() if kind == "lxc"}
    for t in tasks:
        if t.get("type") in ("vzmigrate", "hamigrate") and str(t.get("id")) in counts \
                and float(t.get("starttime") or 0) >= since:
            counts[str(t["id"])] += 1
    return counts


async def naive_run(lab: SimLab, running: int) -> float:
    """Upgrade and reboot each node, one after another, with nothing drained."""
    cluster = load_config(lab.config_path).cluster(None)
    sources = build_sources(cluster)
    pve = sources.get("proxmox")
    t0 = time.monotonic()
    try:
        for node in NODES:
            code = await sources.ssh.stream(node, "apt-get update && apt-get -y dist-upgrade", lambda line: None,
                                            timeout=600)
            if code != 0:
                raise SystemExit(f"naive: dist-upgrade on {node} exited {code}")
            await pve.reboot(node)
            await asyncio.to_thread(lab.wait_until, lambda s, node=node: s["nodes"][node]["status"] != "online", 60,
                                    0.02)
            await asyncio.to_thread(settled, lab, running)  # a careful admin waits for it all to come back
    finally:
        await pve.close()
        await sources.close()
    return time.monotonic() - t0


async def rule_bound(lab: SimLab) -> dict[str, str]:
    """vmid -> node of each running container whose HA rules, with every node up, want it on the node
    it runs on and nowhere else (its node's reboot moves it out, and the CRM's failback back: twice)."""
    from console.ha_rules import placement, sid_of
    from console.sources.proxmox import ProxmoxSource

    src = ProxmoxSource(load_config(lab.config_path).cluster(None).proxmox)
    try:
        st = await src.fetch()
    finally:
        await src.close()
    nodes = [n.name for n in st.nodes]
    where = {sid_of(g): g.node for g in st.guests if g.ha_state}
    return {str(g.vmid): g.node for g in st.guests if g.type == "lxc" and g.status == "running" and g.ha_state
            and placement(sid_of(g), st.ha_rules, nodes, {k: v for k, v in where.items() if k != sid_of(g)}
                          ).nodes == (g.node,)}


def measure(kind: str, speed: float, extra: tuple[str, ...] = ()) -> tuple[dict, float, dict]:
    with SimLab("seed", speed=speed) as lab:
        s0 = settled(lab, lab.state()["guests"]["running"])
        running = s0["guests"]["running"]
        bound = asyncio.run(rule_bound(lab))
        lab.reset_availability()
        since = lab.state()["now"] - 1
        took = engine_run(lab, ("--all", *extra)) if kind == "engine" else asyncio.run(naive_run(lab, running))
        settled(lab, running)
        av = lab.availability()
        av["vip_holder_at_end"] = lab.state()["vrrp"]["vip_holder"]
        av["ct_moves"] = asyncio.run(ct_moves(lab, since))
        av["rule_bound"] = bound
        av["parked"] = list(PARKED)
        return av, took, lab.state()


def guest_types(speed: float) -> dict[str, tuple[str, str]]:
    """vmid -> (type, name) of the seed lab, read from its API."""
    with SimLab("seed", speed=speed) as lab:
        from console.sources.proxmox import ProxmoxSource

        src = ProxmoxSource(load_config(lab.config_path).cluster(None).proxmox)

        async def read():
            try:
                return await src.fetch()
            finally:
                await src.close()

        st = asyncio.run(read())
    return {str(g.vmid): (g.type, g.name) for g in st.guests}


def total(av: dict, exclude: set[str] = frozenset()) -> float:
    guests = sum(v for k, v in av["guests"].items() if k not in exclude)
    return guests + av["service_seconds_total"] + av["vip_absent"]


def report(eng: dict, naive: dict, kinds: dict, t_eng: float, t_naive: float, speed: float) -> None:
    multi = {name for name, _, mode, replicas, _ in SEED_SERVICES if mode == "global" or replicas >= 2}
    print(f"Rolling upgrade of the seed lab ({', '.join(NODES)}), sim speed {speed:g}; lab seconds lost")
    print(f"  wall time: engine {t_eng:.1f} s, naive {t_naive:.1f} s (real seconds): "
          f"engine = {t_eng / t_naive:.2f}x naive")
    print(f"  {'':34} {'engine':>9} {'naive':>9}")
    for vmid in sorted(set(eng["guests"]) | set(naive["guests"]) | set(kinds), key=int):
        typ, name = kinds.get(vmid, ("?", "?"))
        e, n = eng["guests"].get(vmid, 0.0), naive["guests"].get(vmid, 0.0)
        if e or n:
            print(f"  {typ:4} {vmid:>4} {name:24} {e:9.1f} {n:9.1f}")
    for svc in sorted(set(eng["services"]) | set(naive["services"]) | set(eng["service_degraded"])
                      | set(naive["service_degraded"])):
        print(f"  svc  {svc:29} {eng['services'].get(svc, 0):9.1f} {naive['services'].get(svc, 0):9.1f}"
              f"   (degraded {eng['service_degraded'].get(svc, 0):.1f} / {naive['service_degraded'].get(svc, 0):.1f})")
    print(f"  VIP absent (total)                 {eng['vip_absent']:9.1f} {naive['vip_absent']:9.1f}")
    print(f"  VIP longest gap                    {eng['vip_longest_gap']:9.1f} {naive['vip_longest_gap']:9.1f}")
    te, tn = total(eng), total(naive)
    print(f"  TOTAL service-seconds lost         {te:9.1f} {tn:9.1f}   engine = {100 * te / tn if tn else 0:.1f}% of "
          "naive")

    stuck = {k for k, (t, name) in kinds.items() if name == "jellyfin"}  # PCI passthrough: cannot move
    te2, tn2 = total(eng, stuck), total(naive, stuck)
    print(f"  TOTAL without guests that cannot move ({', '.join(sorted(stuck))})"
          f"   {te2:9.1f} {tn2:9.1f}   engine = {100 * te2 / tn2 if tn2 else 0:.1f}% of naive")
    print("Targets (engine):")
    vm_lost = {k: v for k, v in eng["guests"].items() if kinds.get(k, ("?",))[0] == "qemu" and k not in stuck}
    print(f"  VMs lose no second (but those that cannot move): {'MET' if not vm_lost else 'MISSED ' + str(vm_lost)}")
    svc_lost = {s: v for s, v in eng["services"].items() if s in multi and v > 0}
    print(f"  Swarm services with >= 2 replicas lose no second: {'MET' if not svc_lost else 'MISSED ' + str(svc_lost)}")
    ct_budget = 2 * len(NODES) * CT_RESTART_MIGRATION  # at most out and back once per node maintained
    ct_lost = {k: v for k, v in eng["guests"].items() if kinds.get(k, ("?",))[0] == "lxc"}
    worst = max(ct_lost.values(), default=0.0)
    print(f"  containers lose no more than their restart-migrations (each move {CT_RESTART_MIGRATION:g} s; "
          f"worst container {worst:.1f} s over the run): "
          + ("MET" if all(v <= 2 * CT_RESTART_MIGRATION for v in ct_lost.values()) else f"MISSED {ct_lost}")
          + f"  [budget for the run {ct_budget:g} s]")
    moves = eng.get("ct_moves", {})
    twice = {k: v for k, v in moves.items() if v > 1}
    print("  each container restart-migrated at most once over the run: "
          + ", ".join(f"{kinds.get(k, ('?', '?'))[1]} {v}x" for k, v in sorted(moves.items()))
          + (": MET" if not twice else f": MISSED for {', '.join(sorted(twice))}"
             " (an HA rule that prefers its node brings it back when the node rejoins, or --return-guests)"))
    bound = eng.get("rule_bound", {})
    over = {k: v for k, v in moves.items() if v > (2 if k in bound else 1)}
    print("  ... but those whose HA rule keeps them on their node ("
          + (", ".join(f"{kinds.get(k, ('?', '?'))[1]} on {n}" for k, n in sorted(bound.items())) or "none")
          + "), which its reboot moves out and the CRM's failback back (twice is the least while the rule "
          "stands): " + ("MET" if not over else f"MISSED for {', '.join(sorted(over))}"))
    print(f"  wall time <= 1.3x naive: {t_eng / t_naive:.2f}x " + ("MET" if t_eng <= 1.3 * t_naive else "MISSED"))
    for line in eng.get("parked") or ():
        print(f"  {line}")
    print(f"  VIP never absent > {VIP_BUDGET:g} s (two adverts): longest gap {eng['vip_longest_gap']:.2f} s: "
          + ("MET" if eng["vip_longest_gap"] <= VIP_BUDGET else "MISSED"))
    print(f"  the run leaves the VIP on its preferred firewall (fw1): {eng['vip_holder_at_end']}: "
          + ("MET" if eng["vip_holder_at_end"] == ["fw1"] else "MISSED"))
    for line in FAILBACK or ["VIP fail-back: no line in the end report"]:
        print(f"  {line}")
    print(f"  total < 5% of naive: {100 * te / tn if tn else 0:.1f}% "
          + ("MET" if tn and te < 0.05 * tn else "MISSED")
          + f"; without the unmovable guest {100 * te2 / tn2 if tn2 else 0:.1f}% "
          + ("MET" if tn2 and te2 < 0.05 * tn2 else "MISSED"))


def failback_run(speed: float) -> tuple[list[str], dict]:
    """Maintenance of pve1 alone (fw1, the preferred VIP holder, runs there): D1 moves the VIPs
    to fw2, the run's last step fails them back; the sim's record of every VIP gap."""
    with SimLab("seed", speed=speed) as lab:
        settled(lab, lab.state()["guests"]["running"])
        lab.reset_availability()
        engine_run(lab, ("pve1",))
        av = lab.availability()
        return list(FAILBACK), {"vip_absent": av["vip_absent"], "vip_longest_gap": av["vip_longest_gap"],
                                "holder": lab.state()["vrrp"]["vip_holder"]}


def report_failback(lines: list[str], av: dict, speed: float) -> None:
    print("Maintenance of pve1 alone (its firewall fw1 is the preferred VIP holder): the VIP fail-back at the end")
    for line in lines or ["VIP fail-back: no line in the end report"]:
        print(f"  {line}")
    gaps = [float(x) for line in lines for x in re.findall(r"no MASTER for ([0-9.]+) s", line)]
    if gaps:  # the console measures real seconds; the sim runs `speed` lab seconds per real one
        print(f"  fail-back gap as the console measured it (polling, an upper bound): {max(gaps):.3f} s real "
              f"= {max(gaps) * speed:.2f} lab s")
    print(f"  sim record over the run (D1 move + fail-back): VIP absent {av['vip_absent']:.2f} lab s in all, "
          f"longest gap {av['vip_longest_gap']:.2f} lab s; VIP ends on {av['holder']}")
    ok = av["holder"] == ["fw1"] and av["vip_longest_gap"] <= VIP_BUDGET
    print(f"  target: back on fw1, no gap > {VIP_BUDGET:g} lab s (two adverts): {'MET' if ok else 'MISSED'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1, help="engine/naive pairs, interleaved")
    ap.add_argument("--return-guests", action="store_true",
                    help="the engine's rolling run moves every guest home at the end")
    ap.add_argument("--no-failback", action="store_true", help="skip the pve1-alone VIP fail-back run")
    args = ap.parse_args()
    import console.maintenance.cli  # noqa: F401 - imported before either is timed (see the docstring)
    import console.ssh  # noqa: F401

    kinds = guest_types(args.speed)
    pairs = []
    for i in range(1, args.rounds + 1):
        load_e = os.getloadavg()[0]
        eng, t_eng, _ = measure("engine", args.speed, ("--return-guests",) if args.return_guests else ())
        load_n = os.getloadavg()[0]
        naive, t_naive, _ = measure("naive", args.speed)
        pairs.append((t_eng, t_naive))
        print(f"round {i}: engine {t_eng:.1f} s (load {load_e:.1f}), naive {t_naive:.1f} s (load {load_n:.1f}): "
              f"{t_eng / t_naive:.2f}x; container restart-migrations "
              + ", ".join(f"{kinds.get(k, ('?', '?'))[1]} {v}x" for k, v in sorted(eng.get("ct_moves", {}).items())),
              flush=True)
    if args.rounds > 1:
        ratios = [e / n for e, n in pairs]
        print(f"ratios over {args.rounds} rounds: " + ", ".join(f"{r:.2f}" for r in ratios)
              + f"; median {statistics.median(ratios):.2f}; engine total / naive total "
              f"{sum(e for e, _ in pairs) / sum(n for _, n in pairs):.2f}")
    report(eng, naive, kinds, t_eng, t_naive, args.speed)
    if not args.no_failback:
        report_failback(*failback_run(args.speed), args.speed)


if __name__ == "__main__":
    main()
