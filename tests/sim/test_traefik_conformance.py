"""The simulated Traefik API against Traefik's own golden outputs.

References: ../shared/upstream-fixtures/traefik/pkg-api-testdata (pkg/api
handler goldens) and integration-testdata/rawdata-*.json (/api/rawdata of
running Traefik instances). For each kind of object every key we send must be
one Traefik sends for that kind (recursively), with a JSON type Traefik uses
for it, and every key all golden objects of that kind carry must be present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.sim.traefik_api import make_traefik_app
from console.sim.world import World

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / ".." / "shared" / "upstream-fixtures" / "traefik"
MAP_KEYS = {"serverStatus"}  # maps keyed by server URL/address
# Middleware kinds of Traefik's dynamic.Middleware (pkg/config/dynamic/middlewares.go); the goldens only
# show some of them. Their inner keys are Traefik's (docs: middlewares/http/headers.md for headers).
MIDDLEWARE_KINDS = {"addPrefix", "stripPrefix", "stripPrefixRegex", "replacePath", "replacePathRegex", "chain",
                    "ipAllowList", "headers", "errors", "rateLimit", "redirectRegex", "redirectScheme",
                    "basicAuth", "digestAuth", "forwardAuth", "inFlightReq", "buffering", "circuitBreaker",
                    "compress", "passTLSClientCert", "retry", "contentType", "grpcWeb", "plugin"}
HEADERS_KEYS = {"customRequestHeaders", "customResponseHeaders", "accessControlAllowCredentials",
                "accessControlAllowHeaders", "accessControlAllowMethods", "accessControlAllowOriginList",
                "accessControlExposeHeaders", "accessControlMaxAge", "addVaryHeader", "allowedHosts",
                "hostsProxyHeaders", "sslProxyHeaders", "stsSeconds", "stsIncludeSubdomains", "stsPreload",
                "forceSTSHeader", "frameDeny", "customFrameOptionsValue", "contentTypeNosniff", "browserXssFilter",
                "customBrowserXSSValue", "contentSecurityPolicy", "publicKey", "referrerPolicy",
                "permissionsPolicy", "isDevelopment"}


def _jtype(v) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number" if isinstance(v, (int, float)) else type(v).__name__)


def _load(pattern: str) -> list:
    out = []
    for f in sorted((FIXTURES / "pkg-api-testdata").glob(pattern)):
        data = json.loads(f.read_text())
        out.extend(data if isinstance(data, list) else [data])
    return out


def _rawdata(section: str, representation: bool, kind: str) -> list[dict]:
    files = [FIXTURES / "pkg-api-testdata" / "getrawdata.json",
             *sorted((FIXTURES / "integration-testdata").glob("*.json"))]
    out = []
    for f in files:
        for name, obj in json.loads(f.read_text()).get(section, {}).items():
            if representation:  # pkg/api adds name/provider (and type) to the runtime info
                obj = dict(obj, name=name, provider=name.split("@", 1)[1])
                if kind == "routers" and section != "udpRouters":
                    obj["priorityStr"] = str(obj.get("priority", 0))
            out.append(obj)
    return out


def check_shape(ours, goldens: list, path: str, problems: list[str], required: bool = True,
                extra: dict[str, list] | None = None, middleware: bool = False) -> None:
    """ours must use only keys/types seen in goldens (pooled); required keys = those in every golden.

    extra: keys allowed at this level beyond the goldens, with golden values to type-check them against.
    middleware: this is a middleware object, whose config key may be any Traefik middleware kind.
    """
    kinds = {_jtype(g) for g in goldens}
    if goldens and _jtype(ours) not in kinds:
        problems.append(f"{path}: {_jtype(ours)} where Traefik sends {sorted(kinds)}")
        return
    if isinstance(ours, dict):
        dicts = [g for g in goldens if isinstance(g, dict)]
        if not dicts:
            return
        extra = extra or {}
        allowed = set().union(*(d.keys() for d in dicts)) | set(extra)
        if required:
            for key in set.intersection(*(set(d) for d in dicts)) - set(ours):
                problems.append(f"{path}: missing key {key!r} that Traefik always sends")
        for key, value in ours.items():
            sub = f"{path}.{key}"
            pooled = [d[key] for d in dicts if key in d] + extra.get(key, [])
            if key in MAP_KEYS:
                for k, v in value.items():
                    if v not in ("UP", "DOWN"):
                        problems.append(f"{sub}[{k}]: {v!r} is not UP/DOWN")
            elif key not in allowed:
                if middleware and key in MIDDLEWARE_KINDS:
                    if key == "headers" and set(value) - HEADERS_KEYS:
                        problems.append(f"{sub}: unknown headers keys {sorted(set(value) - HEADERS_KEYS)}")
                    continue
                problems.append(f"{sub}: key Traefik never sends here (known: {sorted(allowed)})")
            elif all(isinstance(p, dict) and not p for p in pooled):
                if value:
                    problems.append(f"{sub}: Traefik sends an empty object here")
            else:
                check_shape(value, pooled, sub, problems, required=False)
    elif isinstance(ours, list):
        items = [i for g in goldens if isinstance(g, list) for i in g]
        for i, item in enumerate(ours):
            check_shape(item, items, f"{path}[{i}]", problems, required=False)


@pytest.fixture(scope="module")
def golden():
    if not FIXTURES.is_dir():
        pytest.skip(f"upstream fixtures absent ({FIXTURES}): conformance needs ../shared")
    return load_golden()


def load_golden() -> dict:
    g = {}
    for proto, prefix, raw in (("http", "", ""), ("tcp", "tcp", "tcp"), ("udp", "udp", "udp")):
        for kind, single in (("routers", "router"), ("services", "service"), ("middlewares", "middleware")):
            section = f"{raw}{kind.capitalize()}" if raw else kind
            g[(proto, kind)] = _load(f"{prefix}{kind}*.json") + _load(f"{prefix}{single}-*.json") + \
                _rawdata(section, True, kind)
    g["entrypoints"] = _load("entrypoints*.json") + _load("entrypoint-*.json")
    g["overview"] = _load("overview-*.json")
    raw_files = [FIXTURES / "pkg-api-testdata" / "getrawdata.json",
                 *sorted((FIXTURES / "integration-testdata").glob("*.json"))]
    g["rawdata"] = [json.loads(f.read_text()) for f in raw_files]
    return g


def _error_key(golden) -> dict[str, list]:
    """Every runtime *Info of Traefik (routers, services, middlewares; http, tcp, udp) has
    `Err []string json:"error,omitempty"`; the goldens show it on HTTP routers only."""
    return {"error": [r["error"] for r in golden[("http", "routers")] if "error" in r]}


def _same_type(goldens: list[dict], obj: dict) -> list[dict]:
    """Services compare with goldens of the same type (a load balancer, or type-less like api@internal)."""
    same = [x for x in goldens if x.get("type") == obj.get("type")]
    return same or goldens


async def _check_world(world, golden) -> list[str]:
    problems: list[str] = []
    async with TestClient(TestServer(make_traefik_app(world))) as c:
        seen = 0
        for proto in ("http", "tcp", "udp"):
            for kind in ("routers", "services", "middlewares"):
                if proto == "udp" and kind == "middlewares":
                    continue
                items = await (await c.get(f"/api/{proto}/{kind}")).json()
                for obj in items:
                    seen += 1
                    ref = _same_type(golden[(proto, kind)], obj) if kind == "services" else golden[(proto, kind)]
                    check_shape(obj, ref, f"{proto}.{kind[:-1]}[{obj['name']}]", problems,
                                extra=_error_key(golden), middleware=kind == "middlewares")
                    one = await (await c.get(f"/api/{proto}/{kind}/{obj['name']}")).json()
                    assert one == obj
        assert seen > 10
        for ep in await (await c.get("/api/entrypoints")).json():
            check_shape(ep, golden["entrypoints"], f"entrypoint[{ep['name']}]", problems)
        check_shape(await (await c.get("/api/overview")).json(), golden["overview"], "overview", problems, False)
        raw = await (await c.get("/api/rawdata")).json()
        for section, table in raw.items():
            pooled = [v for g in golden["rawdata"] for v in g.get(section, {}).values()]
            assert pooled, f"rawdata section {section} never appears in Traefik's goldens"
            for name, obj in table.items():
                check_shape(obj, pooled, f"rawdata.{section}[{name}]", problems, required=False,
                            extra=_error_key(golden), middleware=section.endswith("iddlewares"))
    return problems


async def test_steady_state_matches_traefik_goldens(golden):
    world = World("seed", speed=10, manual_clock=True)
    problems = await _check_world(world, golden)
    assert not problems, "\n".join(problems)


async def test_degraded_state_matches_traefik_goldens(golden):
    world = World("seed", speed=10, manual_clock=True)
    svc = next(s for s in world.services.values() if s.name == "gitea")
    spec = dict(svc.spec, Mode={"Replicated": {"Replicas": 0}})
    world.service_update(svc.id, svc.version, spec, False)
    world.inject("traefik-backend-down", "whoami")
    world.advance(60)
    problems = await _check_world(world, golden)
    assert not problems, "\n".join(problems)
    async with TestClient(TestServer(make_traefik_app(world))) as c:
        router = await (await c.get("/api/http/routers/gitea@docker")).json()
        assert router["status"] == "disabled" and router["error"] == ['the service "gitea@docker" does not exist']


def test_checker_catches_foreign_keys_types_and_missing_keys(golden):
    ref = golden[("http", "routers")]
    good = {"entryPoints": ["web"], "name": "a@docker", "provider": "docker", "priorityStr": "0", "rule": "Host(`a`)",
            "service": "a", "status": "enabled", "using": ["web"]}
    problems: list[str] = []
    check_shape(good, ref, "r", problems)
    assert problems == []
    bad = dict(good, colour="red", entryPoints="web")
    del bad["status"]
    check_shape(bad, ref, "r", problems)
    text = "\n".join(problems)
    assert "r.colour: key Traefik never sends" in text
    assert "r.entryPoints: string where Traefik sends ['array']" in text
    assert "missing key 'status'" in text
