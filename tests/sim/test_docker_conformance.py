"""Every object the simulated Docker API returns, checked against moby's swagger definitions.

The spec is ../shared/upstream-fixtures/docker/moby-api-swagger.yaml (Engine
API v1.56). Strict mode: keys the spec does not declare are reported too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.sim.docker_api import make_docker_app
from console.sim.world import World

REPO = Path(__file__).resolve().parents[2]
SWAGGER = REPO / ".." / "shared" / "upstream-fixtures" / "docker" / "moby-api-swagger.yaml"

_spec = importlib.util.spec_from_file_location("swagger_checker", Path(__file__).with_name("swagger_checker.py"))
swagger_checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(swagger_checker)
SwaggerChecker, get_path = swagger_checker.SwaggerChecker, swagger_checker.get_path

# moby sends these UpdateStatus states (api/types/swarm/service.go UpdateStateRollback*) but the
# swagger enum lists only updating/paused/completed.
ENUM_EXTENSIONS = {"UpdateStatus.State": {"rollback_started", "rollback_paused", "rollback_completed"}}
# moby's swarm.Service has `PreviousSpec *ServiceSpec json:",omitempty"` (docker service inspect shows
# it after an update); the swagger's Service definition omits it.
PROPERTY_EXTENSIONS = {"Service": {"PreviousSpec": {"$ref": "#/definitions/ServiceSpec"}}}

MUST_HAVE = {
    "Node": ["ID", "Version.Index", "CreatedAt", "UpdatedAt", "Spec.Role", "Spec.Availability",
             "Description.Hostname", "Description.Engine.EngineVersion", "Status.State", "Status.Addr",
             "ManagerStatus.Leader", "ManagerStatus.Reachability", "ManagerStatus.Addr"],
    "Service": ["ID", "Version.Index", "CreatedAt", "UpdatedAt", "Spec.Name", "Spec.TaskTemplate.ContainerSpec.Image"],
    "Task": ["ID", "Version.Index", "ServiceID", "Status.State", "Status.Timestamp", "Status.Message",
             "DesiredState", "Spec.ContainerSpec.Image", "CreatedAt", "UpdatedAt"],
}


@pytest.fixture(scope="module")
def checker():
    if not SWAGGER.is_file():
        pytest.skip(f"upstream fixtures absent ({SWAGGER}): conformance needs ../shared")
    return SwaggerChecker(SWAGGER, strict=True, enum_extensions=ENUM_EXTENSIONS,
                          property_extensions=PROPERTY_EXTENSIONS)


def _assert_conforms(checker, value, definition, label):
    problems = checker.check(value, definition)
    assert not problems, f"{label} does not match swagger {definition}:\n" + "\n".join(problems)
    must = list(MUST_HAVE.get(definition, []))
    if definition == "Node" and value["Spec"]["Role"] == "worker":
        must = [m for m in must if not m.startswith("ManagerStatus")]
    if definition == "Service":
        if "Global" not in value["Spec"]["Mode"]:
            must.append("Spec.Mode.Replicated.Replicas")
        if "UpdateStatus" in value:
            must.append("UpdateStatus.State")
    if definition == "Task":
        if value["Status"]["State"] in ("failed", "rejected"):
            must.append("Status.Err")
        if value["Status"]["State"] not in ("new", "pending"):
            must.append("NodeID")
    for dotted in must:
        get_path(value, dotted)


async def _collect(world, manager="swarm1") -> dict[str, list]:
    async with TestClient(TestServer(make_docker_app(world, manager))) as c:
        out: dict[str, list] = {"Node": [], "Service": [], "Task": [], "SystemInfo": [], "SystemVersion": [],
                                "ErrorResponse": []}
        out["Node"] += await (await c.get("/v1.45/nodes")).json()
        out["Service"] += await (await c.get("/v1.45/services", params={"status": "true"})).json()
        for sid in list(world.services)[:3]:
            out["Service"].append(await (await c.get(f"/services/{sid}", params={"insertDefaults": "true"})).json())
            out["Service"].append(await (await c.get(f"/services/{sid}")).json())
        out["Task"] += await (await c.get("/v1.41/tasks")).json()
        out["Task"].append(await (await c.get(f"/tasks/{next(iter(world.tasks))}")).json())
        out["SystemInfo"].append(await (await c.get("/info")).json())
        out["SystemVersion"].append(await (await c.get("/version")).json())
        for path in ("/nodes/nope", "/services/nope", "/nodes?filters=%7B%22x%22%3A%5B%5D%7D", "/nope"):
            out["ErrorResponse"].append(await (await c.get(path)).json())
        return out


async def test_steady_state_objects_conform(checker):
    world = World("seed", speed=10, manual_clock=True)
    found = await _collect(world)
    for definition, values in found.items():
        assert values, f"no {definition} objects to check"
        for i, value in enumerate(values):
            _assert_conforms(checker, value, definition, f"{definition}[{i}]")


async def test_objects_conform_during_node_loss_update_and_rollback(checker):
    world = World("seed", speed=10, manual_clock=True)
    host_of_swarm3 = next(g.node for g in world.guests.values() if g.name == "swarm3")
    world.inject("node-down", host_of_swarm3)
    world.advance(30)
    svc = sorted((s for s in world.services.values() if s.mode == "replicated"), key=lambda s: s.name)[0]
    spec = dict(svc.spec)
    spec["TaskTemplate"] = dict(spec["TaskTemplate"], ContainerSpec=dict(spec["TaskTemplate"]["ContainerSpec"],
                                                                         Image="registry.lab/broken:1"))
    async with TestClient(TestServer(make_docker_app(world, "swarm1"))) as c:
        resp = await c.post(f"/services/{svc.id}/update", params={"version": svc.version}, json=spec)
        _assert_conforms(checker, await resp.json(), "ServiceUpdateResponse", "update response")
    world.advance(40)
    found = await _collect(world)
    states = {n["Status"]["State"] for n in found["Node"]}
    assert "down" in states, "the scenario should show a down node"
    assert any(t["Status"].get("Err") for t in found["Task"]), "the broken image should leave a failed task"
    assert any("UpdateStatus" in s for s in found["Service"])
    for definition, values in found.items():
        for i, value in enumerate(values):
            _assert_conforms(checker, value, definition, f"{definition}[{i}] (degraded)")


# -- the checker itself must catch what it claims to ------------------------------------------

def test_checker_reports_type_enum_required_ref_and_unknown_keys(checker):
    node = {"ID": 5, "Spec": {"Availability": "sleepy"}, "Status": {"State": "ready", "Colour": "red"},
            "CreatedAt": "yesterday"}
    problems = "\n".join(checker.check(node, "Node"))
    assert "$.ID: int 5 is not of type string" in problems
    assert "$.Spec.Availability: 'sleepy' not in enum" in problems
    assert "$.Status.Colour: key not declared" in problems
    assert "$.CreatedAt: 'yesterday' is not an RFC 3339 time" in problems
    assert "missing required field 'message'" in "\n".join(checker.check({}, "ErrorResponse"))
    assert "no definition 'Nope'" in "\n".join(checker.check({}, "Nope"))


def test_checker_handles_allof_and_nullable():
    spec = {"definitions": {
        "Base": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
        "Child": {"allOf": [{"$ref": "#/definitions/Base"},
                            {"type": "object", "properties": {"b": {"type": "string", "x-nullable": True}}}]},
        "Broken": {"$ref": "#/definitions/Missing"},
    }}
    c = SwaggerChecker(spec)
    assert c.check({"a": 1, "b": None}, "Child") == []
    assert c.check({"a": 1, "b": "x"}, "Child") == []
    problems = "\n".join(c.check({"b": 3, "z": 1}, "Child"))
    assert "missing required field 'a'" in problems
    assert "$.b: int 3 is not of type string" in problems
    assert "$.z: key not declared" in problems
    assert "unresolvable $ref" in "\n".join(c.check({}, "Broken"))
