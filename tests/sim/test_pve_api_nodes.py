"""The simulated PVE API's node routes added later: clean shutdown, and the per-node Ceph service lists
(pool, mgr, mds, mon). Same HTTPS lab as test_pve_api (its fixtures are reused)."""

from __future__ import annotations

import asyncio
import time

from tests.sim import test_pve_api
from tests.sim.test_pve_api import TASK_WAIT, call

cert, lab = test_pve_api.cert, test_pve_api.lab  # the fixtures


async def test_node_shutdown_is_clean_and_not_a_crash(lab):
    api = lab.api()
    assert await call(api.nodes("pve3").status.post, command="shutdown") is None
    deadline = time.monotonic() + TASK_WAIT
    while time.monotonic() < deadline:
        nodes = {n["node"]: n["status"] for n in await call(api.nodes.get)}  # each request ticks the world
        if nodes["pve3"] == "offline" and lab.world.nodes["pve3"].status == "offline":
            break
        await asyncio.sleep(0.1)
    faults = lab.world.faults_dict()
    assert lab.world.nodes["pve3"].status == "offline"
    assert faults["nodes_shut_down"] == ["pve3"] and faults["nodes_down"] == []
    tasks = [t for t in lab.world.pve_tasks.values() if t.node == "pve3" and t.type == "srvshutdown"]
    assert [t.exitstatus for t in tasks] == ["OK"]


async def test_node_ceph_service_lists_follow_the_cluster(lab):
    api = lab.api("pve2")
    pools = await call(api.nodes("pve2").ceph.pool.get)
    assert [p["pool_name"] for p in pools] == [p.name for p in sorted(lab.world.pools, key=lambda p: p.id)]
    assert all(0.0 <= p["percent_used"] < 1.0 and p["type"] == "replicated" and p["crush_rule_name"] for p in pools)
    lab.world.inject("node-down", "pve1")
    mons = {m["name"]: m for m in await call(api.nodes("pve2").ceph.mon.get)}
    assert mons["pve1"]["state"] == "stopped" and "quorum" not in mons["pve1"]
    assert mons["pve2"]["quorum"] == 1 and mons["pve2"]["state"] == "running" and mons["pve2"]["host"] == "pve2"
    mgrs = {m["name"]: m["state"] for m in await call(api.nodes("pve2").ceph.mgr.get)}
    assert mgrs["pve1"] == "stopped" and sorted(mgrs.values()) == ["active", "standby", "stopped"]
    mds = {m["name"]: m for m in await call(api.nodes("pve3").ceph.mds.get)}
    assert mds["pve1"]["state"] == "stopped" and [m["state"] for m in mds.values()].count("up:active") == 1
    active = next(m for m in mds.values() if m["state"] == "up:active")
    assert active["name"] == lab.world.ceph.mds_active and active["rank"] == 0
