"""The Traefik source: parsing Traefik's own golden API outputs, the
simulated lab (with a backend down), and failures served by a tiny local
server (pagination, 5xx, malformed JSON, timeout, auth, TLS pinning)."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import ssl
from pathlib import Path

import pytest
from aiohttp import web

from console.config import load_config
from console.config_model import SecretRef, TlsConfig, TraefikConfig
from console.errors import ConsoleError
from console.sources import traefik as traefik_module
from console.sources import traefik_parse as tp
from console.sources.traefik import TraefikSource

GOLDEN = Path(__file__).resolve().parents[2] / ".." / "shared" / "upstream-fixtures" / "traefik" / "pkg-api-testdata"


def _golden(name: str):
    if not GOLDEN.is_dir():
        pytest.skip(f"upstream fixtures not present at {GOLDEN} (they live in ../shared, outside the project)")
    return json.loads((GOLDEN / name).read_text())


# ----------------------------------------------------------------- parsing


def test_http_routers_from_golden_output():
    bar, test = tp.parse_routers(_golden("routers.json"), "http")
    assert (bar.name, bar.rule, bar.entrypoints, bar.service, bar.status, bar.provider, bar.priority) == \
        ("bar@myprovider", "Host(`foo.bar`)", ("web",), "foo-service@myprovider", "enabled", "myprovider", 0)
    assert bar.middlewares == ("auth", "addPrefixTest@anotherprovider") and not bar.tls and bar.errors == ()
    assert test.name == "test@myprovider"
    (custom,) = tp.parse_routers([_golden("router-baz-custom-tls-options.json")], "http")
    assert custom.tls


def test_http_services_with_server_status():
    services = {s.name: s for s in tp.parse_services(_golden("services.json"), "http")}
    bar = services["bar@myprovider"]
    assert (bar.type, bar.status, bar.used_by) == ("loadbalancer", "enabled", ("foo@myprovider", "test@myprovider"))
    assert [(s.url, s.status) for s in bar.servers] == [("http://127.0.0.1", "UP")]
    assert services["canary@myprovider"].type == "weighted" and services["canary@myprovider"].servers == ()
    assert services["mirror@myprovider"].type == "mirroring"


def test_tcp_and_udp_routers_and_services():
    tcp = {r.name: r for r in tp.parse_routers(_golden("tcprouters.json"), "tcp")}
    assert {n: r.status for n, r in tcp.items()} == \
        {"bar@myprovider": "warning", "foo@myprovider": "disabled", "test@myprovider": "enabled"}
    assert tcp["test@myprovider"].tls and tcp["bar@myprovider"].protocol == "tcp"
    tcps = {s.name: s for s in tp.parse_services(_golden("tcpservices.json"), "tcp")}
    assert [(s.url, s.status) for s in tcps["baz@myprovider"].servers] == [("127.0.0.2:2345", "UP")]
    udps = tp.parse_services(_golden("udpservices.json"), "udp")
    # UDP services carry no serverStatus: the status is unknown, not UP
    assert [(s.url, s.status) for s in udps[0].servers] == [("127.0.0.1:2345", None)]
    assert len(tp.parse_routers(_golden("udprouters.json"), "udp")) == 3


def test_middlewares_entrypoints_and_errors():
    mws = tp.parse_middlewares(_golden("middlewares.json"))
    assert [(m.name, m.type) for m in mws][2] == ("auth@myprovider", "basicauth")
    assert "admin:admin" not in repr(mws)  # middleware config (basic auth users) is not kept
    eps = tp.parse_entrypoints(_golden("entrypoints.json"))
    assert [(e.name, e.address) for e in eps] == [("web", ":80"), ("websecure", ":443")]
    (broken,) = tp.parse_routers([{"name": "r@file", "status": "disabled", "error": ["the service \"x@file\" "
                                   "does not exist"], "priority": 12}], "http")
    assert broken.errors == ('the service "x@file" does not exist',) and broken.priority == 12
    with pytest.raises(ConsoleError):
        tp.parse_routers({"not": "a list"}, "http")


# ------------------------------------------------------------ the sim lab


def _sim_source(lab) -> TraefikSource:
    return TraefikSource(load_config(lab.config_path).cluster().traefik)


async def test_fetch_from_the_seed_lab(seed_sim):
    state = await _sim_source(seed_sim).fetch()
    assert state.version
    http = [r for r in state.routers if r.protocol == "http"]
    assert http and all(r.status == "enabled" and not r.errors for r in http)
    whoami = next(s for s in state.services if s.name.startswith("whoami@"))
    assert whoami.servers and all(s.status == "UP" for s in whoami.servers)
    assert {e.name for e in state.entrypoints} >= {"web", "websecure"}


async def test_backend_down_shows_in_server_status(sim, monkeypatch):
    parsed = []
    real = traefik_module._parse_answers
    monkeypatch.setattr(traefik_module, "_parse_answers", lambda *a: parsed.append(1) or real(*a))
    source = _sim_source(sim)
    before = await source.fetch()
    assert await source.fetch() is before and len(parsed) == 1  # the same pages: the last state, not parsed again
    sim.control("traefik-backend-down", "whoami")
    state = await source.fetch()
    assert len(parsed) == 2
    whoami = next(s for s in state.services if s.name.startswith("whoami@"))
    assert whoami.servers and all(s.status == "DOWN" for s in whoami.servers), whoami
    others = [s for s in state.services if s.name.startswith("grafana@")]
    assert others and all(srv.status == "UP" for srv in others[0].servers)


async def test_sim_error_rate_gives_a_clear_error(sim):
    sim.control("error-rate", "traefik", 1.0)
    with pytest.raises(ConsoleError) as err:
        await _sim_source(sim).fetch()
    assert "HTTP 500" in str(err.value)


# ------------------------------------------------- failures, local server


def _routers(n: int) -> list[dict]:
    return [{"name": f"r{i}@file", "rule": f"Host(`r{i}`)", "entryPoints": ["web"], "service": "s@file",
             "status": "enabled", "provider": "file"} for i in range(n)]


def _app(routes: dict) -> web.Application:
    """Traefik-like: lists paginated by `page` (2 per page here) with X-Next-Page; overrides in routes."""
    async def handler(req: web.Request):
        path = req.path
        if path in routes:
            return await routes[path](req)
        if path == "/api/version":
            return web.json_response({"Version": "3.1.2", "Codename": "comte"})
        items = {"/api/http/routers": _routers(5)}.get(path, [])
        page = int(req.query.get("page", "1"))
        chunk = items[(page - 1) * 2: page * 2]
        nxt = page + 1 if page * 2 < len(items) else 1
        return web.json_response(chunk, headers={"X-Next-Page": str(nxt)})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


async def _serve(app: web.Application, ssl_context=None) -> tuple[str, web.AppRunner]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}", runner


async def test_pages_are_followed_and_missing_optional_endpoints_are_empty():
    async def missing(_req):
        return web.json_response({"message": "404 page not found"}, status=404)

    url, runner = await _serve(_app({"/api/udp/routers": missing, "/api/udp/services": missing}))
    try:
        state = await TraefikSource(TraefikConfig(url=url)).fetch()
    finally:
        await runner.cleanup()
    assert [r.name for r in state.routers] == [f"r{i}@file" for i in range(5)]
    assert state.version == "3.1.2"


async def _status_500(_req):
    return web.Response(status=502, text="Bad Gateway\n")


async def _not_json(_req):
    return web.Response(text="<html>login</html>", content_type="text/html")


async def _hang(_req):
    await asyncio.sleep(1.5)
    return web.json_response([])


@pytest.mark.parametrize("handler,fragment", [
    (_status_500, "HTTP 502"),
    (_not_json, "malformed JSON"),
    (_hang, "no answer"),
], ids=["5xx", "malformed-json", "timeout"])
async def test_failures_give_clear_errors(handler, fragment):
    url, runner = await _serve(_app({"/api/http/services": handler}))
    try:
        with pytest.raises(ConsoleError) as err:
            await TraefikSource(TraefikConfig(url=url, timeout=0.5)).fetch()
    finally:
        await runner.cleanup()
    assert fragment in str(err.value) and "/api/http/services" in str(err.value), str(err.value)


async def test_unreachable():
    with pytest.raises(ConsoleError) as err:
        await TraefikSource(TraefikConfig(url="http://127.0.0.1:1", timeout=1.0)).fetch()
    assert "cannot connect to http://127.0.0.1:1" in str(err.value) and "connection refused" in str(err.value)


async def test_refused_auth_does_not_leak_the_password(tmp_path):
    secret = "pa55-w0rd-very-secret"
    (tmp_path / "pass").write_text(secret + "\n")
    seen = []

    async def check_auth(req: web.Request):
        seen.append(req.headers.get("Authorization"))
        return web.json_response({"message": "unauthorized"}, status=401)

    url, runner = await _serve(_app({p: check_auth for p in ("/api/version", "/api/http/routers")}))
    cfg = TraefikConfig(url=url.replace("http://", "http://monitor:inline-secret@"), username="monitor",
                        password=SecretRef(file=tmp_path / "pass"))
    try:
        with pytest.raises(ConsoleError) as err:
            await TraefikSource(cfg).fetch()
    finally:
        await runner.cleanup()
    assert "HTTP 401" in str(err.value)
    assert secret not in str(err.value) and "inline-secret" not in str(err.value)
    assert seen and all(h and h.startswith("Basic ") for h in seen)


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "traefik.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ctx, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


async def test_tls_pinned_fingerprint(tmp_path):
    ctx, fingerprint = _self_signed(tmp_path)
    url, runner = await _serve(_app({}), ssl_context=ctx)
    try:
        state = await TraefikSource(TraefikConfig(url=url, tls=TlsConfig(fingerprint=fingerprint))).fetch()
        assert len(state.routers) == 5
        with pytest.raises(ConsoleError) as wrong:
            await TraefikSource(TraefikConfig(url=url, tls=TlsConfig(fingerprint="ab" * 32))).fetch()
        with pytest.raises(ConsoleError) as unverified:
            await TraefikSource(TraefikConfig(url=url)).fetch()
    finally:
        await runner.cleanup()
    assert "pinned fingerprint" in str(wrong.value) and url in str(wrong.value)
    assert "failed verification" in str(unverified.value)


@pytest.mark.parametrize("body,message", [
    ({"r": {}}, "traefik /api/http/routers: URL answered an object, expected a list of objects"),
    (None, "traefik /api/http/routers: URL answered null, expected a list of objects"),
    ([{"name": "r", "priority": 1e400}], "traefik /api/http/routers: `priority` must be a finite number, got Infinity"),
])
async def test_wrong_shapes_fail_the_layer(body, message):
    async def answer(_req):
        return web.json_response(body)

    url, runner = await _serve(_app({"/api/http/routers": answer}))
    try:
        with pytest.raises(ConsoleError) as err:
            await TraefikSource(TraefikConfig(url=url, timeout=2.0)).fetch()
    finally:
        await runner.cleanup()
    assert str(err.value).startswith(message.replace("URL", url)), str(err.value)
    assert "Error" not in str(err.value)


async def test_hostile_router_text_is_inert():
    from console.hostile_corpus import CORPUS

    async def answer(_req):
        return web.json_response([{"name": f"r{i}", "rule": bad, "service": bad, "error": [bad]}
                                  for i, bad in enumerate(CORPUS)])

    url, runner = await _serve(_app({"/api/http/routers": answer}))
    try:
        state = await TraefikSource(TraefikConfig(url=url, timeout=2.0)).fetch()
    finally:
        await runner.cleanup()
    assert len(state.routers) == len(CORPUS)
    for r in state.routers:
        text = (r.rule or "") + (r.service or "") + "".join(r.errors)
        assert not any(c in text for c in "\x1b\x07\x00\n\r\x9b\u202e"), repr(text[:60])
