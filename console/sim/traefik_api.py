"""The simulated Traefik API (pkg/api of Traefik v3): JSON over HTTP on loopback.

make_traefik_app(world) -> aiohttp Application. Lists are sorted by name and
paginated with per_page/page and the X-Next-Page header; search/status (and
serviceName/middlewareName for routers) filter them. Unknown names answer 404
with Traefik's body ({"message":"router not found: x"}, sent through Go's
http.Error, hence text/plain); unknown paths "404 page not found".
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from console.sim.traefik_objects import TraefikRuntime, version_json

log = logging.getLogger(__name__)

DEFAULT_PER_PAGE = 100
NEXT_PAGE = "X-Next-Page"


def _encode(data) -> bytes:
    return (json.dumps(data, separators=(",", ":")) + "\n").encode()


def _json(data, headers: dict | None = None) -> web.Response:
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return web.Response(body=_encode(data), headers=h)


def _write_error(message: str, status: int) -> web.Response:
    # Traefik's writeError goes through http.Error: text/plain, nosniff, JSON body + "\n"
    return web.Response(status=status, body=_encode({"message": message}),
                        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"})


class _BadRequest(Exception):
    pass


def _int_param(request: web.Request, key: str, default: int) -> int:
    raw = request.query.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
        raise _BadRequest(f"invalid request: {key}: {value}") from None
    if value <= 0:
        raise _BadRequest(f"invalid request: {key}: {value}")
    return value


def _paginate(request: web.Request, items: list) -> web.Response:
    try:
        per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE)
        page = _int_param(request, "page", 1)
    except _BadRequest as exc:
        return _write_error(str(exc), 400)
    start = (page - 1) * per_page
    if start != 0 and start >= len(items):
        return _write_error(f"invalid request: page: {page}, per_page: {per_page}", 400)
    end = min(start + per_page, len(items))
    next_page = page + 1 if page * per_page < len(items) else 1
    return _json(items[start:end], {NEXT_PAGE: str(next_page)})


class _Criterion:
    def __init__(self, request: web.Request):
        q = request.query
        self.search = q.get("search", "")
        self.status = q.get("status", "")
        self.service = q.get("serviceName", "")
        self.middleware = q.get("middlewareName", "")

    def with_status(self, status: str) -> bool:
        return not self.status or status.lower() == self.status.lower()

    def search_in(self, *values: str) -> bool:
        return not self.search or any(self.search.lower() in (v or "").lower() for v in values)

    def with_service(self, service: str, provider: str) -> bool:
        if not self.service:
            return True
        wanted = self.service if "@" in self.service else f"{self.service}@{provider}"
        qualified = service if "@" in service else f"{service}@{provider}"
        return wanted == qualified

    def with_middleware(self, middlewares: list[str], provider: str) -> bool:
        if not self.middleware:
            return True
        wanted = self.middleware if "@" in self.middleware else f"{self.middleware}@{provider}"
        return any((m if "@" in m else f"{m}@{provider}") == wanted for m in middlewares)


class TraefikFront:
    def __init__(self, world):
        self.world = world
        self.started = world.now()

    def runtime(self) -> TraefikRuntime:
        return TraefikRuntime(self.world)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.world.tick()
        delay = self.world.fault_delay("traefik")
        if delay > 0:
            await asyncio.sleep(delay)
            self.world.tick()
        if request.method not in ("GET", "HEAD"):
            return _not_found()
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "api":
            return _not_found()
        if self.world.fault_error("traefik"):
            return web.Response(status=500, text="Internal Server Error\n")
        try:
            return self.route(request, parts[1:])
        except Exception as exc:  # never a traceback page
            log.exception("traefik api %s failed", request.path)
            return _write_error(f"internal error: {type(exc).__name__}", 500)

    def route(self, request: web.Request, parts: list[str]) -> web.Response:
        rt = self.runtime()
        head = parts[0]
        if parts == ["version"]:
            return _json(version_json(self.world, self.started))
        if parts == ["overview"]:
            return _json(rt.overview())
        if parts == ["rawdata"]:
            return _json(rt.rawdata())
        if head == "entrypoints" and len(parts) <= 2:
            if len(parts) == 1:
                return _paginate(request, [rt.entrypoints[k] for k in sorted(rt.entrypoints)])
            ep = rt.entrypoints.get(parts[1])
            if ep is None:
                return _write_error(f"entry point not found: {parts[1]}", 404)
            return _json(ep)
        if head in ("http", "tcp", "udp") and len(parts) in (2, 3):
            return self.protocol(request, rt, head, parts[1], parts[2] if len(parts) == 3 else None)
        return _not_found()

    def protocol(self, request, rt: TraefikRuntime, proto: str, kind: str, name: str | None) -> web.Response:
        tables = {
            ("http", "routers"): rt.http_routers, ("http", "services"): rt.http_services,
            ("http", "middlewares"): rt.http_middlewares, ("tcp", "routers"): rt.tcp_routers,
            ("tcp", "services"): rt.tcp_services, ("tcp", "middlewares"): {},
            ("udp", "routers"): rt.udp_routers, ("udp", "services"): rt.udp_services,
        }
        table = tables.get((proto, kind))
        if table is None:
            return _not_found()
        singular = {"routers": "router", "services": "service", "middlewares": "middleware"}[kind]

        def represent(item_name: str, item: dict) -> dict:
            if kind == "routers":
                return rt.router_repr(item_name, item, proto)
            if kind == "services":
                return rt.service_repr(item_name, item)
            return rt.middleware_repr(item_name, item)

        if name is not None:
            item = table.get(name)
            if item is None:
                return _write_error(f"{singular} not found: {name}", 404)
            return _json(represent(name, item))
        crit = _Criterion(request)
        results = []
        for item_name in sorted(table):
            item = table[item_name]
            provider = item_name.split("@", 1)[1] if "@" in item_name else ""
            if not crit.with_status(item.get("status", "")):
                continue
            if kind == "routers":
                if not crit.search_in(item.get("rule", ""), item_name):
                    continue
                if not crit.with_service(item.get("service", ""), provider):
                    continue
                if not crit.with_middleware(item.get("middlewares", []), provider):
                    continue
            elif not crit.search_in(item_name):
                continue
            results.append(represent(item_name, item))
        return _paginate(request, results)


def _not_found() -> web.Response:
    return web.Response(status=404, body=b"404 page not found\n",
                        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"})


TRAEFIK_FRONT_KEY = web.AppKey("traefik_front", TraefikFront)


def make_traefik_app(world) -> web.Application:
    front = TraefikFront(world)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front.dispatch)
    app[TRAEFIK_FRONT_KEY] = front
    return app


__all__ = ["make_traefik_app", "TraefikFront"]
