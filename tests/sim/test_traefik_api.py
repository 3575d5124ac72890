"""The simulated Traefik API: endpoints, pagination, filters, statuses, server status from Swarm tasks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer

from console.sim.traefik_api import make_traefik_app
from console.sim.world import World

_spec = importlib.util.spec_from_file_location("sim_thread_server", Path(__file__).with_name("sim_thread_server.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
ThreadedServer = _mod.ThreadedServer


@pytest.fixture
def world():
    return World("seed", speed=10, manual_clock=True)


@pytest.fixture
async def client(world):
    async with TestClient(TestServer(make_traefik_app(world))) as c:
        yield c


async def _get(client, path, expect=200, **params):
    resp = await client.get(path, params=params)
    assert resp.status == expect, await resp.text()
    return resp, await resp.json(content_type=None)


def _qualified(world, protocol):
    return {r.name if "@" in r.name else f"{r.name}@{r.provider}" for r in world.routers if r.protocol == protocol}


async def test_version_and_overview_counts(client, world):
    _, version = await _get(client, "/api/version")
    assert version["Version"] == world.traefik_version
    _, overview = await _get(client, "/api/overview")
    for proto in ("http", "tcp", "udp"):
        _, routers = await _get(client, f"/api/{proto}/routers")
        _, services = await _get(client, f"/api/{proto}/services")
        assert overview[proto]["routers"]["total"] == len(routers)
        assert overview[proto]["services"]["total"] == len(services)
        assert overview[proto]["routers"]["errors"] == sum(r["status"] == "disabled" for r in routers)
        assert overview[proto]["routers"]["warnings"] == sum(r["status"] == "warning" for r in routers)
    assert overview["providers"] == ["Docker"]


async def test_every_world_router_is_served_with_its_entrypoints(client, world):
    for proto in ("http", "tcp"):
        _, routers = await _get(client, f"/api/{proto}/routers")
        names = {r["name"] for r in routers}
        assert _qualified(world, proto) <= names
        assert [r["name"] for r in routers] == sorted(names)
    _, entrypoints = await _get(client, "/api/entrypoints")
    ep_names = {e["name"] for e in entrypoints}
    for r in world.routers:
        assert set(r.entrypoints) <= ep_names
    _, web = await _get(client, "/api/entrypoints/web")
    assert web == {**web, "name": "web", "address": ":80"}


async def test_pagination_and_next_page_header(client):
    resp, all_routers = await _get(client, "/api/http/routers")
    assert resp.headers["X-Next-Page"] == "1"
    resp, page1 = await _get(client, "/api/http/routers", per_page="3")
    assert resp.headers["X-Next-Page"] == "2" and page1 == all_routers[:3]
    last = (len(all_routers) + 2) // 3
    resp, tail = await _get(client, "/api/http/routers", per_page="3", page=str(last))
    assert resp.headers["X-Next-Page"] == "1" and tail == all_routers[(last - 1) * 3:]
    resp, err = await _get(client, "/api/http/routers", 400, per_page="3", page="99")
    assert err == {"message": "invalid request: page: 99, per_page: 3"}
    _, err = await _get(client, "/api/http/services", 400, per_page="0")
    assert err == {"message": "invalid request: per_page: 0"}


async def test_search_status_and_service_filters(client, world):
    _, found = await _get(client, "/api/http/routers", search="WHOAMI")
    assert [r["name"] for r in found] == ["whoami@docker"]
    _, enabled = await _get(client, "/api/http/routers", status="enabled")
    _, everything = await _get(client, "/api/http/routers")
    assert enabled == everything
    _, disabled = await _get(client, "/api/http/routers", status="disabled")
    assert disabled == []
    _, by_service = await _get(client, "/api/http/routers", serviceName="grafana@docker")
    assert [r["name"] for r in by_service] == ["grafana@docker"]
    _, by_mw = await _get(client, "/api/http/routers", middlewareName="redirect-to-https@docker")
    assert [r["name"] for r in by_mw] == ["http-catchall@docker"]
    _, services = await _get(client, "/api/http/services", search="vault")
    assert [s["name"] for s in services] == ["vaultwarden@docker"]


async def test_server_status_follows_tasks_and_backend_fault(client, world):
    svc = next(s for s in world.services.values() if s.name == "whoami")
    _, service = await _get(client, "/api/http/services/whoami@docker")
    running = [t for t in world.tasks.values() if t.service_id == svc.id and t.state == "running"]
    assert len(service["loadBalancer"]["servers"]) == len(running) == svc.replicas
    assert set(service["serverStatus"].values()) == {"UP"}
    assert set(service["serverStatus"]) == {s["url"] for s in service["loadBalancer"]["servers"]}
    assert service["usedBy"] == ["whoami@docker"] and service["type"] == "loadbalancer"
    world.inject("traefik-backend-down", "whoami")
    _, down = await _get(client, "/api/http/services/whoami@docker")
    assert set(down["serverStatus"].values()) == {"DOWN"}
    world.clear("traefik-backend-down", "whoami")
    _, up = await _get(client, "/api/http/services/whoami@docker")
    assert set(up["serverStatus"].values()) == {"UP"}


async def test_vm_loss_marks_its_servers_down(client, world):
    svc = next(s for s in world.services.values() if s.name == "nextcloud")
    task = next(t for t in world.tasks.values() if t.service_id == svc.id and t.state == "running")
    vm = world.swarm_nodes[task.node_id].hostname
    world.inject("node-down", next(g.node for g in world.guests.values() if g.name == vm))
    _, service = await _get(client, "/api/http/services/nextcloud@docker")
    assert "DOWN" in service["serverStatus"].values()


async def test_service_without_tasks_disables_its_routers(client, world):
    svc = next(s for s in world.services.values() if s.name == "gitea")
    world.service_update(svc.id, svc.version, dict(svc.spec, Mode={"Replicated": {"Replicas": 0}}), False)
    world.advance(60)
    _, router = await _get(client, "/api/http/routers/gitea@docker")
    assert router["status"] == "disabled"
    assert router["error"] == ['the service "gitea@docker" does not exist']
    _, tcp = await _get(client, "/api/tcp/routers/gitea-ssh@docker")
    assert tcp["status"] == "disabled"
    await _get(client, "/api/http/services/gitea@docker", 404)
    _, overview = await _get(client, "/api/overview")
    assert overview["http"]["routers"]["errors"] == 1 and overview["tcp"]["routers"]["errors"] == 1
    _, disabled = await _get(client, "/api/http/routers", status="disabled")
    assert [r["name"] for r in disabled] == ["gitea@docker"]


async def test_service_whose_tasks_all_fail_shows_down_servers(client, world):
    svc = next(s for s in world.services.values() if s.name == "gitea")
    spec = dict(svc.spec, TaskTemplate=dict(svc.spec["TaskTemplate"], ContainerSpec=dict(
        svc.spec["TaskTemplate"]["ContainerSpec"], Image="gitea/gitea:broken")))
    world.service_update(svc.id, svc.version, spec, False)
    seen_down = 0
    for _ in range(30):
        world.advance(1)
        resp = await client.get("/api/http/services/gitea@docker")
        _, router = await _get(client, "/api/http/routers/gitea@docker")
        if resp.status == 404:  # between restarts no task is wanted: the service is gone
            assert router["status"] == "disabled" and "does not exist" in router["error"][0]
            continue
        service = await resp.json(content_type=None)
        if world.service_running_tasks(svc.id) == 0:
            assert set(service["serverStatus"].values()) == {"DOWN"}
            assert router["status"] == "enabled"
            seen_down += 1
    assert seen_down > 0


async def test_not_found_bodies_are_traefiks(client):
    for path, message in (("/api/http/routers/nope", "router not found: nope"),
                          ("/api/http/services/nope", "service not found: nope"),
                          ("/api/http/middlewares/nope", "middleware not found: nope"),
                          ("/api/tcp/services/nope", "service not found: nope"),
                          ("/api/entrypoints/nope", "entry point not found: nope")):
        resp = await client.get(path)
        assert resp.status == 404
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await resp.text() == f'{{"message":"{message}"}}\n'
    resp = await client.get("/api/bogus")
    assert resp.status == 404 and await resp.text() == "404 page not found\n"


async def test_rawdata_sections_and_middlewares(client, world):
    _, raw = await _get(client, "/api/rawdata")
    assert {"routers", "services", "middlewares", "tcpRouters", "tcpServices"} <= set(raw)
    assert set(raw["routers"]) >= _qualified(world, "http")
    assert raw["services"]["whoami@docker"]["serverStatus"]
    _, middlewares = await _get(client, "/api/http/middlewares")
    kinds = {m["name"]: m["type"] for m in middlewares}
    assert kinds["redirect-to-https@docker"] == "redirectregex"
    assert kinds["secure-headers@docker"] == "headers"


async def test_error_rate_fault(client, world):
    world.inject("error-rate", "traefik", 1.0)
    resp = await client.get("/api/overview")
    assert resp.status == 500
    world.clear("error-rate", "traefik")
    assert (await client.get("/api/overview")).status == 200


def test_requests_client_over_loopback():
    world = World("seed", speed=10)
    with ThreadedServer(lambda: make_traefik_app(world)) as server:
        resp = requests.get(f"{server.url}/api/http/routers", params={"per_page": 2}, timeout=10)
        assert resp.status_code == 200 and resp.headers["X-Next-Page"] == "2"
        assert len(resp.json()) == 2
