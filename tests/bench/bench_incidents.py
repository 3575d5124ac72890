"""Incidents benchmark (issue 10). Prints a table; asserts nothing.

For each single fault of the sim catalogue, on a fresh seed lab: the console
(the real App, headless, polling through its real sources) and `labconsole
check --json` are asked
  - how many top-level incidents the Health screen and `check` show,
  - whether the first one names the root cause,
  - how many seconds pass from the injection until Health shows that root
    cause first (against the poll interval),
  - how many times header, tiles and `check` disagreed (tests/tui/agreement.py)
    while the fault showed.
Target: 1 incident naming the root cause for every single fault, 0
contradictions, detection within one poll interval (after the fault is visible
to the API at all: a node is "offline" only once corosync says so).

Also: the CPU one story costs on the `large` scenario.

Run: .venv/bin/python -m tests.bench.bench_incidents [NAME ... | cost]
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("LABCONSOLE_STATE_DIR", tempfile.mkdtemp(prefix="bench-incidents-"))

from console.app import ConsoleApp  # noqa: E402
from console.check import run_check  # noqa: E402
from console.config import load_config  # noqa: E402
from console.sources import build_hub, build_sources  # noqa: E402
from tests.simlab import SimLab, SimLabError  # noqa: E402
from tests.tui.agreement import disagreements, header_levels, tile_levels  # noqa: E402
from widgets.fast_table import FastTable  # noqa: E402

SPEED = 10.0
OBSERVE = 8.0  # s of real time the incident list is watched after detection
DETECT_LIMIT = 60.0


@dataclass
class Case:
    name: str
    inject: Callable  # async (lab, cluster, ctx) -> None; ctx: {"tasks": [...], "t_fault": monotonic or None}
    names_root: Callable[[str], bool]  # on an incident row key "layer|subject|text"
    speed: float = SPEED


def fault(kind, target=None):
    async def inject(lab, cluster, ctx):
        lab.control(kind, target)
    return inject


async def swarm_vm_stopped(lab, cluster, ctx):
    """The sim has no Swarm-node fault: stop swarm2's VM through the Proxmox API instead."""
    hub, actions = build_hub(cluster)
    try:
        await actions.guest_power("pve2", 122, "qemu", "stop")
    finally:
        await actions.sources.close()


async def vip_stuck(lab, cluster, ctx):
    """The VIP does not move: fw1 goes to FAULT (its track file, as a maintenance run does it)
    and fw2 does not take over."""
    lab.control("vip-stuck")
    srcs = build_sources(cluster)
    try:
        await srcs.get("vrrp").set_track("fw1", 1)
    finally:
        await srcs.close()


async def apt_failure(lab, cluster, ctx):
    """`maintenance run pve2` with apt failing on pve2: the run stops at U1 and waits.
    Detection counts from the failure of U1, not from the start of the run."""
    from tests.maintenance.conftest import Maint

    lab.control("apt-fail", "pve2")

    async def run():
        async with Maint(lab) as m:
            m.on("step-failed", "U1", lambda: ctx.update(t_fault=time.monotonic()))
            await m.start(["pve2"]).run()
    ctx["tasks"].append(asyncio.create_task(run()))


def key_has(*parts):
    return lambda key: all(p in key for p in parts)


CASES = [
    Case("node down", fault("node-down", "pve3"), key_has("cluster|pve3|")),
    Case("OSD down", fault("osd-down", "1"), key_has("ceph|osd.1|")),
    Case("mon down", fault("mon-down", "pve2"), key_has("ceph|mon|", "pve2")),  # ceph-mon stopped, node up
    Case("split brain", fault("split-brain"), key_has("vrrp|VG_1|SPLIT BRAIN")),
    Case("HA error", fault("ha-error", "110"), key_has("guests|vm:110|")),
    Case("Swarm node down (VM stopped)", swarm_vm_stopped, key_has("swarm|swarm2|")),
    Case("Traefik backend down", fault("traefik-backend-down", "whoami"), key_has("traefik|whoami@docker|")),
    Case("VIP stuck", vip_stuck, key_has("vrrp|VG_1|")),
    Case("apt failure mid-maintenance", apt_failure, key_has("maintenance of pve2", "U1"), speed=60.0),
]


async def check_doc(cluster) -> tuple[int, dict]:
    out = io.StringIO()
    code = await asyncio.to_thread(run_check, cluster, True, out)
    return code, json.loads(out.getvalue())


async def measure(case: Case) -> dict:
    row = {"fault": case.name}
    with SimLab("seed", speed=case.speed) as lab:
        lab.back_up_all()  # the seed has a stale and a never backed-up guest: start from a healthy lab
        config = load_config(lab.config_path)
        cluster = config.cluster(None)
        app = ConsoleApp(config, None, lambda c: build_hub(c, read_only=True), start_polling=False)
        ctx: dict = {"tasks": [], "t_fault": None}
        async with app.run_test(size=(80, 24)) as pilot:
            await app.hub.poll_all_once()
            await pilot.pause()
            table = app.screen.query_one("#findings", FastTable)
            try:
                t0 = time.monotonic()
                await case.inject(lab, cluster, ctx)
            except SimLabError as exc:
                row["note"] = "not in the sim: " + str(exc).splitlines()[0][:60]
                return row
            detected = None
            contradictions, max_health = 0, 0
            while time.monotonic() - t0 < DETECT_LIMIT:
                await app.hub.poll_all_once()
                await pilot.pause()
                app.screen.update_status(app.clock())
                keys = table.visible_keys
                if keys and case.names_root(keys[0]):
                    detected = time.monotonic() - (ctx["t_fault"] or t0)
                    break
            row["detect_s"] = detected
            end = time.monotonic() + OBSERVE
            rounds = 0
            while time.monotonic() < end:
                before = (header_levels(app), tile_levels(app))
                code, doc = await check_doc(cluster)
                await app.hub.poll_all_once()
                await pilot.pause()
                after = (header_levels(app), tile_levels(app))
                max_health = max(max_health, len(table.visible_keys))
                if before == after:  # both sides saw the same state
                    failing = {n for n, s in app.snapshots.items() if s.error is not None}
                    contradictions += bool(disagreements(*after, doc, failing))
                    rounds += 1
            keys = table.visible_keys
            row.update(health=len(keys), health_max=max_health, check=len(doc["incidents"]), exit=code,
                       first_root=bool(keys) and case.names_root(keys[0]),
                       check_root=bool(doc["incidents"]) and case.names_root(
                           "|".join(doc["incidents"][0]["root"][k] for k in ("layer", "subject", "text"))),
                       contradictions=contradictions, rounds=rounds,
                       interval=cluster.interval, first=(keys[0].split("|", 2)[-1][:48] if keys else "-"))
            for t in ctx["tasks"]:
                t.cancel()
    return row


def show(rows: list[dict]) -> None:
    head = (f"{'fault':30} {'Health':>6} {'check':>5} {'exit':>4} {'root 1st':>8} {'detect s':>8} "
            f"{'contra':>6}  first incident")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "note" in r:
            print(f"{r['fault']:30} {'n/a':>6} {'n/a':>5} {'':>4} {'':>8} {'':>8} {'':>6}  {r['note']}")
            continue
        root = "yes" if r["first_root"] and r["check_root"] else ("Health" if r["first_root"] else
                                                                  "check" if r["check_root"] else "no")
        det = f"{r['detect_s']:.1f}" if r["detect_s"] is not None else "never"
        health = f"{r['health']}" + (f"({r['health_max']})" if r["health_max"] != r["health"] else "")
        print(f"{r['fault']:30} {health:>6} {r['check']:>5} {r['exit']:>4} {root:>8} {det:>8} "
              f"{r['contradictions']:>2}/{r['rounds']:<3}  {r['first']}")
    print(f"\nHealth: top-level rows at the end (max while watched); poll interval {rows[0].get('interval', '?')} s;"
          " detect: injection -> Health's first row names the root cause (one poll round per loop);"
          " contra: rounds where header/tiles/check disagreed / rounds compared")


def bench_cost() -> None:
    """CPU of one health story (rules, graph, incidents, verdicts) on the `large` scenario with a
    node down: the live console computes it once per new snapshot (and per second while stale)."""
    from console.check import check_round
    from console.health import evaluate
    from console.incidents import tell

    with SimLab("large", speed=SPEED, ready_timeout=120) as lab:
        cluster = load_config(lab.config_path).cluster(None)
        lab.control("node-down", "pve03")
        time.sleep(3)
        snaps, findings, now = asyncio.run(check_round(cluster))
    figures = {}
    for name, fn in (("rules (evaluate)", lambda: evaluate(snaps, now)),
                     ("whole story (tell)", lambda: tell(snaps, now))):
        fn()
        t = time.process_time()
        for _ in range(10):
            story = fn()
        figures[name] = (time.process_time() - t) / 10 * 1000
    print(f"\nlarge scenario, pve03 down: {len(findings)} findings -> {len(story.incidents)} incidents "
          f"(first: {story.incidents[0].root.finding.text}, {len(story.incidents[0].effects)} effects)")
    for name, ms in figures.items():
        print(f"  {name:20} {ms:6.1f} ms CPU")


def main() -> None:
    wanted = set(sys.argv[1:])
    rows = []
    for case in CASES:
        if wanted and case.name not in wanted:
            continue
        rows.append(asyncio.run(measure(case)))
        print(f"  measured {case.name}", file=sys.stderr, flush=True)
    if rows:
        show(rows)
    if not wanted or "cost" in wanted:
        bench_cost()


if __name__ == "__main__":
    main()
