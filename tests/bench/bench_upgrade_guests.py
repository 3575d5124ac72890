"""What the guest and firewall-pair upgrades cost, on the seed lab: wall time per
`labconsole upgrade run` (the CLI as an operator runs it: default poll and timeouts),
lab seconds each guest was unavailable (the sim's availability record), and the VIP
gaps (as the console measured them and as the sim counted them).

Run: .venv/bin/python -m tests.bench.bench_upgrade_guests [--speed 20]
(prints figures; asserts nothing). Lab seconds unless said otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

from tests.simlab import SimLab  # noqa: E402

ITEMS = (("mail", 200, "CT, libc changed: restarted"), ("db", 201, "CT, libc changed: restarted"),
         ("swarm2", 122, "VM via the guest agent, new kernel: rebooted"),
         ("backup-server", 112, "VM via the guest agent, new kernel: rebooted"),
         ("firewalls", None, "the pair, BACKUP first, VIP moved twice"))


def run(lab: SimLab, state: Path, *args: str) -> tuple[int, str, float]:
    env = dict(os.environ, LABCONSOLE_STATE_DIR=str(state), PYTHONPATH=str(REPO))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())",
                        "--config", str(lab.config_path), "upgrade", *args], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=20.0)
    speed = ap.parse_args().speed
    print(f"guest upgrades on the seed lab, sim speed {speed:g} (lab s per real s)")
    print(f"{'item':<15} {'exit':>4} {'wall s':>7} {'lab s':>7} {'down lab s':>10}  what")
    with tempfile.TemporaryDirectory() as tmp, SimLab("seed", speed=speed) as lab:
        state = Path(tmp)
        code, out, took = run(lab, state, "list")
        print(f"{'(list)':<15} {code:>4} {took:>7.2f} {took * speed:>7.1f} {'-':>10}  inventory of 3 nodes + 12 guests")
        for name, vmid, what in ITEMS:
            lab.reset_availability()
            code, out, took = run(lab, state, "run", name, "--yes")
            av = lab.availability()
            down = (av["guests"].get(str(vmid), 0.0) if vmid else sum(av["guests"].get(v, 0.0) for v in ("101", "102")))
            print(f"{name:<15} {code:>4} {took:>7.2f} {took * speed:>7.1f} {down:>10.2f}  {what}")
            if vmid is None:
                for line in out.splitlines():
                    if line.startswith("VIP "):
                        print(f"{'':<15} console (wall s, to one poll of both firewalls): {line}")
                print(f"{'':<15} sim: no VIP for {av['vip_absent']:.2f} s in all, longest gap "
                      f"{av['vip_longest_gap']:.2f} s (target: <= 2 adverts = 2 s)")
            if code != 0:
                print(out[-1500:])


if __name__ == "__main__":
    main()
