"""ProxmoxSource against the simulated PVE API served over real HTTPS.

Each node's pveproxy (console.sim.pve_api.make_pve_app over one World) listens
on its own loopback port with a self-signed certificate; the source talks to
it through proxmoxer/requests in threads, exactly as to a real cluster.
Faults: sim latency (timeout), sim error-rate (5xx), a wrong token (401), an
audit-only token (403), a wrong pinned fingerprint, a wrong CA, and malformed
JSON from a small aiohttp HTTPS server of our own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from pathlib import Path

import pytest
import requests
from aiohttp import web

from console.config_model import ProxmoxConfig, SecretRef, TlsConfig
from console.errors import ConsoleError, ReadOnlyError
from console.sim.keys import make_tls
from console.sim.pve_api import make_pve_app
from console.sim.world import World
from console.sources.proxmox import ProxmoxSource
from console.sources.tls import normalise_fingerprint, requests_session
from console.sources.tls_contexts import context_without_ca

SECRET = "5f1c9a2e-7d4b-4c1e-9a8f-0e2d3c4b5a69"
AUDIT_ID, AUDIT_SECRET = "monitor@pve!console", "a0a0a0a0-1111-2222-3333-444455556666"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PveLab:
    """The seed World with one HTTPS pveproxy per node, on the test's event loop."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        (tmp / "tls").mkdir()
        self.cert, self.key, self.fingerprint = make_tls(tmp / "tls")
        (tmp / "other").mkdir()
        self.other_cert, _, self.other_fingerprint = make_tls(tmp / "other")
        self.world = World("seed", speed=40.0)
        self.ports: dict[str, int] = {}
        self.runners: list[web.AppRunner] = []
        (tmp / "token").write_text(SECRET + "\n")
        (tmp / "audit-token").write_text(AUDIT_SECRET + "\n")
        (tmp / "bad-token").write_text("not-the-secret\n")

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    async def start(self) -> None:
        for node in self.world.nodes:
            runner = web.AppRunner(make_pve_app(self.world, node, SECRET, {AUDIT_ID: AUDIT_SECRET}),
                                   access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ssl_context())
            await site.start()
            self.ports[node] = site._server.sockets[0].getsockname()[1]
            self.runners.append(runner)

    async def stop(self) -> None:
        for r in self.runners:
            await r.cleanup()

    def url(self, node: str) -> str:
        return f"https://127.0.0.1:{self.ports[node]}"

    def config(self, *endpoints: str, token: str = "token", token_id: str | None = None,
               tls: TlsConfig | None = None, timeout: float = 5.0) -> ProxmoxConfig:
        return ProxmoxConfig(
            endpoints=endpoints or (self.url("pve1"),),
            token_id=token_id or self.world.token_id,
            token_secret=SecretRef(file=self.tmp / token, where="proxmox.token_secret_file"),
            tls=tls or TlsConfig(fingerprint=self.fingerprint.replace(":", "").lower()),
            timeout=timeout)


@pytest.fixture
async def lab(tmp_path):
    lab = PveLab(tmp_path)
    await lab.start()
    try:
        yield lab
    finally:
        await lab.stop()


def _no_secret(text: str) -> None:
    assert SECRET not in text and AUDIT_SECRET not in text


async def test_fetch_reads_cluster_nodes_guests_ha_and_slow_facts(lab):
    src = ProxmoxSource(lab.config())
    s = await src.fetch()
    w = lab.world
    assert s.quorate and s.votes == s.expected_votes == 3
    assert s.cluster_name == w.cluster_name
    assert [n.name for n in s.nodes] == sorted(w.nodes)
    assert all(n.status == "online" and n.maxmem > 0 for n in s.nodes)
    assert {g.vmid: g.node for g in s.guests} == {g.vmid: g.node for g in w.guests.values()}
    assert {g.vmid: g.type for g in s.guests} == {g.vmid: g.type for g in w.guests.values()}
    ha_guests = {g.vmid for g in w.guests.values() if g.ha}
    assert {g.vmid for g in s.guests if g.ha_state} == ha_guests
    assert s.ha is not None and s.ha.quorate and s.ha.master in w.nodes
    assert all(n.pve_version and n.kernel for n in s.nodes)
    assert all(n.pending_updates is not None for n in s.nodes)
    assert s.endpoint == lab.url("pve1")
    assert next(n for n in s.nodes if n.name == "pve1").local


async def test_a_node_whose_version_could_not_be_read_is_asked_again_on_the_next_poll(lab):
    """A node just back from a reboot may not answer its status yet: a plan made a poll later
    must see its version, not an unknown one (which makes it no migration target for a minute)."""
    src = ProxmoxSource(lab.config())
    real = src._aget
    failing = {"nodes/pve3/status"}

    async def flaky(path, *a, **kw):
        if path in failing:
            raise ConsoleError("proxmox", "nodes/pve3/status: 595 no route to host")
        return await real(path, *a, **kw)

    src._aget = flaky
    first = await src.fetch()
    assert next(n for n in first.nodes if n.name == "pve3").pve_version is None
    failing.clear()
    second = await src.fetch()
    assert next(n for n in second.nodes if n.name == "pve3").pve_version == lab.world.nodes["pve3"].pve_version


async def test_failover_when_the_first_endpoint_is_down(lab):
    dead = f"https://127.0.0.1:{_free_port()}"
    src = ProxmoxSource(lab.config(dead, lab.url("pve2"), lab.url("pve3")))
    s = await src.fetch()
    assert s.endpoint == lab.url("pve2")
    assert src.endpoint == lab.url("pve2")  # remembered: tried first next time
    lab.world.inject("node-down", "pve2")
    s = await src.fetch()
    assert s.endpoint == lab.url("pve3")
    assert next(n for n in s.nodes if n.name == "pve2").status == "offline"
    assert s.votes == 2 and s.quorate


async def test_all_endpoints_down_names_each(lab):
    a, b = f"https://127.0.0.1:{_free_port()}", f"https://127.0.0.1:{_free_port()}"
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config(a, b)).fetch()
    assert "none of the 2 endpoints" in str(err.value) and a in str(err.value) and b in str(err.value)
    assert "connection refused" in str(err.value)


async def test_migrate_and_wait_task(lab):
    src = ProxmoxSource(lab.config())
    guest = next(g for g in lab.world.guests.values()
                 if g.type == "qemu" and g.node == "pve1" and g.status == "running" and not g.ha
                 and not g.local_resources)
    pre = await src.migrate_preconditions("pve1", guest.vmid)
    assert pre.get("local_resources") == [] or pre.get("local_resources") is None
    upid = await src.migrate("pve1", guest.vmid, "qemu", "pve2", online=True)
    assert upid.startswith("UPID:pve1:")
    lines: list[str] = []
    status = await src.wait_task("pve1", upid, timeout=120, on_line=lines.append, poll=0.2)
    assert status == "OK" and lines
    s = await src.fetch()
    assert next(g for g in s.guests if g.vmid == guest.vmid).node == "pve2"


async def test_read_only_refuses_every_write(lab):
    src = ProxmoxSource(lab.config(), read_only=True)
    before = len(lab.world.pve_tasks)
    for call in (src.migrate("pve1", 110, "qemu", "pve2"), src.guest_power("pve1", 110, "qemu", "stop"),
                 src.reboot("pve1"), src.apt_update("pve1"), src.set_ceph_flag("noout", True)):
        with pytest.raises(ReadOnlyError):
            await call
    assert len(lab.world.pve_tasks) == before


async def test_timeout_is_a_clear_error(lab, caplog):
    caplog.set_level(logging.DEBUG)
    lab.world.inject("latency", "pve", 3.0)
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config(timeout=0.5)).fetch()
    assert "no answer from" in str(err.value) and "within 0.5 s" in str(err.value)
    assert lab.url("pve1") in str(err.value)
    _no_secret(str(err.value) + caplog.text)


async def test_server_error_is_reported_with_where_and_hint(lab, caplog):
    caplog.set_level(logging.DEBUG)
    lab.world.inject("error-rate", "pve", 1.0)
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config()).fetch()
    assert "500" in str(err.value) and lab.url("pve1") in str(err.value)
    assert "pveproxy" in (err.value.hint or "")
    _no_secret(str(err.value) + caplog.text)


async def test_bad_token_is_refused_without_leaking_the_secret(lab, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config(token="bad-token")).fetch()
    text = str(err.value)
    assert "401" in text and "token" in text and lab.url("pve1") in text
    assert "not-the-secret" not in text + caplog.text
    _no_secret(text + caplog.text)


async def test_audit_token_gets_403_on_writes(lab, caplog):
    caplog.set_level(logging.DEBUG)
    src = ProxmoxSource(lab.config(token="audit-token", token_id=AUDIT_ID))
    assert (await src.fetch()).nodes  # reading is allowed
    with pytest.raises(ConsoleError) as err:
        await src.migrate("pve1", 110, "qemu", "pve2")
    assert "403" in str(err.value) and "permission" in str(err.value)
    _no_secret(str(err.value) + caplog.text)


async def test_wrong_pinned_fingerprint(lab, caplog):
    caplog.set_level(logging.DEBUG)
    tls = TlsConfig(fingerprint=lab.other_fingerprint.replace(":", "").lower())
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config(tls=tls)).fetch()
    text = str(err.value)
    assert "does not match the pinned fingerprint" in text
    assert lab.other_fingerprint in text and lab.fingerprint in text  # expected and presented
    _no_secret(text + caplog.text)


async def test_wrong_ca_and_right_ca(lab, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConsoleError) as err:
        await ProxmoxSource(lab.config(tls=TlsConfig(ca_file=lab.other_cert))).fetch()
    assert "failed verification against CA file" in str(err.value) and str(lab.other_cert) in str(err.value)
    with pytest.raises(ConsoleError, match="system trust store"):
        await ProxmoxSource(lab.config(tls=TlsConfig())).fetch()
    s = await ProxmoxSource(lab.config(tls=TlsConfig(ca_file=lab.cert))).fetch()
    assert len(s.nodes) == 3
    _no_secret(str(err.value) + caplog.text)


@pytest.fixture
async def junk_server(lab):
    """An HTTPS server answering 200 with broken bodies, by path."""
    async def handler(request: web.Request) -> web.Response:
        if request.path.endswith("/cluster/status"):
            return web.Response(text="{not json", content_type="application/json")
        return web.json_response({"no_envelope": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=lab.ssl_context())
    await site.start()
    yield f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    await runner.cleanup()


async def test_malformed_json_and_missing_envelope(lab, junk_server, caplog):
    caplog.set_level(logging.DEBUG)
    src = ProxmoxSource(lab.config(junk_server))
    with pytest.raises(ConsoleError) as err:
        await src.fetch()
    assert "malformed JSON" in str(err.value) or "envelope" in str(err.value)
    assert junk_server in str(err.value)
    with pytest.raises(ConsoleError, match="malformed JSON"):
        await src._aget("cluster/status")  # the path the junk server breaks
    with pytest.raises(ConsoleError, match="envelope"):
        await src.node_status("pve1")
    _no_secret(str(err.value) + caplog.text)


async def test_config_problems_are_this_sources_error(tmp_path):
    cfg = ProxmoxConfig(endpoints=("https://127.0.0.1:1",), token_id="root@pam",
                        token_secret=SecretRef(file=tmp_path / "t"))
    src = ProxmoxSource(cfg)  # wiring the sources never raises
    with pytest.raises(ConsoleError, match="USER@REALM!TOKENID"):
        await src.fetch()
    missing = ProxmoxConfig(endpoints=("https://127.0.0.1:1",), token_id="root@pam!x",
                            token_secret=SecretRef(file=tmp_path / "absent", where="proxmox.token_secret_file"))
    with pytest.raises(ConsoleError, match="proxmox.token_secret_file.*cannot read secret file"):
        await ProxmoxSource(missing).fetch()


async def test_requests_session_pins_or_verifies(lab, junk_server):
    """The helper the Traefik source uses: pinned fingerprint, CA file, system store."""

    def get(tls: TlsConfig) -> int:
        with requests_session(tls) as session:
            return session.get(junk_server + "/x", timeout=5).status_code

    assert await asyncio.to_thread(get, TlsConfig(fingerprint=normalise_fingerprint(lab.fingerprint))) == 200
    assert await asyncio.to_thread(get, TlsConfig(ca_file=lab.cert)) == 200
    for bad in (TlsConfig(fingerprint=normalise_fingerprint(lab.other_fingerprint)),
                TlsConfig(ca_file=lab.other_cert), TlsConfig()):
        with pytest.raises(requests.exceptions.SSLError):
            await asyncio.to_thread(get, bad)
    with pytest.raises(ConsoleError, match="not a SHA-256 fingerprint"):
        normalise_fingerprint("AB:CD")


async def test_connections_share_one_context_per_trust_setting(lab, junk_server, tmp_path):
    """Every pinned connection uses one TLS context holding no CA certificates, every connection
    verified against a CA file one context holding just that file's (urllib3's own way loads a
    trust store into a new context per connection: 0.8 MB each); a changed CA file is read again."""

    def contexts(tls: TlsConfig) -> list:
        seen = []
        for _ in range(2):
            with requests_session(tls) as session:
                response = session.get(junk_server + "/x", timeout=5, stream=True)
                assert response.status_code == 200
                seen.append(response.raw.connection.sock.context)
                response.close()
        return seen

    first, second = await asyncio.to_thread(contexts, TlsConfig(fingerprint=normalise_fingerprint(lab.fingerprint)))
    assert first is second is context_without_ca()
    assert first.cert_store_stats()["x509"] == 0

    ca = tmp_path / "ca.pem"
    ca.write_bytes(lab.cert.read_bytes())
    first, second = await asyncio.to_thread(contexts, TlsConfig(ca_file=ca))
    assert first is second and first.check_hostname and first.cert_store_stats()["x509_ca"] == 1
    ca.write_bytes(lab.cert.read_bytes() + lab.other_cert.read_bytes())
    third, _ = await asyncio.to_thread(contexts, TlsConfig(ca_file=ca))
    assert third is not first and third.cert_store_stats()["x509_ca"] == 2
