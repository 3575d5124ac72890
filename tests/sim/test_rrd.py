"""The sim's rrddata: PVE's shape (70 rows per timeframe, steps, cf), values that move with the clock.

The return schema of these routes is checked with every other route in
test_pve_conformance.py; here: behaviour over the real aiohttp app."""

from __future__ import annotations

import math

from aiohttp.test_utils import TestClient, TestServer

from console.sim.pve_api import make_pve_app
from console.sim.pve_rrd import ROWS, STEPS
from console.sim.world import World

SECRET = "0b3c3e5e-1d5a-4b7e-9d1e-6f0a3c2b1a99"
HEADERS = {"Authorization": f"PVEAPIToken=root@pam!labconsole={SECRET}"}


async def _get(client, path: str, **params):
    resp = await client.get("/api2/json" + path, params=params, headers=HEADERS)
    return resp.status, resp.reason, (await resp.json())["data"] if resp.status == 200 else None


async def _with_client(world, fn):
    client = TestClient(TestServer(make_pve_app(world, "pve1", SECRET)))
    await client.start_server()
    try:
        return await fn(client)
    finally:
        await client.close()


async def test_node_rrddata_has_pve_shape_and_moves_with_the_clock():
    world = World("seed", manual_clock=True)

    async def run(client):
        status, _, rows = await _get(client, "/nodes/pve2/rrddata", timeframe="hour")
        assert status == 200 and len(rows) == ROWS
        times = [r["time"] for r in rows]
        assert all(b - a == 60 for a, b in zip(times, times[1:]))
        assert times[-1] + 60 <= world.now() < times[-1] + 120  # ends before the current step
        for r in rows:
            assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in r.values())
            assert 0 <= r["cpu"] <= 1 and r["memused"] <= r["memtotal"] and r["maxcpu"] == 4
        assert len({round(r["cpu"], 4) for r in rows}) > 10  # a curve, not a flat line
        world.advance(180)
        _, _, later = await _get(client, "/nodes/pve2/rrddata", timeframe="hour")
        assert later[-1]["time"] == times[-1] + 180
        assert later[:-3] == rows[3:]  # the same step always reads the same: the window slid
        _, _, day = await _get(client, "/nodes/pve2/rrddata", timeframe="day", cf="MAX")
        assert day[1]["time"] - day[0]["time"] == STEPS["day"] and len(day) == ROWS

    await _with_client(world, run)


async def test_guest_rrddata_for_running_and_stopped_guests_and_errors():
    world = World("seed", manual_clock=True)
    running = next(g for g in world.guests.values() if g.status == "running" and g.type == "lxc")
    stopped = next((g for g in world.guests.values() if g.status != "running"), None)

    async def run(client):
        _, _, rows = await _get(client, f"/nodes/{running.node}/lxc/{running.vmid}/rrddata", timeframe="hour")
        assert len(rows) == ROWS and rows[-1]["cpu"] > 0 and rows[-1]["mem"] > 0 and rows[-1]["netin"] > 0
        assert rows[-1]["maxmem"] == running.maxmem
        _, _, peak = await _get(client, f"/nodes/{running.node}/lxc/{running.vmid}/rrddata", timeframe="hour", cf="MAX")
        assert peak[-1]["netin"] > rows[-1]["netin"]
        if stopped is not None:
            _, _, idle = await _get(client, f"/nodes/{stopped.node}/{stopped.type}/{stopped.vmid}/rrddata",
                                    timeframe="hour")
            assert {r["cpu"] for r in idle} == {0}
        # wrong kind, bad timeframe, unknown parameter: PVE's answers
        status, reason, _ = await _get(client, f"/nodes/{running.node}/qemu/{running.vmid}/rrddata", timeframe="hour")
        assert status == 500 and "does not exist" in reason
        status, _, _ = await _get(client, "/nodes/pve1/rrddata", timeframe="fortnight")
        assert status == 400
        status, _, _ = await _get(client, "/nodes/pve1/rrddata", timeframe="hour", ds="cpu")
        assert status == 400

    await _with_client(world, run)


async def test_a_rebooted_node_has_a_gap_and_an_offline_node_answers_595():
    world = World("seed", manual_clock=True)

    async def run(client):
        world.nodes["pve3"].boot_time = world.now() - 300  # came back 5 minutes ago
        _, _, rows = await _get(client, "/nodes/pve3/rrddata", timeframe="hour")
        gaps = [r for r in rows if set(r) == {"time"}]
        assert 1 <= len(gaps) <= 3 and all(world.now() - 600 < r["time"] < world.now() - 240 for r in gaps)
        world.inject("node-down", "pve2")
        world.tick()
        status, _, _ = await _get(client, "/nodes/pve2/rrddata", timeframe="hour")
        assert status == 595

    await _with_client(world, run)


def test_ceph_client_io_moves_with_the_clock_for_the_io_sparkline():
    from console.sim import ceph_json

    world = World("seed", manual_clock=True)
    seen = set()
    for _ in range(10):
        pgmap = ceph_json.status(world)["pgmap"]
        assert pgmap["read_bytes_sec"] > 0 and isinstance(pgmap["write_bytes_sec"], int)
        seen.add(pgmap["write_bytes_sec"])
        world.advance(4)
    assert len(seen) >= 5
