"""The Swarm source: parsing, the simulated lab (fetch, writes, manager
failover), and failures served by a tiny local Engine-API-like server."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from console.config import load_config
from console.config_model import SwarmConfig
from console.errors import ConsoleError, ReadOnlyError
from console.sources import swarm as swarm_module
from console.sources.swarm import SwarmSource
from console.sources.swarm_parse import parse_service, parse_state, parse_task

# ----------------------------------------------------------------- parsing


def _task(i, service="s1", node="n1", state="running", desired="running", slot=None):
    return {"ID": f"t{i}", "ServiceID": service, "NodeID": node, "Slot": slot or i, "DesiredState": desired,
            "Status": {"State": state, "Timestamp": "2024-11-17T07:06:40Z", "Message": state}}


NODES = [
    {"ID": "n1", "Version": {"Index": 7}, "Spec": {"Role": "manager", "Availability": "active"},
     "Description": {"Hostname": "swarm1", "Engine": {"EngineVersion": "26.1.5"}},
     "Status": {"State": "ready", "Addr": "10.0.0.21"},
     "ManagerStatus": {"Leader": True, "Reachability": "reachable", "Addr": "10.0.0.21:2377"}},
    {"ID": "n2", "Version": {"Index": 9}, "Spec": {"Role": "worker", "Availability": "drain"},
     "Description": {"Hostname": "swarm2"}, "Status": {"State": "down"}},
]


def test_running_is_counted_on_live_nodes_only():
    services = [{"ID": "s1", "Version": {"Index": 3},
                 "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}},
                          "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.27@sha256:abc"}}},
                 "UpdateStatus": {"State": "rollback_paused", "Message": "update paused due to failure"}}]
    tasks = [_task(1), _task(2, node="n2"), _task(3, state="failed", desired="shutdown"), _task(4, state="pending")]
    state = parse_state(NODES, services, tasks, "unix:///x.sock")
    (web_,) = state.services
    # a "running" task on a node that is down is not running (as `docker service ls` counts)
    assert (web_.replicas_running, web_.replicas_desired) == (1, 3)
    assert web_.image == "nginx:1.27" and web_.update_state == "rollback_paused" and web_.version == 3
    assert [n.hostname for n in state.nodes] == ["swarm1", "swarm2"]
    n1, n2 = state.nodes
    assert n1.leader and n1.engine_version == "26.1.5" and n1.version == 7 and n1.reachability == "reachable"
    assert (n2.role, n2.availability, n2.state, n2.leader, n2.reachability) == ("worker", "drain", "down", False, None)
    assert {t.node_name for t in state.tasks} == {"swarm1", "swarm2"}


def test_global_service_desired_counts_non_shutdown_tasks():
    svc = {"ID": "g", "Spec": {"Name": "agent", "Mode": {"Global": {}}}}
    tasks = [parse_task(_task(i, service="g")) for i in range(3)] + \
        [parse_task(_task(9, service="g", state="shutdown", desired="shutdown"))]
    parsed = parse_service(svc, tasks)
    assert (parsed.mode, parsed.replicas_running, parsed.replicas_desired) == ("global", 3, 3)


def test_service_status_used_when_no_tasks_and_missing_fields_do_not_crash():
    svc = {"ID": "x", "ServiceStatus": {"RunningTasks": 1, "DesiredTasks": 2}}
    parsed = parse_service(svc, [])
    assert (parsed.name, parsed.replicas_running, parsed.replicas_desired, parsed.image, parsed.update_state) == \
        ("x", 1, 2, "", None)
    task = parse_task({"ID": "t", "Status": {"State": "rejected", "Err": "no suitable node"}})
    assert (task.state, task.error, task.node_id, task.slot, task.desired_state) == \
        ("rejected", "no suitable node", None, None, "unknown")


# ------------------------------------------------------------ the sim lab


def _sim_source(lab, read_only=False) -> SwarmSource:
    cfg = load_config(lab.config_path).cluster()
    return SwarmSource(cfg.swarm, None, read_only=read_only)


async def test_fetch_from_the_seed_lab(seed_sim):
    source = _sim_source(seed_sim)
    try:
        state = await source.fetch()
    finally:
        await source.close()
    assert sorted(n.hostname for n in state.nodes) == ["swarm1", "swarm2", "swarm3"]
    assert sum(n.leader for n in state.nodes) == 1 and all(n.state == "ready" for n in state.nodes)
    assert state.services and all(s.replicas_running == s.replicas_desired for s in state.services)
    running = [t for t in state.tasks if t.state == "running"]
    assert len(running) == sum(s.replicas_running for s in state.services)
    assert all(t.node_name in {"swarm1", "swarm2", "swarm3"} for t in running)
    assert state.manager.endswith("docker-swarm1.sock")


async def test_manager_failover_when_swarm1_host_is_down(sim):
    source = _sim_source(sim)
    try:
        first = await source.fetch()
        assert first.manager.endswith("docker-swarm1.sock")
        sim.control("node-down", "pve1")  # the Proxmox node running the swarm1 VM
        state = await source.fetch()
        assert not state.manager.endswith("docker-swarm1.sock")
        # the managers notice the lost heartbeat after a while, then report it down
        for _ in range(100):
            swarm1 = next(n for n in state.nodes if n.hostname == "swarm1")
            if swarm1.state == "down":
                break
            await asyncio.sleep(0.2)
            state = await source.fetch()
    finally:
        await source.close()
    assert swarm1.state == "down", swarm1
    assert state.manager.endswith(("docker-swarm2.sock", "docker-swarm3.sock"))
    # tasks still listed on swarm1 do not count as running
    on_swarm1 = {t.service_id for t in state.tasks if t.node_id == swarm1.id and t.state == "running"}
    for svc in state.services:
        live = sum(1 for t in state.tasks if t.service_id == svc.id and t.state == "running" and t.node_id != swarm1.id)
        assert svc.replicas_running == live, (svc.name, on_swarm1)


async def test_drain_update_and_rollback_in_the_sim(sim):
    source = _sim_source(sim)
    try:
        await source.node_availability("swarm3", "drain")
        state = await source.fetch()
        assert next(n for n in state.nodes if n.hostname == "swarm3").availability == "drain"
        await source.node_availability("swarm3", "active")
        await source.service_update("whoami", image="traefik/whoami:v1.10.4")
        state = await source.fetch()
        whoami = next(s for s in state.services if s.name == "whoami")
        assert whoami.image == "traefik/whoami:v1.10.4" and whoami.update_state in ("updating", "completed")
        await source.service_rollback("whoami")
        state = await source.fetch()
        whoami = next(s for s in state.services if s.name == "whoami")
        assert whoami.image == "traefik/whoami:v1.10.3"
        assert whoami.update_state in ("rollback_started", "rollback_completed")
    finally:
        await source.close()


async def test_an_unchanged_swarm_is_not_decoded_or_parsed_again(sim, monkeypatch):
    parsed = []
    real = swarm_module._parse_answers
    monkeypatch.setattr(swarm_module, "_parse_answers", lambda *a: parsed.append(1) or real(*a))
    source = _sim_source(sim)
    try:
        first = await source.fetch()
        again = await source.fetch()
        assert again is first and len(parsed) == 1  # the same bytes: the last state, not parsed again
        await source.service_update("whoami", replicas=5)
        changed = await source.fetch()
        assert len(parsed) == 2 and changed is not first
        assert next(s for s in changed.services if s.name == "whoami").replicas_desired == 5
    finally:
        await source.close()


async def test_read_only_refuses_writes(seed_sim):
    source = _sim_source(seed_sim, read_only=True)
    with pytest.raises(ReadOnlyError):
        await source.node_availability("swarm1", "drain")
    with pytest.raises(ReadOnlyError):
        await source.service_update("whoami", replicas=5)
    with pytest.raises(ReadOnlyError):
        await source.service_rollback("whoami")
    await source.close()


# ------------------------------------------------- failures, local server


async def _engine(tmp_path, name: str, nodes_handler) -> tuple[str, web.AppRunner]:
    """An Engine-API-like server on a unix socket: /version works, /nodes is `nodes_handler`."""
    async def version(_req):
        return web.json_response({"ApiVersion": "1.41", "Version": "20.10.24"})

    async def empty(_req):
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/v1.41/nodes", nodes_handler)
    app.router.add_get("/v1.41/services", empty)
    app.router.add_get("/v1.41/tasks", empty)
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / f"{name}.sock"
    await web.UnixSite(runner, str(path)).start()
    return f"unix://{path}", runner


async def _error_500(_req):
    return web.json_response({"message": "rpc error: code = Unknown desc = The swarm does not have a leader"},
                             status=503)


async def _malformed(_req):
    return web.Response(text='[{"ID": "n1", "Spec": ', content_type="application/json")


async def _slow(_req):
    await asyncio.sleep(1.2)
    return web.json_response([])


async def _ok(_req):
    return web.json_response(NODES)


@pytest.mark.parametrize("handler,fragment", [
    (_error_500, "HTTP 503"),
    (_malformed, "JSON"),
    (_slow, "timed out"),
], ids=["5xx", "malformed-json", "timeout"])
async def test_failing_manager_gives_a_clear_error_and_the_next_one_is_used(tmp_path, handler, fragment):
    bad, bad_runner = await _engine(tmp_path, "bad", handler)
    good, good_runner = await _engine(tmp_path, "good", _ok)
    try:
        alone = SwarmSource(SwarmConfig(managers=(bad,), timeout=0.5), None)
        with pytest.raises(ConsoleError) as err:
            await alone.fetch()
        await alone.close()
        assert bad in str(err.value) and fragment in str(err.value), str(err.value)
        # the failover shares one budget: half of it for the bad manager, the rest for the good one
        both = SwarmSource(SwarmConfig(managers=(bad, good), timeout=2.0), None)
        state = await both.fetch()
        await both.close()
        assert state.manager == good and [n.hostname for n in state.nodes] == ["swarm1", "swarm2"]
    finally:
        await bad_runner.cleanup()
        await good_runner.cleanup()


async def test_unreachable_managers_are_all_named(tmp_path):
    managers = (f"unix://{tmp_path}/gone.sock", "tcp://127.0.0.1:1", "ssh://swarm9")
    source = SwarmSource(SwarmConfig(managers=managers, timeout=1.0), None)
    with pytest.raises(ConsoleError) as err:
        await source.fetch()
    text = str(err.value)
    assert all(m in text for m in managers) and "no manager answered" in text


def test_unknown_scheme_and_bad_availability(tmp_path):
    source = SwarmSource(SwarmConfig(managers=("ftp://x",)), None)
    with pytest.raises(ConsoleError) as err:
        asyncio.run(source.fetch())
    assert "unknown scheme" in str(err.value)
    with pytest.raises(ConsoleError) as err:
        asyncio.run(source.node_availability("swarm1", "sideways"))
    assert "sideways" in str(err.value)


async def test_sim_error_rate_on_every_manager_is_one_clear_error(seed_sim):
    source = _sim_source(seed_sim)
    seed_sim.control("error-rate", "docker", 1.0)
    try:
        with pytest.raises(ConsoleError) as err:
            await source.fetch()
    finally:
        seed_sim.clear("error-rate")
        await source.close()
    text = str(err.value)
    assert "no manager answered" in text and text.count("HTTP 500") == 3, text


async def test_a_read_failing_just_as_the_poll_is_cancelled_leaves_no_orphaned_exception(monkeypatch):
    """One of the fetch's calls fails in the same moment the poll's own timeout cancels the read: the
    cancellation goes through and no task is left holding the failure (asyncio would log "Task exception
    was never retrieved", as it did with wait_for around the calls)."""
    import gc
    from types import SimpleNamespace

    source = SwarmSource(SwarmConfig(managers=("unix:///nowhere.sock",), timeout=5.0), None)

    async def client(_endpoint):
        return SimpleNamespace(api=SimpleNamespace(timeout=None))

    monkeypatch.setattr(source, "_client", client)
    failing, never = asyncio.Event(), asyncio.Event()

    async def failing_call():
        await failing.wait()
        raise OSError("read timed out")

    async def op(_api):
        return await asyncio.gather(failing_call(), never.wait())

    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context.get("message", "")))
    try:
        poll = asyncio.create_task(source._run(op))
        for _ in range(5):  # the calls are under way
            await asyncio.sleep(0)
        failing.set()
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reported == []
