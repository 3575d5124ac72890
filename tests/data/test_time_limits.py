"""Time limits: `labconsole check` returns within its timeout plus a small margin
whatever the sources do; a failing source is retried at least every 3 intervals
(so a recovered layer is fresh again soon), and ctrl+r (Hub.refresh) still polls at
once. The bounds asserted are generous (seconds, against a hang of 30 s): they
check that nothing waits out a stuck call, not how fast a round is."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from console.cli import main
from console.poller import BACKOFF_INTERVALS, Hub, Poller

MARGIN = 10.0  # s over the configured timeout: a no-hang bound (the hang is 30 s), not a speed target;
# the figures are printed by tests/bench/bench_check_timeout.py


def test_backoff_is_capped_at_three_intervals():
    p = Poller("x", None, interval=2.0, timeout=1.0)  # type: ignore[arg-type]
    delays = []
    for failures in range(0, 12):
        p.failures = failures
        delays.append(p.next_delay())
    assert delays[0] == 2.0 and max(delays) == BACKOFF_INTERVALS * 2.0 == 6.0
    assert delays[-1] == 6.0


async def test_refresh_polls_at_once_even_while_backing_off():
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def failing():
        calls.append(loop.time())
        raise ConnectionRefusedError(111, "Connection refused")

    poller = Poller("traefik", failing, interval=30.0, timeout=1.0)
    hub = Hub([poller])
    hub.start()
    try:
        while len(calls) < 1:
            await asyncio.sleep(0.01)
        assert hub.snapshots["traefik"].error == "traefik: connection refused"  # no class name
        hub.refresh()  # ctrl+r: the next delay would be 60 s
        started = loop.time()
        while len(calls) < 2 and loop.time() - started < 5:
            await asyncio.sleep(0.01)
        assert len(calls) == 2
    finally:
        await hub.stop()


def test_a_stuck_worker_thread_does_not_keep_the_process_alive():
    code = (
        "import asyncio, time\n"
        "from console.thread_pool import ensure_thread_pool\n"
        "async def main():\n"
        "    ensure_thread_pool()\n"
        "    try:\n"
        "        await asyncio.wait_for(asyncio.to_thread(time.sleep, 30), 0.3)\n"
        "    except TimeoutError:\n"
        "        print('timed out')\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert out.returncode == 0 and out.stdout.strip() == "timed out", out.stderr
    assert elapsed < 0.3 + MARGIN, f"the process waited {elapsed:.1f} s for a stuck thread"


def _with_timeout(sim, seconds: float):
    text = sim.config_path.read_text().replace("timeout = 5.0", f"timeout = {seconds}", 1)
    path = sim.dir / "config-short-timeout.toml"
    path.write_text(text)
    return path


def test_check_returns_within_its_timeout_when_the_api_hangs(sim, capsys):
    sim.control("latency", "pve", 30.0)  # every Proxmox endpoint answers after 30 s
    config = _with_timeout(sim, 2.0)
    started = time.monotonic()
    code = main(["--config", str(config), "check", "--json"])
    elapsed = time.monotonic() - started
    doc = json.loads(capsys.readouterr().out)
    assert elapsed < 2.0 + MARGIN, f"check took {elapsed:.1f} s with timeout = 2"
    assert code == 3 and doc["status"] == "unknown"
    error = doc["layers"]["proxmox"]["error"]
    assert error.startswith("proxmox: ") and "Error" not in error
    assert doc["layers"]["swarm"]["ok"] and doc["layers"]["traefik"]["ok"]  # the others still answered
