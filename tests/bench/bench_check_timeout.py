"""How long `labconsole check` takes when the Proxmox API hangs (the sim's `latency`
fault: every endpoint answers after 30 s), for a few configured timeouts. The target:
the configured timeout plus a small margin (failover tries share one budget; no
worker thread stuck in a socket keeps the process alive).

Run: .venv/bin/python tests/bench/bench_check_timeout.py
(prints figures against the target; asserts nothing).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from console.cli import main  # noqa: E402
from tests.simlab import SimLab  # noqa: E402

MARGIN = 1.0  # s over the timeout that counts as "within"


def main_bench() -> None:
    with SimLab("seed", speed=10.0) as lab:
        lab.control("latency", "pve", 30.0)
        print(f"{'timeout':>8} {'took':>7} {'target':>7}  exit  proxmox error")
        for timeout in (1.0, 1.0, 2.0, 5.0):  # the first run also pays the imports (~1-2 s)
            path = lab.dir / f"config-{timeout:g}.toml"
            path.write_text(lab.config_path.read_text().replace("timeout = 5.0", f"timeout = {timeout}", 1))
            out = io.StringIO()
            started = time.monotonic()
            with contextlib.redirect_stdout(out):
                code = main(["--config", str(path), "check", "--json"])
            took = time.monotonic() - started
            error = json.loads(out.getvalue())["layers"]["proxmox"]["error"] or ""
            verdict = "ok" if took <= timeout + MARGIN else "OVER"
            print(f"{timeout:>7g}s {took:>6.2f}s {timeout + MARGIN:>6g}s  {code:>4}  {verdict}: {error[:90]}")


if __name__ == "__main__":
    main_bench()
