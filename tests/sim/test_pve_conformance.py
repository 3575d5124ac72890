"""Every endpoint the simulated PVE API serves, checked against Proxmox's own API schema.

The schema is ../shared/upstream-fixtures/pve/apidata.json (pve-docs'
api-viewer data). For each route: the parameters the sim declares must be the
schema's (names, types, required-ness, enums), and what it returns, over the
real aiohttp app, must match the route's `returns` schema, in several world
states (everything up, a node down, migrations and tasks running, flags set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.sim.pve_api import make_pve_app
from console.sim.pve_handlers import ROUTES
from console.sim.world import World
from tests.ops.pve_ops_walk import OPS_KNOWN_UNDOCUMENTED, walk_ops_reads, walk_ops_writes  # h-operate
from tests.upgrade.agent_walk import walk_agent  # h-upgguest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
APIDATA = SHARED / "upstream-fixtures" / "pve" / "apidata.json"
SECRET = "0b3c3e5e-1d5a-4b7e-9d1e-6f0a3c2b1a99"

needs_schema = pytest.mark.skipif(
    not APIDATA.is_file(), reason=f"PVE API schema not found at {APIDATA} (../shared is absent in this checkout)"
)


# -- the schema checker --------------------------------------------------------


def _is_type(value: Any, typ: str) -> bool:
    if typ == "object":
        return isinstance(value, dict)
    if typ == "array":
        return isinstance(value, list)
    if typ == "string":
        return isinstance(value, str)
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "boolean":  # PVE's Perl JSON emits booleans as 1/0 as often as true/false
        return isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
    if typ == "null":
        return value is None
    return True  # "any" and unknown types accept everything


def check(value: Any, schema: dict, path: str = "data") -> list[str]:
    """Mismatches between value and a PVE JSONSchema, each naming its path."""
    errors: list[str] = []
    typ = schema.get("type")
    if typ is not None and not _is_type(value, typ):
        if not (value is None and schema.get("optional")):
            return [f"{path}: expected {typ}, got {type(value).__name__} {value!r:.60}"]
    if "enum" in schema and value is not None and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum {schema['enum']}")
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                errors += check(value[key], sub, f"{path}.{key}")
            elif not sub.get("optional"):
                errors.append(f"{path}.{key}: missing (required by the schema)")
        if typ == "object" and "items" in schema:
            # /nodes/{node}/ceph/osd declares `type: object` with its fields under `items`.
            errors += check(value, schema["items"], path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += check(item, schema["items"], f"{path}[{i}]")
    return errors


def undocumented(value: Any, schema: dict) -> set[str]:
    """Keys present in value that the schema's `properties` do not list (nested ones too)."""
    out: set[str] = set()
    props = schema.get("properties")
    if isinstance(value, dict) and props:
        for key, sub in value.items():
            out |= {key} if key not in props else undocumented(sub, props[key])
    if isinstance(value, list) and "items" in schema:
        for item in value:
            out |= undocumented(item, schema["items"])
    return out


# Fields real PVE returns although its schema does not list them; the sim may send these, no others.
KNOWN_UNDOCUMENTED: dict[str, set[str]] = {
    "GET /nodes": {"id", "type", "disk", "maxdisk"},
    "GET /nodes/{node}/status": {"idle", "wait", "uptime", "ksm", "swap", "kversion", "mhz", "hvm", "user_hz", "flags"},
    "GET /cluster/ha/resources": {"type", "state", "digest", "max_restart", "max_relocate", "failback", "group"},
    # PVE 8's groups index returns each group's config (Groups.pm $api_copy_config)
    "GET /cluster/ha/groups": {"type", "nodes", "restricted", "nofailback", "comment", "digest"},
    "GET /nodes/{node}/qemu/{vmid}/status/current": {"disk"},
    "GET /nodes/{node}/lxc": {"type"},
    "GET /nodes/{node}/lxc/{vmid}/status/current": {"type"},
    # PVE::API2::HA::Rules returns each rule's whole config ($get_api_ha_rule), not only `rule`
    "GET /cluster/ha/rules": {"type", "resources", "nodes", "strict", "affinity", "disable", "comment", "digest",
                               "order"},
    "GET /cluster/ha/rules/{rule}": {"resources", "nodes", "strict", "affinity", "disable", "comment", "digest",
                                     "order"},
    **OPS_KNOWN_UNDOCUMENTED,
}

# Where PVE's schema mistypes a field it returns: {route: {field: the type PVE really sends}}.
SCHEMA_ERRATA: dict[str, dict[str, str]] = {
    # Mon.pm declares host boolean, but PVE::Ceph::Services::get_services_info sets it to the host name
    "GET /nodes/{node}/ceph/mon": {"host": "string"},
}


def _with_errata(returns: dict, route: str) -> dict:
    fixes = SCHEMA_ERRATA.get(route)
    if not fixes:
        return returns
    items = dict(returns["items"])
    items["properties"] = {k: ({**v, "type": fixes[k]} if k in fixes else v) for k, v in items["properties"].items()}
    return {**returns, "items": items}


def test_checker_reports_the_path_of_a_mismatch():
    schema = {
        "type": "array",
        "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "n": {"type": "integer", "optional": 1},
            "flag": {"type": "boolean", "optional": 1}, "kind": {"enum": ["a", "b"]},
        }},
    }
    assert check([{"id": "x", "n": 3, "flag": 1, "kind": "a"}], schema) == []
    assert check([{"id": "x", "kind": "a"}, {"id": 5, "kind": "a"}],
                 schema) == ["data[1].id: expected string, got int 5"]
    assert check([{"kind": "a"}], schema) == ["data[0].id: missing (required by the schema)"]
    assert check([{"id": "x", "kind": "c"}], schema) == ["data[0].kind: 'c' not in enum ['a', 'b']"]
    assert check([{"id": "x", "kind": "a", "n": True}], schema) == ["data[0].n: expected integer, got bool True"]
    assert check({"a": 1}, schema) == ["data: expected array, got dict {'a': 1}"]
    assert undocumented([{"id": "x", "kind": "a", "extra": 1}], schema) == {"extra"}


# -- the schema file -------------------------------------------------------------


@pytest.fixture(scope="module")
def api_schema() -> dict[tuple[str, str], dict]:
    tree = json.loads(APIDATA.read_text())
    out: dict[tuple[str, str], dict] = {}

    def walk(nodes):
        for node in nodes:
            for method, info in (node.get("info") or {}).items():
                out[(method, node["path"])] = info
            walk(node.get("children") or [])

    walk(tree)
    return out


def _served_routes() -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in ROUTES if r.path != "/"]  # "/" is the root index, not in apidata


@needs_schema
def test_every_route_exists_in_the_pve_schema(api_schema):
    missing = [f"{m} {p}" for m, p in _served_routes() if (m, p) not in api_schema]
    assert missing == []


@needs_schema
def test_route_parameters_match_the_pve_schema(api_schema):
    problems = []
    for route in ROUTES:
        if route.path == "/":
            continue
        props = api_schema[(route.method, route.path)]["parameters"].get("properties") or {}
        for name, p in route.params.items():
            spec = props.get(name)
            if spec is None:
                problems.append(f"{route.method} {route.path}: '{name}' is not a PVE parameter")
                continue
            if spec.get("type") != p.type:
                problems.append(f"{route.method} {route.path}: '{name}' is {spec.get('type')} in PVE, {p.type} here")
            if bool(spec.get("optional")) != p.optional:
                problems.append(f"{route.method} {route.path}: '{name}' optional={spec.get('optional')} in PVE")
            if "enum" in spec and tuple(spec["enum"]) != p.enum:
                problems.append(f"{route.method} {route.path}: '{name}' enum {spec['enum']} in PVE, {p.enum} here")
        for name, spec in props.items():
            if not spec.get("optional") and name not in route.params:
                problems.append(f"{route.method} {route.path}: required '{name}' not declared")
    assert problems == []


# -- answers over the real app ------------------------------------------------


async def _client(world: World, node: str = "pve1") -> TestClient:
    client = TestClient(TestServer(make_pve_app(world, node, SECRET)))
    await client.start_server()
    return client


class Recorder:
    """Calls the app, checks each answer against the schema, remembers which routes were hit."""

    def __init__(self, client: TestClient, api_schema: dict):
        self.client = client
        self.schema = api_schema
        self.hit: set[tuple[str, str]] = set()
        self.problems: list[str] = []
        self.extras: dict[str, set[str]] = {}
        self.headers = {"Authorization": f"PVEAPIToken=root@pam!labconsole={SECRET}"}

    async def call(self, method: str, template: str, path: str, /, **params) -> Any:
        kw = {"params": params} if method == "GET" else {"data": {k: str(v) for k, v in params.items()}}
        resp = await self.client.request(method, "/api2/json" + path, headers=self.headers, **kw)
        body = await resp.json()
        assert resp.status == 200, f"{method} {path}: {resp.status} {resp.reason}"
        self.hit.add((method, template))
        returns = _with_errata(self.schema[(method, template)]["returns"], f"{method} {template}")
        self.problems += [f"{method} {path}: {e}" for e in check(body["data"], returns)]
        extra = undocumented(body["data"], returns) - KNOWN_UNDOCUMENTED.get(f"{method} {template}", set())
        if extra:
            self.extras.setdefault(f"{method} {template}", set()).update(extra)
        return body["data"]


async def _walk_reads(rec: Recorder, world: World, ceph: bool = True) -> None:
    """GET every read route once for every node, guest and task the world has.

    ceph=False when the mons have no quorum (PVE answers those routes 500 "got timeout")."""
    await rec.call("GET", "/version", "/version")
    await rec.call("GET", "/access/permissions", "/access/permissions")
    await rec.call("GET", "/access/permissions", "/access/permissions", **{"path": "/vms"})
    await rec.call("GET", "/access/permissions", "/access/permissions", userid="root@pam!labconsole")
    await rec.call("GET", "/cluster/status", "/cluster/status")
    for t in (None, "vm", "node", "storage", "sdn"):
        await rec.call("GET", "/cluster/resources", "/cluster/resources", **({"type": t} if t else {}))
    await rec.call("GET", "/cluster/ha/status", "/cluster/ha/status")
    await rec.call("GET", "/cluster/ha/status/current", "/cluster/ha/status/current")
    await rec.call("GET", "/cluster/ha/status/manager_status", "/cluster/ha/status/manager_status")
    await rec.call("GET", "/cluster/ha/resources", "/cluster/ha/resources")
    await rec.call("GET", "/cluster/ha/resources", "/cluster/ha/resources", type="ct")
    if not world.ha_rules_api:  # PVE 8: HA groups, no rules
        await rec.call("GET", "/cluster/ha/groups", "/cluster/ha/groups")
    for filters in ({}, {"type": "node-affinity"}, {"type": "resource-affinity"}, {"resource": "vm:101"}):
        if not world.ha_rules_api:
            break
        for rule in await rec.call("GET", "/cluster/ha/rules", "/cluster/ha/rules", **filters):
            await rec.call("GET", "/cluster/ha/rules/{rule}", f"/cluster/ha/rules/{rule['rule']}")
    if ceph:
        await rec.call("GET", "/cluster/ceph/status", "/cluster/ceph/status")
        await rec.call("GET", "/cluster/ceph/flags", "/cluster/ceph/flags")
    await rec.call("GET", "/nodes", "/nodes")
    for n in [n for n in world.nodes if world.node_online(n)]:
        await rec.call("GET", "/nodes/{node}/status", f"/nodes/{n}/status")
        await rec.call("GET", "/nodes/{node}/version", f"/nodes/{n}/version")
        for tf, cf in (("hour", None), ("day", "MAX"), ("decade", "AVERAGE")):  # h-events: rrddata
            await rec.call("GET", "/nodes/{node}/rrddata", f"/nodes/{n}/rrddata",
                           timeframe=tf, **({"cf": cf} if cf else {}))
        await rec.call("GET", "/nodes/{node}/apt/update", f"/nodes/{n}/apt/update")
        await rec.call("GET", "/nodes/{node}/apt/versions", f"/nodes/{n}/apt/versions")
        if ceph:
            await rec.call("GET", "/nodes/{node}/ceph/osd", f"/nodes/{n}/ceph/osd")
            await rec.call("GET", "/nodes/{node}/ceph/status", f"/nodes/{n}/ceph/status")
            for name in ("pool", "mgr", "mds", "mon"):
                await rec.call("GET", f"/nodes/{{node}}/ceph/{name}", f"/nodes/{n}/ceph/{name}")
        for kind in ("qemu", "lxc"):
            for g in await rec.call("GET", f"/nodes/{{node}}/{kind}", f"/nodes/{n}/{kind}"):
                await rec.call("GET", f"/nodes/{{node}}/{kind}/{{vmid}}/status/current",
                               f"/nodes/{n}/{kind}/{g['vmid']}/status/current")
                await rec.call("GET", f"/nodes/{{node}}/{kind}/{{vmid}}/rrddata",  # h-events: rrddata
                               f"/nodes/{n}/{kind}/{g['vmid']}/rrddata", timeframe="hour")
                if kind == "qemu":
                    await rec.call("GET", "/nodes/{node}/qemu/{vmid}/migrate", f"/nodes/{n}/qemu/{g['vmid']}/migrate")
        for source in ("archive", "active", "all"):
            for t in await rec.call("GET", "/nodes/{node}/tasks", f"/nodes/{n}/tasks", source=source):
                await rec.call("GET", "/nodes/{node}/tasks/{upid}/status", f"/nodes/{n}/tasks/{t['upid']}/status")
                await rec.call("GET", "/nodes/{node}/tasks/{upid}/log", f"/nodes/{n}/tasks/{t['upid']}/log")
    await walk_ops_reads(rec, world)


@needs_schema
async def test_every_answer_matches_the_pve_return_schema(api_schema):
    world = World("seed", speed=20)
    client = await _client(world)
    try:
        rec = Recorder(client, api_schema)
        await _walk_reads(rec, world)  # a healthy lab

        # writes, leaving tasks running and finished, a guest locked, flags set
        vm = next(g for g in world.guests.values() if g.type == "qemu" and g.node == "pve1" and g.status == "running"
                  and not g.local_resources)
        ct = next(g for g in world.guests.values() if g.type == "lxc" and g.status == "running")
        upid = await rec.call("POST", "/nodes/{node}/qemu/{vmid}/migrate", f"/nodes/pve1/qemu/{vm.vmid}/migrate",
                              target="pve2", online=1)
        assert upid.startswith("UPID:pve1:")
        await rec.call("POST", "/nodes/{node}/lxc/{vmid}/migrate", f"/nodes/{ct.node}/lxc/{ct.vmid}/migrate",
                       target=next(n for n in world.nodes if n != ct.node), restart=1, timeout=30)
        await rec.call("POST", "/nodes/{node}/apt/update", "/nodes/pve2/apt/update")
        await rec.call("PUT", "/cluster/ceph/flags/{flag}", "/cluster/ceph/flags/noout", value=1)
        await rec.call("PUT", "/cluster/ceph/flags", "/cluster/ceph/flags", norebalance=1, noout=1)
        stopped = next(g for g in world.guests.values() if g.node == "pve3" and g.status == "running" and not g.ha)
        for action in ("stop", "start", "shutdown"):
            await rec.call("POST", f"/nodes/{{node}}/{stopped.type}/{{vmid}}/status/{action}",
                           f"/nodes/pve3/{stopped.type}/{stopped.vmid}/status/{action}")
        other = next(g for g in world.guests.values() if g.node == "pve2" and g.type != stopped.type and not g.lock)
        for action in ("stop", "start", "shutdown"):
            await rec.call("POST", f"/nodes/{{node}}/{other.type}/{{vmid}}/status/{action}",
                           f"/nodes/pve2/{other.type}/{other.vmid}/status/{action}")
        ha_vm = next(g for g in world.guests.values() if g.ha and g.type == "qemu" and not g.lock and g.node != "pve3")
        await rec.call("POST", "/cluster/ha/resources/{sid}/migrate", f"/cluster/ha/resources/vm:{ha_vm.vmid}/migrate",
                       node="pve3")
        mover = next(g for g in world.guests.values() if g.node == "pve3" and not g.lock and g is not stopped)
        await rec.call("POST", "/nodes/{node}/migrateall", "/nodes/pve3/migrateall", target="pve1", vms=str(mover.vmid))
        await rec.call("POST", "/cluster/ha/rules", "/cluster/ha/rules", rule="mail-near", type="node-affinity",
                       resources="ct:200", nodes="pve1:2,pve3", strict=0, comment="prefers pve1")
        await rec.call("PUT", "/cluster/ha/rules/{rule}", "/cluster/ha/rules/mail-near", type="node-affinity",
                       nodes="pve1:2,pve2:1", delete="comment")
        await rec.call("PUT", "/cluster/ha/resources/{sid}", "/cluster/ha/resources/ct:201", failback=0)
        await rec.call("POST", "/cluster/ha/rules", "/cluster/ha/rules", rule="home-with-mail",
                       type="resource-affinity", resources="vm:110,ct:200", affinity="positive", disable=1)
        down = next(g for g in world.guests.values() if g.node == "pve2" and g.status == "running" and not g.lock
                    and not g.ha and g is not other)
        await rec.call("POST", "/nodes/{node}/stopall", "/nodes/pve2/stopall", vms=str(down.vmid))
        await rec.call("POST", "/nodes/{node}/startall", "/nodes/pve2/startall", force=1)
        await walk_ops_writes(rec, world)
        await walk_agent(rec, world)  # h-upgguest: the QEMU guest agent
        await _walk_reads(rec, world)  # mid-flight: locks, running tasks, flags, rules added
        await rec.call("DELETE", "/cluster/ha/rules/{rule}", "/cluster/ha/rules/home-with-mail")

        await rec.call("POST", "/nodes/{node}/status", "/nodes/pve3/status", command="reboot")
        await _walk_reads(rec, world)  # a node rebooting: its guests unknown, its LRM dead, an OSD down
        world.inject("node-down", "pve2")
        world.tick()
        await _walk_reads(rec, world, ceph=False)  # two nodes down: no quorum anywhere
        world.ha_rules_api = False
        await _walk_reads(rec, world, ceph=False)  # a PVE 8 cluster: HA groups, resources name theirs

        missing = sorted(f"{m} {p}" for m, p in _served_routes() if (m, p) not in rec.hit)
        assert missing == [], "routes never exercised by this test"
        assert rec.problems == []
        assert rec.extras == {}, ("fields the PVE schema does not list "
                                  "(add to KNOWN_UNDOCUMENTED only if PVE sends them)")
    finally:
        await client.close()


async def test_a_token_lacking_a_privilege_is_refused_like_pveproxy():
    """`--token-lacks Sys.Audit`: reads needing it get 403 naming path and privilege,
    /access/permissions no longer lists it, reads needing other privileges still work."""
    world = World("seed", speed=20)
    client = TestClient(TestServer(make_pve_app(world, "pve1", SECRET, token_lacks=("Sys.Audit",))))
    await client.start_server()
    headers = {"Authorization": f"PVEAPIToken=root@pam!labconsole={SECRET}"}
    try:
        resp = await client.get("/api2/json/cluster/status", headers=headers)
        assert (resp.status, resp.reason) == (403, "Permission check failed (/, Sys.Audit)")
        resp = await client.get("/api2/json/nodes/pve2/status", headers=headers)
        assert (resp.status, resp.reason) == (403, "Permission check failed (/nodes/pve2, Sys.Audit)")
        perms = (await (await client.get("/api2/json/access/permissions", headers=headers)).json())["data"]
        assert "Sys.Audit" not in perms["/"] and perms["/"]["VM.Migrate"] == 1
        vmid = next(iter(world.guests))
        node = world.guests[vmid].node
        kind = world.guests[vmid].type
        resp = await client.get(f"/api2/json/nodes/{node}/{kind}/{vmid}/status/current", headers=headers)
        assert resp.status == 200
        # asking for another user's permissions needs Sys.Audit on /access
        resp = await client.get("/api2/json/access/permissions", params={"userid": "monitor@pve!ro"}, headers=headers)
        assert (resp.status, resp.reason) == (403, "Permission check failed (/access, Sys.Audit)")
    finally:
        await client.close()
