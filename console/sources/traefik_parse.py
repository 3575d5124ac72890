"""Traefik API JSON (/api/http/routers, /api/http/services, ...) -> model.

Shapes follow Traefik's own golden API outputs (pkg/api/testdata): routers
carry `error` (a list) and `priority` or `priorityStr`; services carry the
per-server health in `serverStatus` ({url or address: "UP"|"DOWN"}) next to
the configured servers in `loadBalancer.servers`.
"""

from __future__ import annotations

from typing import Any

from console.errors import ConsoleError
from console.model import TraefikEntryPoint, TraefikMiddleware, TraefikRouter, TraefikServer, TraefikService

SERVICE_KINDS = ("loadBalancer", "weighted", "mirroring", "failover")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _list(value))


def _errors(raw: dict) -> tuple[str, ...]:
    err = raw.get("error", raw.get("err"))
    if isinstance(err, str):
        return (err,)
    return _strs(err)


def _priority(raw: dict) -> int | None:
    for key in ("priority", "priorityStr"):
        try:
            return int(raw[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _objects(items: Any, what: str) -> list[dict]:
    if not isinstance(items, list):
        raise ConsoleError("traefik", f"{what}: expected a JSON array, got {type(items).__name__}")
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)]


def parse_routers(items: Any, protocol: str) -> tuple[TraefikRouter, ...]:
    return tuple(
        TraefikRouter(
            name=r["name"],
            protocol=protocol,
            rule=r.get("rule"),
            entrypoints=_strs(r.get("entryPoints")),
            service=r.get("service"),
            status=str(r.get("status") or "enabled"),
            tls=isinstance(r.get("tls"), dict),
            errors=_errors(r),
            provider=r.get("provider"),
            priority=_priority(r),
            middlewares=_strs(r.get("middlewares")),
        )
        for r in _objects(items, f"{protocol} routers")
    )


def _servers(raw: dict) -> tuple[TraefikServer, ...]:
    status = raw.get("serverStatus") if isinstance(raw.get("serverStatus"), dict) else {}
    lb = raw.get("loadBalancer") if isinstance(raw.get("loadBalancer"), dict) else {}
    out: list[TraefikServer] = []
    seen = set()
    for server in _list(lb.get("servers")):
        if not isinstance(server, dict):
            continue
        url = server.get("url") or server.get("address")
        if not url:
            continue
        seen.add(url)
        out.append(TraefikServer(str(url), status.get(url)))
    for url, state in status.items():  # a server only in serverStatus (dynamic providers)
        if url not in seen:
            out.append(TraefikServer(str(url), str(state)))
    return tuple(out)


def _service_type(raw: dict) -> str | None:
    if isinstance(raw.get("type"), str):
        return raw["type"]
    for key in SERVICE_KINDS:
        if key in raw:
            return key.lower()
    return None


def parse_services(items: Any, protocol: str) -> tuple[TraefikService, ...]:
    return tuple(
        TraefikService(
            name=s["name"],
            protocol=protocol,
            type=_service_type(s),
            status=str(s.get("status") or "enabled"),
            servers=_servers(s),
            errors=_errors(s),
            provider=s.get("provider"),
            used_by=_strs(s.get("usedBy")),
        )
        for s in _objects(items, f"{protocol} services")
    )


def parse_middlewares(items: Any, protocol: str = "http") -> tuple[TraefikMiddleware, ...]:
    return tuple(
        TraefikMiddleware(
            name=m["name"],
            type=m.get("type") if isinstance(m.get("type"), str) else None,
            status=str(m.get("status") or "enabled"),
            errors=_errors(m),
            provider=m.get("provider"),
        )
        for m in _objects(items, f"{protocol} middlewares")
    )


def parse_entrypoints(items: Any) -> tuple[TraefikEntryPoint, ...]:
    return tuple(TraefikEntryPoint(e["name"], str(e.get("address") or "")) for e in _objects(items, "entrypoints"))


def parse_version(raw: Any) -> str | None:
    """/api/version -> "3.1.2" ({"Version": ..., "Codename": ..., "startDate": ...})."""
    if isinstance(raw, dict):
        v = raw.get("Version") or raw.get("version")
        return str(v) if v else None
    return None
