"""Malformed and hostile answers through the real sources and a Poller: a wrong shape
fails its layer with one readable message naming the endpoint (never an empty
healthy layer, never a Python exception name), and hostile text from the cluster
is inert in the model. Small local servers speak the real protocols: HTTPS with
the {"data": ...} envelope for Proxmox, the Engine API on a unix socket for Docker."""

from __future__ import annotations

import ssl

import pytest
from aiohttp import web

from console.config_model import ProxmoxConfig, SecretRef, SwarmConfig, TlsConfig
from console.hostile_corpus import CORPUS
from console.poller import Poller
from console.sim.keys import make_tls
from console.sources.proxmox import ProxmoxSource
from console.sources.swarm import SwarmSource

CLASS_NAMES = ("TypeError", "ValueError", "KeyError", "OverflowError", "AttributeError", "JSONDecodeError")
UNSAFE = "\x1b\x07\x00\n\r\x9b\u202e\u2066"
STATUS = {"data": [{"type": "cluster", "name": "lab", "quorate": 1, "nodes": 1},
                   {"type": "node", "name": "pve1", "online": 1}]}


async def _https(tmp_path, bodies: dict[str, str]) -> tuple[str, str, web.AppRunner]:
    """An HTTPS server answering each /api2/json path with a raw body (default: empty list)."""
    (tmp_path / "tls").mkdir(exist_ok=True)
    cert, key, fingerprint = make_tls(tmp_path / "tls")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.Response:
        path = request.path.removeprefix("/api2/json/")
        return web.Response(text=bodies.get(path, '{"data": []}'), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    return url, fingerprint.replace(":", "").lower(), runner


def _proxmox(tmp_path, url: str, fingerprint: str) -> ProxmoxSource:
    (tmp_path / "token").write_text("secret\n")
    return ProxmoxSource(ProxmoxConfig(endpoints=(url,), token_id="root@pam!t",
                                       token_secret=SecretRef(file=tmp_path / "token"),
                                       tls=TlsConfig(fingerprint=fingerprint), timeout=5.0))


@pytest.mark.parametrize("body,message", [
    ('{"data": {"a": 1}}', "proxmox /cluster/resources: expected a list of objects in data, got an object"),
    ('{"data": null}', "proxmox /cluster/resources: expected a list of objects in data, got null"),
    ('{"data": [{"type": "qemu", "vmid": 100, "cpu": Infinity}]}',
     "proxmox /cluster/resources: `cpu` must be a finite number, got Infinity"),
    ('{"data": [{"type": "qemu", "vmid": 1e400}]}', "proxmox /cluster/resources: `vmid` must be a finite number, got Infinity"),
    ("null", "proxmox /cluster/resources: URL answered without the {\"data\": …} envelope"),
    ("[1, 2]", "proxmox /cluster/resources: URL answered without the {\"data\": …} envelope"),
    ("Infinity", "proxmox /cluster/resources: URL answered without the {\"data\": …} envelope"),
    ('{"other": 1}', "proxmox /cluster/resources: URL answered without the {\"data\": …} envelope"),
])
async def test_proxmox_wrong_shapes_fail_the_layer(tmp_path, body, message):
    url, fp, runner = await _https(tmp_path, {"cluster/status": __import__("json").dumps(STATUS),
                                              "cluster/resources": body})
    try:
        src = _proxmox(tmp_path, url, fp)
        snap = await Poller("proxmox", src.fetch, interval=1.0, timeout=5.0).poll_once()
        await src.close()
    finally:
        await runner.cleanup()
    assert snap.data is None and snap.error is not None
    assert snap.error.startswith(message.replace("URL", url)), snap.error
    assert not any(name in snap.error for name in CLASS_NAMES)


async def test_proxmox_hostile_names_are_inert_in_the_model(tmp_path):
    import json

    rows = [{"type": "node", "node": "pve1", "status": "online"}]
    rows += [{"type": "qemu", "vmid": 100 + i, "name": bad, "node": "pve1", "status": "running", "tags": bad,
              "lock": bad} for i, bad in enumerate(CORPUS)]
    url, fp, runner = await _https(tmp_path, {"cluster/status": json.dumps(STATUS),
                                              "cluster/resources": json.dumps({"data": rows})})
    try:
        src = _proxmox(tmp_path, url, fp)
        state = await src.fetch()
        await src.close()
    finally:
        await runner.cleanup()
    assert len(state.guests) == len(CORPUS)
    for g in state.guests:
        text = g.name + "".join(g.tags) + (g.lock or "")
        assert not any(c in text for c in UNSAFE), repr(text[:80])
    assert any("␛]0;PWNED␇" in g.name for g in state.guests)  # visible, not acted on


async def _engine(tmp_path, nodes_body: str, services_body: str = "[]") -> tuple[str, web.AppRunner]:
    async def version(_req):
        return web.json_response({"ApiVersion": "1.41", "Version": "20.10.24"})

    def raw(body: str):
        async def handler(_req):
            return web.Response(text=body, content_type="application/json")
        return handler

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/v1.41/nodes", raw(nodes_body))
    app.router.add_get("/v1.41/services", raw(services_body))
    app.router.add_get("/v1.41/tasks", raw("[]"))
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "engine.sock"
    await web.UnixSite(runner, str(path)).start()
    return f"unix://{path}", runner


@pytest.mark.parametrize("nodes,message", [
    ('{"a": 1}', "swarm /nodes on ENDPOINT: expected a list of objects in the answer, got an object"),
    ("null", "swarm /nodes on ENDPOINT: expected a list of objects in the answer, got null"),
    ('[{"ID": "n1", "Version": {"Index": Infinity}}]',
     "swarm /nodes on ENDPOINT: `Version.Index` must be a finite number, got Infinity"),
])
async def test_swarm_wrong_shapes_fail_the_layer(tmp_path, nodes, message):
    endpoint, runner = await _engine(tmp_path, nodes)
    try:
        src = SwarmSource(SwarmConfig(managers=(endpoint,), timeout=3.0), None)
        snap = await Poller("swarm", src.fetch, interval=1.0, timeout=3.0).poll_once()
        await src.close()
    finally:
        await runner.cleanup()
    assert snap.data is None and snap.error == message.replace("ENDPOINT", endpoint)


async def test_swarm_hostile_service_names_are_inert(tmp_path):
    import json

    services = [{"ID": f"s{i}", "Spec": {"Name": bad, "Labels": {bad: bad}}} for i, bad in enumerate(CORPUS)]
    manager = [{"ID": "n1", "Description": {"Hostname": "swarm1"}, "Status": {"State": "ready"}}]
    endpoint, runner = await _engine(tmp_path, json.dumps(manager), json.dumps(services))
    try:
        src = SwarmSource(SwarmConfig(managers=(endpoint,), timeout=3.0), None)
        state = await src.fetch()
        await src.close()
    finally:
        await runner.cleanup()
    assert len(state.services) == len(CORPUS)
    for s in state.services:
        text = s.name + "".join(k + v for k, v in s.labels)
        assert not any(c in text for c in UNSAFE), repr(text[:80])
