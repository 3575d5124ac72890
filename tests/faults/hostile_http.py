"""A hostile HTTP proxy in front of one sim endpoint (Proxmox, Docker or Traefik API).

It listens on any number of sites at once (a unix socket, plain TCP, TLS with
the sim's own certificate, TLS with a stranger's certificate) and forwards
every request to its upstream unchanged, except the requests of the layer
under test (FaultState), which get the fault instead:

  down       the connection is closed without an answer
  slow       no answer for SLOW_SECONDS (far beyond any source's timeout)
  error      a 5xx the way that kind of server sends one
  malformed  the real answer, mutated (hostile_json)
  auth       401/403 the way that kind of server sends one
  tls        served as pass: the fault is the certificate of the site the
             config points at, which the handshake rejects before any request

"Down" as connection refused is a closed port in the config, not this proxy;
the proxy's "down" is for the one case a port cannot express: Ceph paths of
the Proxmox API while the rest of that API answers.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.faults.fault_state import FaultState
from tests.faults.hostile_json import mutate

SLOW_SECONDS = 20.0
_HOP_REQUEST = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding", "keep-alive"}
_HOP_RESPONSE = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive", "server",
                 "date"}
_JSON = "application/json"
_CEPH_PATH = re.compile(r"/ceph(/|$)")


def _pve_layer(request: web.Request) -> str:
    """Ceph's own endpoints (/cluster/ceph/..., /nodes/N/ceph/...), not a storage named cephfs
    (/nodes/N/storage/cephfs/content: the backup report reads it through Proxmox)."""
    return "ceph-api" if _CEPH_PATH.search(request.path) else "proxmox"


class HostileHttp:
    """flavour: "pve" (HTTPS upstream, {"data": …} envelope), "docker" (unix upstream) or "traefik"."""

    def __init__(self, state: FaultState, flavour: str, upstream: str, unix_upstream: str | None = None):
        if flavour not in ("pve", "docker", "traefik"):
            raise ValueError(flavour)
        self.state = state
        self.flavour = flavour
        self.upstream = upstream.rstrip("/")  # for docker: "http://docker" (the socket carries it)
        self.unix_upstream = unix_upstream
        self.requests = 0  # answered or faulted, for the harness's own sanity checks
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def layer_of(self, request: web.Request) -> str:
        return {"pve": _pve_layer, "docker": lambda r: "swarm", "traefik": lambda r: "traefik"}[self.flavour](request)

    # ----------------------------------------------------------------- sites

    async def start(self) -> HostileHttp:
        if self.unix_upstream:
            connector = aiohttp.UnixConnector(path=self.unix_upstream)
        else:
            connector = aiohttp.TCPConnector(ssl=False)  # the sim's self-signed certificate; the pin is our side
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # shutdown_timeout: handlers still sleeping in "slow" must not hold up the teardown
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        return self

    async def add_tcp(self, ssl_context: ssl.SSLContext | None = None) -> int:
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    async def add_unix(self, path: Path) -> str:
        site = web.UnixSite(self._runner, str(path))
        await site.start()
        return str(path)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # ---------------------------------------------------------------- serve

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        kind = self.state.for_layer(self.layer_of(request))
        if kind == "down":
            request.transport.close()  # no status line at all: the client sees the connection drop
            return web.Response(status=500)
        if kind == "slow":
            await asyncio.sleep(SLOW_SECONDS)
            return web.Response(status=504)
        if kind == "error":
            return self._error_answer(request)
        if kind == "auth":
            return self._auth_answer(request)
        status, reason, headers, body = await self._forward(request)
        if kind == "malformed" and status == 200 and self._mutable(request, headers):
            body = mutate(body, self.state.variant, envelope=self.flavour == "pve")
        return web.Response(status=status, reason=reason, headers=headers, body=body)

    def _mutable(self, request: web.Request, headers: dict) -> bool:
        if self.flavour == "docker" and request.path.rstrip("/").endswith(("/version", "/_ping")):
            return False  # the SDK's handshake: mutate the data answers, so the parsers meet them
        return _JSON in headers.get("Content-Type", _JSON)

    async def _forward(self, request: web.Request) -> tuple[int, str, dict, bytes]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_REQUEST}
        async with self._session.request(request.method, self.upstream + request.rel_url.path_qs,
                                         headers=headers, data=await request.read(), allow_redirects=False) as r:
            body = await r.read()
            out = {k: v for k, v in r.headers.items() if k.lower() not in _HOP_RESPONSE}
            return r.status, r.reason or "", out, body

    def _error_answer(self, request: web.Request) -> web.Response:
        if self.flavour == "pve":  # PVE puts the message in the status line and answers {"data": null}
            reason = "rados_connect failed - No such file or directory" if self.layer_of(request) == "ceph-api" \
                else "got timeout"
            return web.json_response({"data": None}, status=500, reason=reason)
        if self.flavour == "docker":
            return web.json_response({"message": "rpc error: code = Unknown desc = raft: no elected cluster leader"},
                                     status=500)
        return web.Response(status=502, content_type="text/html",
                            text="<html><head><title>502 Bad Gateway</title></head>"
                                 "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>\n")

    def _auth_answer(self, request: web.Request) -> web.Response:
        if self.flavour == "pve":
            if self.layer_of(request) == "ceph-api":  # the token lacks Sys.Audit on /
                return web.json_response({"data": None}, status=403, reason="Permission check failed (/, Sys.Audit)")
            return web.json_response({"data": None}, status=401, reason="authentication failure")
        if self.flavour == "docker":
            return web.json_response({"message": "authorization denied by plugin authz-broker: no policy allows "
                                                 f"{request.method} {request.path}"}, status=403)
        return web.Response(status=401, text="401 Unauthorized\n",
                            headers={"WWW-Authenticate": 'Basic realm="traefik"'})


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


