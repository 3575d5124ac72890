"""Traefik API JSON (/api/http/routers, /api/http/services, ...) -> model.

Shapes follow Traefik's own golden API outputs (pkg/api/testdata): routers
carry `error` (a list) and `priority` or `priorityStr`; services carry the
per-server health in `serverStatus` ({url or address: "UP"|"DOWN"}) next to
the configured servers in `loadBalancer.servers`. Every list must be a list of
objects with a `name`, and a field that is present must have its type
(ShapeError otherwise, naming the endpoint).
"""

from __future__ import annotations

from typing import Any

from console.model import TraefikEntryPoint, TraefikMiddleware, TraefikRouter, TraefikServer, TraefikService
from console.sources import shape as sh

SERVICE_KINDS = ("loadBalancer", "weighted", "mirroring", "failover")
H = sh.HERE


def _strs(value: Any, field: str) -> tuple[str, ...]:
    return tuple(sh.text(v, H, field) for v in sh.opt_list(value, H, f"`{field}`"))


def _errors(raw: dict) -> tuple[str, ...]:
    err = raw.get("error", raw.get("err"))
    if isinstance(err, str):
        return (err,)
    return _strs(err, "error")


def _priority(raw: dict) -> int | None:
    for key in ("priority", "priorityStr"):
        if raw.get(key) is not None:
            return sh.integer(raw[key], H, key)
    return None


def _objects(items: Any) -> list[dict]:
    rows = sh.objects(items, H, "the answer")
    for i, row in enumerate(rows):
        if not isinstance(row.get("name"), str) or not row["name"]:
            raise sh.ShapeError(H, f"item {i} has no `name` string")
    return rows


def _where(protocol: str, kind: str) -> str:
    return f"traefik /api/{protocol}/{kind}"


def parse_routers(items: Any, protocol: str) -> tuple[TraefikRouter, ...]:
    with sh.at(_where(protocol, "routers")):
        return tuple(
            TraefikRouter(
                name=r["name"],
                protocol=protocol,
                rule=sh.opt_text(r.get("rule"), H, "rule"),
                entrypoints=_strs(r.get("entryPoints"), "entryPoints"),
                service=sh.opt_text(r.get("service"), H, "service"),
                status=sh.text(r.get("status"), H, "status") or "enabled",
                tls=isinstance(r.get("tls"), dict),
                errors=_errors(r),
                provider=sh.opt_text(r.get("provider"), H, "provider"),
                priority=_priority(r),
                middlewares=_strs(r.get("middlewares"), "middlewares"),
            )
            for r in _objects(items)
        )


def _servers(raw: dict) -> tuple[TraefikServer, ...]:
    status = sh.opt_obj(raw.get("serverStatus"), H, "`serverStatus`")
    lb = sh.opt_obj(raw.get("loadBalancer"), H, "`loadBalancer`")
    out: list[TraefikServer] = []
    seen = set()
    for server in sh.opt_objects(lb.get("servers"), H, "`loadBalancer.servers`"):
        url = sh.text(server.get("url"), H, "url") or sh.text(server.get("address"), H, "address")
        if not url:
            continue
        seen.add(url)
        out.append(TraefikServer(url, sh.opt_text(status.get(url), H, "serverStatus")))
    for url, state in status.items():  # a server only in serverStatus (dynamic providers)
        if url not in seen:
            out.append(TraefikServer(str(url), sh.text(state, H, "serverStatus")))
    return tuple(out)


def _service_type(raw: dict) -> str | None:
    if isinstance(raw.get("type"), str):
        return raw["type"]
    for key in SERVICE_KINDS:
        if key in raw:
            return key.lower()
    return None


def parse_services(items: Any, protocol: str) -> tuple[TraefikService, ...]:
    with sh.at(_where(protocol, "services")):
        return tuple(
            TraefikService(
                name=s["name"],
                protocol=protocol,
                type=_service_type(s),
                status=sh.text(s.get("status"), H, "status") or "enabled",
                servers=_servers(s),
                errors=_errors(s),
                provider=sh.opt_text(s.get("provider"), H, "provider"),
                used_by=_strs(s.get("usedBy"), "usedBy"),
            )
            for s in _objects(items)
        )


def parse_middlewares(items: Any, protocol: str = "http") -> tuple[TraefikMiddleware, ...]:
    with sh.at(_where(protocol, "middlewares")):
        return tuple(
            TraefikMiddleware(
                name=m["name"],
                type=m.get("type") if isinstance(m.get("type"), str) else None,
                status=sh.text(m.get("status"), H, "status") or "enabled",
                errors=_errors(m),
                provider=sh.opt_text(m.get("provider"), H, "provider"),
            )
            for m in _objects(items)
        )


def parse_entrypoints(items: Any) -> tuple[TraefikEntryPoint, ...]:
    with sh.at("traefik /api/entrypoints"):
        return tuple(TraefikEntryPoint(e["name"], sh.text(e.get("address"), H, "address")) for e in _objects(items))


def parse_version(raw: Any) -> str | None:
    """/api/version -> "3.1.2" ({"Version": ..., "Codename": ..., "startDate": ...}); None when
    the endpoint is not served (404), a ShapeError when it answered something else."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise sh.ShapeError("traefik /api/version", f"expected an object, got {sh.kind(raw)}",
                            "is this URL the Traefik API?")
    v = raw.get("Version") or raw.get("version")
    return str(v) if v else None
