"""The simulated Docker Engine API: protocol behaviour, in-process and over a unix socket (docker SDK)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import struct
from pathlib import Path

import docker
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer

from console.sim.docker_api import make_docker_app
from console.sim.world import World


def _helper(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ThreadedServer = _helper("sim_thread_server").ThreadedServer


def _node(world, hostname):
    return next(n for n in world.swarm_nodes.values() if n.hostname == hostname)


def _host_of(world, hostname):
    return next(g.node for g in world.guests.values() if g.name == hostname)


def _a_service(world, min_replicas=1):
    return sorted((s for s in world.services.values() if s.mode == "replicated" and s.replicas >= min_replicas),
                  key=lambda s: s.name)[0]


@pytest.fixture
def world():
    return World("seed", speed=10, manual_clock=True)


@pytest.fixture
async def client(world):
    async with TestClient(TestServer(make_docker_app(world, "swarm1"))) as c:
        yield c


async def _json(resp, status=200):
    assert resp.status == status, await resp.text()
    assert resp.headers["Content-Type"] == "application/json"
    return await resp.json()


async def test_ping_headers_and_head(client):
    resp = await client.get("/_ping")
    assert resp.status == 200 and await resp.text() == "OK"
    assert resp.headers["API-Version"] == "1.45"
    assert resp.headers["OSType"] == "linux"
    assert resp.headers["Docker-Experimental"] == "false"
    head = await client.head("/v1.41/_ping")
    assert head.status == 200 and head.headers["API-Version"] == "1.45"


async def test_versioned_paths_and_version_bounds(client, world):
    bare = await _json(await client.get("/nodes"))
    versioned = await _json(await client.get("/v1.41/nodes"))
    assert [n["ID"] for n in bare] == [n["ID"] for n in versioned]
    too_new = await _json(await client.get("/v1.99/nodes"), 400)
    assert too_new["message"] == "client version 1.99 is too new. Maximum supported API version is 1.45"
    too_old = await _json(await client.get("/v1.12/nodes"), 400)
    assert "is too old. Minimum supported API version is 1.24" in too_old["message"]
    assert (await _json(await client.get("/containers/json"), 404))["message"] == "page not found"


async def test_info_names_this_manager_and_counts(client, world):
    info = await _json(await client.get("/info"))
    swarm = info["Swarm"]
    assert swarm["NodeID"] == _node(world, "swarm1").id
    assert swarm["LocalNodeState"] == "active" and swarm["ControlAvailable"] is True
    assert swarm["Nodes"] == len(world.swarm_nodes)
    assert swarm["Managers"] == sum(1 for n in world.swarm_nodes.values() if n.role == "manager")
    assert info["Name"] == "swarm1"
    version = await _json(await client.get("/version"))
    assert version["ApiVersion"] == "1.45" and version["Version"] == _node(world, "swarm1").engine_version


async def test_nodes_filters_and_lookup(client, world):
    swarm2 = _node(world, "swarm2")
    by_name = await _json(await client.get("/nodes", params={"filters": json.dumps({"name": {"swarm2": True}})}))
    assert [n["ID"] for n in by_name] == [swarm2.id]
    legacy = await _json(await client.get("/nodes", params={"filters": json.dumps({"id": [swarm2.id[:6]]})}))
    assert [n["Description"]["Hostname"] for n in legacy] == ["swarm2"]
    managers = await _json(await client.get("/nodes", params={"filters": '{"role":{"manager":true}}'}))
    assert {n["Description"]["Hostname"] for n in managers} >= {"swarm1", "swarm2", "swarm3"}
    bad = await _json(await client.get("/nodes", params={"filters": '{"colour":["red"]}'}), 400)
    assert bad["message"] == "invalid filter 'colour'"
    assert (await _json(await client.get("/nodes", params={"filters": "{not json"}), 400))["message"]
    for ref in (swarm2.id, swarm2.id[:8], "swarm2"):
        assert (await _json(await client.get(f"/nodes/{ref}")))["ID"] == swarm2.id
    missing = await _json(await client.get("/nodes/nope"), 404)
    assert missing["message"] == "node nope not found"


async def test_node_update_checks_version_then_drains(client, world):
    swarm2 = _node(world, "swarm2")
    spec = (await _json(await client.get("/nodes/swarm2")))["Spec"]
    spec["Availability"] = "drain"
    stale = await _json(await client.post(f"/nodes/{swarm2.id}/update", params={"version": swarm2.version - 1},
                                          json=spec), 500)
    assert stale["message"].endswith("update out of sequence")
    assert swarm2.availability == "active"
    bad = await _json(await client.post(f"/nodes/{swarm2.id}/update", params={"version": "x"}, json=spec), 400)
    assert bad["message"].startswith("invalid node version 'x'")
    wrong = await _json(await client.post(f"/nodes/{swarm2.id}/update", params={"version": swarm2.version},
                                          json={**spec, "Availability": "sleepy"}), 400)
    assert "sleepy" in wrong["message"]
    before = swarm2.version
    ok = await client.post(f"/nodes/{swarm2.id}/update", params={"version": before}, json=spec)
    assert ok.status == 200
    assert swarm2.availability == "drain" and swarm2.version > before
    node = await _json(await client.get("/nodes/swarm2"))
    assert node["Spec"]["Availability"] == "drain" and node["Version"]["Index"] == swarm2.version
    spec["Labels"] = {"zone": "rack2"}
    ok = await client.post(f"/nodes/{swarm2.id}/update", params={"version": swarm2.version}, json=spec)
    assert ok.status == 200 and swarm2.labels == {"zone": "rack2"}
    assert (await _json(await client.get("/nodes/swarm2")))["Spec"]["Labels"] == {"zone": "rack2"}
    zoned = await _json(await client.get("/nodes", params={"filters": '{"node.label":["zone=rack2"]}'}))
    assert [n["ID"] for n in zoned] == [swarm2.id]


async def test_services_status_filters_and_lookup(client, world):
    listed = await _json(await client.get("/services", params={"status": "true"}))
    assert len(listed) == len(world.services)
    for s in listed:
        assert s["ServiceStatus"]["RunningTasks"] == world.service_running_tasks(s["ID"])
        sim = world.services[s["ID"]]
        if sim.mode == "replicated":
            assert s["ServiceStatus"]["DesiredTasks"] == sim.replicas
            assert s["Spec"]["Mode"]["Replicated"]["Replicas"] == sim.replicas
    plain = await _json(await client.get("/services"))
    assert all("ServiceStatus" not in s for s in plain)
    svc = _a_service(world)
    named = await _json(await client.get("/services", params={"filters": json.dumps({"name": [svc.name]})}))
    assert svc.id in [s["ID"] for s in named] and all(s["Spec"]["Name"].startswith(svc.name) for s in named)
    by_mode = await _json(await client.get("/services", params={"filters": '{"mode":["global"]}'}))
    assert {s["ID"] for s in by_mode} == {s.id for s in world.services.values() if s.mode == "global"}
    routed = await _json(await client.get("/services", params={"filters": '{"label":["traefik.enable=true"]}'}))
    assert {s["ID"] for s in routed} == {s.id for s in world.services.values()
                                         if s.spec.get("Labels", {}).get("traefik.enable") == "true"}
    assert routed and len(routed) < len(world.services)
    by_key = await _json(await client.get("/services", params={"filters": '{"label":["traefik.enable"]}'}))
    assert {s["ID"] for s in by_key} == {s["ID"] for s in routed}
    for ref in (svc.id, svc.id[:9], svc.name):
        assert (await _json(await client.get(f"/services/{ref}")))["ID"] == svc.id
    assert (await _json(await client.get("/services/nope"), 404))["message"] == "service nope not found"


async def test_service_update_scale_and_rollback(client, world):
    svc = _a_service(world)
    current = await _json(await client.get(f"/services/{svc.id}"))
    spec = current["Spec"]
    old_image, old_replicas = svc.image, svc.replicas
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = old_image + "-next"
    spec["Mode"] = {"Replicated": {"Replicas": svc.replicas + 1}}
    stale = await _json(await client.post(f"/services/{svc.id}/update", params={"version": svc.version + 7},
                                          json=spec), 500)
    assert stale["message"].endswith("update out of sequence")
    ok = await _json(await client.post(f"/services/{svc.id}/update", params={"version": svc.version}, json=spec))
    assert ok == {"Warnings": []}
    assert svc.image == old_image + "-next" and svc.replicas == old_replicas + 1
    world.advance(120)
    after = await _json(await client.get(f"/services/{svc.id}"))
    assert after["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"] == old_image
    back = await client.post(f"/services/{svc.id}/update", params={"version": svc.version, "rollback": "previous"},
                             json=after["Spec"])
    assert back.status == 200, await back.text()
    assert svc.image == old_image
    world.advance(120)
    rolled = await _json(await client.get(f"/services/{svc.id}"))
    assert rolled["UpdateStatus"]["State"] == "rollback_completed"
    bad = await _json(await client.post(f"/services/{svc.id}/update", params={"version": svc.version, "rollback": "x"},
                                        json=after["Spec"]), 400)
    assert "rollback" in bad["message"]
    garbage = await client.post(f"/services/{svc.id}/update", params={"version": svc.version}, data=b"{oops",
                                headers={"Content-Type": "application/json"})
    assert garbage.status == 400 and "message" in await garbage.json()


def _frames(raw: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(raw):
        stream, size = struct.unpack(">BxxxL", raw[i:i + 8])
        out.append((stream, raw[i + 8:i + 8 + size]))
        i += 8 + size
    return out


async def test_service_logs_are_multiplexed_with_task_details(client, world):
    svc = _a_service(world)
    resp = await client.get(f"/services/{svc.name}/logs",
                            params={"stdout": "1", "stderr": "1", "details": "1", "timestamps": "1", "tail": "3"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/vnd.docker.multiplexed-stream"
    frames = _frames(await resp.read())
    assert len(frames) == 3
    task_ids = {t.id for t in world.tasks.values() if t.service_id == svc.id}
    for stream, payload in frames:
        assert stream in (1, 2) and payload.endswith(b"\n")
        stamp, details, _msg = payload.decode().split(" ", 2)
        assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10
        attrs = dict(kv.split("=", 1) for kv in details.split(","))
        assert attrs["com.docker.swarm.service.id"] == svc.id
        assert attrs["com.docker.swarm.task.id"] in task_ids
    none = await _json(await client.get(f"/services/{svc.id}/logs"), 400)
    assert none["message"] == "Bad parameters: you must choose at least one stream"


async def test_service_log_lines_name_the_task_that_wrote_them(client, world):
    svc = next(s for s in world.services.values() if s.name == "whoami")
    world.advance(120)
    records = world.service_log_records(svc.id, 8)
    assert len({task for _, _, task in records}) == 2  # both replicas logged
    resp = await client.get(f"/services/{svc.id}/logs",
                            params={"stdout": "1", "stderr": "1", "details": "1", "tail": "8"})
    got = []
    for _stream, payload in _frames(await resp.read()):
        details, text = payload.decode().rstrip("\n").split(" ", 1)
        got.append((dict(kv.split("=", 1) for kv in details.split(","))["com.docker.swarm.task.id"], text))
    assert got == [(task, text) for _, text, task in records]
    assert world.service_logs(svc.id, 8) == [(t, text) for t, text, _ in records]


async def test_service_logs_follow_streams_new_lines_until_the_manager_goes(client, world):
    svc = _a_service(world)
    resp = await client.get(f"/services/{svc.id}/logs", params={"stdout": "1", "follow": "1", "tail": "1"})
    assert resp.status == 200
    first = await asyncio.wait_for(resp.content.readexactly(8), 20)
    await resp.content.readexactly(struct.unpack(">BxxxL", first)[1])
    world.advance(60)  # the service logs more lines; the open stream must carry them
    header = await asyncio.wait_for(resp.content.readexactly(8), 20)
    assert struct.unpack(">BxxxL", header)[0] in (1, 2)
    world.inject("node-down", _host_of(world, "swarm1"))  # the manager serving the stream goes away
    rest = await asyncio.wait_for(resp.content.read(), 20)
    assert resp.content.at_eof() and isinstance(rest, bytes)


async def test_tasks_filters_and_inspect(client, world):
    svc = _a_service(world)
    mine = await _json(await client.get("/tasks", params={"filters": json.dumps({"service": [svc.name]})}))
    assert mine and {t["ServiceID"] for t in mine} == {svc.id}
    running = await _json(await client.get("/tasks", params={
        "filters": json.dumps({"service": {svc.id: True}, "desired-state": {"running": True}})}))
    assert len(running) == sum(1 for t in world.tasks.values()
                               if t.service_id == svc.id and t.desired_state == "running")
    swarm2 = _node(world, "swarm2")
    on2 = await _json(await client.get("/tasks", params={"filters": '{"node":["swarm2"]}'}))
    assert on2 and all(t["NodeID"] == swarm2.id for t in on2)
    assert (await _json(await client.get("/tasks", params={"filters": '{"desired-state":["dreaming"]}'}), 400))
    one = mine[0]
    by_id = await _json(await client.get("/tasks", params={"filters": json.dumps({"id": [one["ID"][:7]]})}))
    assert [t["ID"] for t in by_id] == [one["ID"]]
    slot1 = await _json(await client.get("/tasks", params={"filters": json.dumps({"name": [f"{svc.name}.1"]})}))
    assert slot1 and all(t["ServiceID"] == svc.id and t["Slot"] == 1 for t in slot1)
    assert (await _json(await client.get(f"/tasks/{one['ID']}")))["ServiceID"] == svc.id
    assert (await _json(await client.get("/tasks/nope"), 404))["message"] == "task nope not found"


async def test_faults_latency_free_error_rate(client, world):
    world.inject("error-rate", "docker", 1.0)
    failed = await _json(await client.get("/nodes"), 500)
    assert "rpc error" in failed["message"]
    world.clear("error-rate", "docker")
    assert (await client.get("/nodes")).status == 200


async def test_manager_vm_down_drops_connection_and_others_answer(world):
    world.inject("node-down", _host_of(world, "swarm1"))
    async with TestClient(TestServer(make_docker_app(world, "swarm1"))) as down, \
            TestClient(TestServer(make_docker_app(world, "swarm2"))) as up:
        with pytest.raises(Exception) as err:
            resp = await down.get("/_ping")
            await resp.read()
        assert "Disconnect" in type(err.value).__name__ or "Connection" in type(err.value).__name__
        world.advance(30)
        nodes = await _json(await up.get("/nodes"))
        state = {n["Description"]["Hostname"]: n for n in nodes}
        assert state["swarm1"]["Status"]["State"] == "down"
        assert state["swarm1"]["ManagerStatus"]["Reachability"] == "unreachable"
        assert state["swarm2"]["Status"]["State"] == "ready"


async def test_lost_quorum_answers_no_leader(world):
    world.inject("node-down", _host_of(world, "swarm1"))
    world.inject("node-down", _host_of(world, "swarm2"))
    world.advance(30)
    async with TestClient(TestServer(make_docker_app(world, "swarm3"))) as c:
        assert (await c.get("/_ping")).status == 200
        resp = await _json(await c.get("/nodes"), 503)
        assert "does not have a leader" in resp["message"]


def test_docker_sdk_over_unix_socket(tmp_path):
    world = World("seed", speed=10)
    sock = str(tmp_path / "docker-swarm1.sock")
    with ThreadedServer(lambda: make_docker_app(world, "swarm1"), unix_path=sock) as server:
        client = docker.DockerClient(base_url=f"unix://{sock}", version="auto", timeout=10)
        try:
            assert client.api.api_version == "1.45"
            assert client.info()["Swarm"]["NodeID"] == server.call(lambda: _node(world, "swarm1").id)
            hostnames = sorted(n.attrs["Description"]["Hostname"] for n in client.nodes.list())
            assert hostnames[:3] == ["swarm1", "swarm2", "swarm3"]
            node = client.nodes.get("swarm3")
            spec = dict(node.attrs["Spec"], Availability="pause")
            assert node.update(spec) is True
            assert server.call(lambda: _node(world, "swarm3").availability) == "pause"
            names = {s.name for s in client.services.list()}
            assert names == server.call(lambda: {s.name for s in world.services.values()})
            svc_name = server.call(lambda: _a_service(world).name)
            service = client.services.get(svc_name)
            tasks = service.tasks(filters={"desired-state": "running"})
            assert tasks and all(t["ServiceID"] == service.id for t in tasks)
            lines = list(service.logs(stdout=True, stderr=True, tail=5))
            assert 0 < len(lines) <= 5
            with pytest.raises(docker.errors.NotFound, match="service nope not found"):
                client.services.get("nope")
            server.call(world.inject, "node-down", server.call(_host_of, world, "swarm1"))
            with pytest.raises(requests.exceptions.ConnectionError):  # what a client fails over on
                client.nodes.list()
        finally:
            client.close()
