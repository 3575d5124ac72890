"""How fast `labconsole` gets going: `--help`, importing console.cli, and the heavy modules it must not load.

Run: .venv/bin/python -m tests.bench.cli_startup   (prints figures; asserts nothing)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNS = 7


def wall(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_us(module: str) -> int:
    """Cumulative import time of `module` in microseconds (python -X importtime)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                            cwd=REPO, capture_output=True, text=True)
    for line in result.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    return -1


def main() -> None:
    baseline = wall([sys.executable, "-c", "pass"])
    help_time = wall([sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main(['--help']))"])
    print(f"python -c pass                 {baseline * 1000:7.1f} ms (median of {RUNS})")
    print(f"labconsole --help              {help_time * 1000:7.1f} ms (median of {RUNS})")
    for module in ("console.cli", "console.config", "console.app"):
        print(f"import {module:<22} {import_us(module) / 1000:7.1f} ms cumulative")


if __name__ == "__main__":
    main()
