"""Where the wall time of a rolling upgrade goes: one `labconsole maintenance run --all --yes`
on the seed lab, each step's real seconds from the run's journal (apply-start -> apply-done,
fsynced records with their time), per step id over all nodes, and what lies outside the
steps (the checks of each step, the review before the prompt, the run's end: guests parked,
VIP fail-back).

Run: .venv/bin/python -m tests.bench.bench_maintenance_steps [--speed 20]
(prints figures; asserts nothing). Steps that run at once (V2, V3, V4, V6: engine.BaseStep.together)
are journaled one after the other once all have ended: their time shows under the first of them.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

from console.maintenance.journal import Journal
from tests.bench.bench_maintenance import engine_run, settled
from tests.simlab import SimLab


def step_times(journal: Path) -> tuple[dict[str, dict[str, float]], float]:
    """step id -> node -> seconds between its apply-start and apply-done; and the journal's span."""
    records = list(Journal(journal).records())
    started: dict[tuple[str, str], float] = {}
    took: dict[str, dict[str, float]] = defaultdict(dict)
    for r in records:
        key = (r.get("node"), r.get("step"))
        if r["event"] == "apply-start":
            started[key] = r["t"]
        elif r["event"] == "apply-done" and key in started:
            took[r["step"]][r["node"]] = r["t"] - started.pop(key)
    return took, records[-1]["t"] - records[0]["t"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    args = ap.parse_args()
    with SimLab("seed", speed=args.speed) as lab:
        settled(lab, lab.state()["guests"]["running"])
        t0 = time.monotonic()
        wall = engine_run(lab)
        journals = sorted((Path(os.environ["LABCONSOLE_STATE_DIR"]) / "journal").glob("*/*.jsonl"),
                          key=lambda p: p.stat().st_mtime)
    took, span = step_times(journals[-1])
    in_steps = sum(sum(by_node.values()) for by_node in took.values())
    print(f"maintenance run --all --yes on the seed lab, sim speed {args.speed:g}: {wall:.2f} s real "
          f"({time.monotonic() - t0:.2f} s with the lab's teardown); journal span {span:.2f} s")
    nodes = sorted({n for by_node in took.values() for n in by_node})
    print(f"  {'step':5} {'all':>7} " + " ".join(f"{n:>7}" for n in nodes))
    for step, by_node in sorted(took.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"  {step:5} {sum(by_node.values()):7.2f} " + " ".join(f"{by_node.get(n, 0):7.2f}" for n in nodes))
    print(f"  applies {in_steps:.2f} s; outside them (review before the prompt, checks, the run's end) "
          f"{wall - in_steps:.2f} s")


if __name__ == "__main__":
    main()
