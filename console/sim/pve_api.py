"""The simulated Proxmox VE API (pveproxy) of one node: an aiohttp application.

``make_pve_app(world, node_name, token_secret)`` answers ``/api2/json/...``
the way that node's pveproxy would; console/sim/server.py serves one per node
over HTTPS on loopback. Behaviour copied from pveproxy:

- API-token auth only: ``Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET``.
  Missing -> 401 "No ticket", wrong -> 401 "authentication failure" (body
  ``{"data": null}``; pveproxy also delays these by 3 s, the sim does not).
- ``{"data": ...}`` envelope (+ ``total`` for task lists and logs); errors put
  their message in the HTTP reason phrase, where proxmoxer reads it.
- Bad parameters -> 400 "Parameter verification failed." with ``errors``
  (the issue text says 500; real pveproxy answers 400, so does the sim).
- Missing privilege -> 403 "Permission check failed (/vms/101, VM.Migrate)".
- ``/nodes/{n}/...`` for an offline node n -> 595 "No route to host"; an
  unknown n -> 500 "hostname lookup ... failed"; writes without quorum -> 500
  "cluster not ready - no quorum?"; unknown path/method -> 501.
- If this node itself is not online the connection is dropped, like a dead
  host, so clients fail over to another node.
- Fault hooks: world.fault_delay/fault_error for "pve", plus "ceph" for Ceph routes.
- Anything unexpected -> 500 with a JSON body, never a traceback page.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from console.sim.pve_access import AUDIT_PRIVILEGES, full_privileges
from console.sim.pve_handlers import ROUTES
from console.sim.pve_routes import PveError, Result, Route, validate_params
from console.sim.sim_errors import SimError

log = logging.getLogger(__name__)

API_PREFIX = "/api2/json"
HEADERS = {"Server": "pve-api-daemon/3.0", "Cache-Control": "max-age=0", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Ctx:
    world: Any
    local: str
    token_id: str = ""  # the calling token, and its privileges (set per request)
    privileges: frozenset[str] = frozenset()
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)  # every token id -> its privileges


def _reason(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "error"
    return line.encode("latin-1", "replace").decode("latin-1")[:400]


def _json_response(status: int, body: dict[str, Any], reason: str | None = None) -> web.Response:
    return web.Response(
        status=status,
        reason=reason,
        body=json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=HEADERS,
    )


def error_response(err: PveError) -> web.Response:
    body: dict[str, Any] = {"data": None}
    if err.errors:
        body["errors"] = err.errors
    return _json_response(err.status, body, _reason(err.message))


def _parse_token(header: str) -> tuple[str, str] | None:
    """('USER@REALM!TOKENID', 'SECRET') from 'PVEAPIToken=USER@REALM!TOKENID=SECRET'."""
    scheme, sep, rest = header.strip().partition("=")
    if scheme != "PVEAPIToken" or not sep:
        return None
    token_id, sep, secret = rest.partition("=")
    if not sep or "!" not in token_id or "@" not in token_id.split("!")[0]:
        return None
    return token_id.strip(), secret.strip()


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method in ("POST", "PUT", "DELETE") and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise PveError(400, f"failed to parse JSON body: {exc}") from None
            if not isinstance(body, dict):
                raise PveError(400, "JSON body must be an object")
            params.update({k: v for k, v in body.items() if v is not None})
        elif ctype == "multipart/form-data":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        else:  # application/x-www-form-urlencoded, or whatever a client forgot to label
            raw = (await request.read()).decode("utf-8", "replace")
            form: dict[str, Any] = {}
            for k, v in parse_qsl(raw, keep_blank_values=True):  # a repeated field is an array parameter
                form[k] = [*form[k], v] if isinstance(form.get(k), list) else ([form[k], v] if k in form else v)
            params.update(form)
    return params


def make_pve_app(
    world: Any,
    node_name: str,
    token_secret: str,
    audit_tokens: dict[str, str] | None = None,
    token_lacks: tuple[str, ...] = (),
) -> web.Application:
    """The pveproxy of node `node_name`.

    `token_secret` is the secret of world.token_id (every privilege except
    those in `token_lacks`, see console/sim/pve_access.py); `audit_tokens`
    maps further token ids to secrets of read-only (PVEAuditor) tokens, which
    get 403 on writes.
    """
    if node_name not in world.nodes:
        raise ValueError(f"unknown node {node_name!r}")
    tokens: dict[str, tuple[str, frozenset[str]]] = {world.token_id: (token_secret, full_privileges(token_lacks))}
    for tid, secret in (audit_tokens or {}).items():
        tokens[tid] = (secret, AUDIT_PRIVILEGES)
    ctx = Ctx(world=world, local=node_name, tokens={tid: privs for tid, (_s, privs) in tokens.items()})

    def authenticate(request: web.Request) -> tuple[str, frozenset[str]]:
        header = request.headers.get("Authorization")
        if not header:
            raise PveError(401, "No ticket")
        parsed = _parse_token(header)
        known = tokens.get(parsed[0]) if parsed else None
        if not parsed or not known or not hmac.compare_digest(parsed[1].encode(), known[0].encode()):
            raise PveError(401, "authentication failure")
        return parsed[0], known[1]

    def find_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in ROUTES:
            if route.method == method:
                found = route.match(path)
                if found is not None:
                    return route, found
        raise PveError(501, f"Method '{method} {path}' not implemented")

    async def answer(request: web.Request) -> web.Response:
        path = request.path
        if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
            raise PveError(501, f"Method '{request.method} {path}' not implemented")
        rel = "/" + path[len(API_PREFIX):].strip("/")
        token_id, privileges = authenticate(request)
        method = "GET" if request.method == "HEAD" else request.method
        route, path_params = find_route(method, rel)
        params = validate_params(route.params, await _read_params(request) | path_params)
        if route.perm and route.perm[1] not in privileges:
            acl_path = route.perm[0].format(**params)
            raise PveError(403, f"Permission check failed ({acl_path}, {route.perm[1]})")
        families = ["pve"] + ([route.family] if route.family != "pve" else [])
        delay = sum(world.fault_delay(f) for f in families)
        if delay > 0:
            await asyncio.sleep(delay)
        world.tick()
        if any(world.fault_error(f) for f in families):
            raise PveError(500, "got timeout")
        node = params.get("node") if "{node}" in route.path else None  # proxied to that node by pveproxy
        if node is not None and node != node_name:
            if node not in world.nodes:
                raise PveError(500, f"hostname lookup '{node}' failed - failed to get address info for: "
                                    f"{node}: Name or service not known")
            if not world.node_online(node):
                raise PveError(595, "No route to host")
        if route.write and sum(map(world.node_online, world.nodes)) * 2 <= len(world.nodes):
            raise PveError(500, "cluster not ready - no quorum?")
        try:
            data = await route.handler(replace(ctx, token_id=token_id, privileges=privileges), params)
        except SimError as exc:
            raise PveError(exc.status, exc.message, exc.errors) from None
        body: dict[str, Any]
        if isinstance(data, Result):
            body = {"data": data.data}
            if data.total is not None:
                body["total"] = data.total
        else:
            body = {"data": data}
        return _json_response(200, body)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        world.tick()
        if not world.node_online(node_name):
            # A dead host answers nothing: drop the connection so the client fails over.
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        try:
            return await answer(request)
        except PveError as err:
            return error_response(err)
        except asyncio.CancelledError:
            raise
        except Exception:  # never a traceback page: log it, answer like pveproxy does
            log.exception("PVE sim: %s %s failed", request.method, request.path)
            return error_response(PveError(500, "Internal Server Error"))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
