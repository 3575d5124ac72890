"""The simulated PVE API over real HTTPS on loopback, driven by proxmoxer, requests and curl.

Each test gets a fresh seed World and two node endpoints (pve1, pve2) served
with a self-signed certificate made here; clients verify it (never verify=False).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from console.sim.pve_api import make_pve_app
from console.sim.world import World

SECRET = "7c1f9a2e-4b3d-4e8f-a6b5-0d9c8e7f6a51"
AUDIT_ID = "audit@pve!ro"
AUDIT_SECRET = "5e2d7b1c-9a8f-4c3e-b2d1-e0f9a8b7c6d5"
UPID_RE = re.compile(r"^UPID:(pve\d):[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:(\w+):(\d*):root@pam!labconsole:$")
TASK_WAIT = 60.0  # real seconds a task may take at speed 20 before the test gives up (not a timing assertion)


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pve-sim-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("pvecert")
    (d / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return d / "cert.pem", d / "key.pem"


@dataclass
class Lab:
    world: World
    ports: dict[str, int]
    cafile: str

    def url(self, node: str, path: str) -> str:
        return f"https://127.0.0.1:{self.ports[node]}/api2/json{path}"

    def api(self, node: str = "pve1", secret: str = SECRET, user: str = "root@pam", token: str = "labconsole"):
        return ProxmoxAPI(f"127.0.0.1:{self.ports[node]}", user=user, token_name=token, token_value=secret,
                          verify_ssl=self.cafile, backend="https", timeout=10)

    def get(self, node: str, path: str, auth: str | None = f"PVEAPIToken=root@pam!labconsole={SECRET}", **kw):
        headers = {"Authorization": auth} if auth else {}
        return requests.request(kw.pop("method", "GET"), self.url(node, path), headers=headers,
                                verify=self.cafile, timeout=10, **kw)


@pytest.fixture
async def lab(cert):
    world = World("seed", speed=20)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    runners, ports = [], {}
    for node in ("pve1", "pve2"):
        runner = web.AppRunner(make_pve_app(world, node, SECRET, audit_tokens={AUDIT_ID: AUDIT_SECRET}))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        runners.append(runner)
        ports[node] = runner.addresses[0][1]
    yield Lab(world, ports, str(cert[0]))
    for runner in runners:
        await runner.cleanup()


async def call(fn, *args, **kw):
    """Blocking client calls run in a thread so the server on this loop can answer."""
    return await asyncio.to_thread(fn, *args, **kw)


async def wait_task(api, node: str, upid: str) -> dict:
    deadline = time.monotonic() + TASK_WAIT
    while True:
        status = await call(api.nodes(node).tasks(upid).status.get)
        if status["status"] == "stopped" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


# -- proxmoxer, the client the console uses ------------------------------------


async def test_proxmoxer_reads_the_cluster(lab):
    api = lab.api()
    nodes = await call(api.nodes.get)
    assert sorted(n["node"] for n in nodes) == sorted(lab.world.nodes)
    assert all(n["status"] == "online" and n["maxmem"] == 16 * 1024**3 for n in nodes)
    vms = await call(api.cluster.resources.get, type="vm")
    assert sorted(r["vmid"] for r in vms) == sorted(lab.world.guests)
    assert {r["type"] for r in await call(api.cluster.resources.get, type="node")} == {"node"}
    status = await call(api.cluster.status.get)
    assert [r["local"] for r in status if r["type"] == "node" and r["name"] == "pve1"] == [1]
    ha = await call(api.cluster.ha.status.current.get)
    ha_vmids = sorted(int(r["sid"].split(":")[1]) for r in ha if r["type"] == "service")
    assert ha_vmids == sorted(g.vmid for g in lab.world.guests.values() if g.ha)
    version = await call(api.version.get)
    assert version["version"] == lab.world.nodes["pve1"].pve_version


async def test_proxmoxer_live_migration_runs_to_ok(lab):
    api = lab.api()
    vm = next(g for g in lab.world.guests.values()
              if g.type == "qemu" and g.node == "pve1" and g.status == "running" and not g.local_resources)
    pre = await call(api.nodes("pve1").qemu(vm.vmid).migrate.get)
    assert pre["running"] == 1 and "pve2" in pre["allowed_nodes"] and "pve1" not in pre["allowed_nodes"]
    upid = await call(api.nodes("pve1").qemu(vm.vmid).migrate.post, target="pve2", online=1)
    assert UPID_RE.match(upid), upid
    assert UPID_RE.match(upid).group(3) == str(vm.vmid)
    running = await call(api.nodes("pve1").tasks.get, source="active")
    assert upid in [t["upid"] for t in running]
    status = await wait_task(api, "pve1", upid)
    assert status["status"] == "stopped" and status["exitstatus"] == "OK"
    log = await call(api.nodes("pve1").tasks(upid).log.get, start=0, limit=500)
    assert log[-1]["t"] == "TASK OK" and [line["n"] for line in log] == list(range(1, len(log) + 1))
    assert vm.vmid in [g["vmid"] for g in await call(api.nodes("pve2").qemu.get)]
    done = await call(api.nodes("pve1").tasks.get, vmid=vm.vmid)
    assert [(t["upid"], t["status"]) for t in done] == [(upid, "OK")]


async def test_proxmoxer_container_restart_migration(lab):
    api = lab.api()
    ct = next(g for g in lab.world.guests.values() if g.type == "lxc" and g.status == "running")
    source = ct.node
    target = next(n for n in lab.world.nodes if n != source)
    with pytest.raises(ResourceException) as refused:  # a running CT moves only in restart mode
        await call(api.nodes(source).lxc(ct.vmid).migrate.post, target=target)
    assert refused.value.status_code == 500
    upid = await call(api.nodes(source).lxc(ct.vmid).migrate.post, target=target, restart=1, timeout=60)
    assert UPID_RE.match(upid).group(1) == source
    status = await wait_task(api, source, upid)
    assert status["exitstatus"] == "OK"
    current = await call(api.nodes(target).lxc(ct.vmid).status.current.get)
    assert current["status"] == "running"


async def test_proxmoxer_apt_update_and_versions(lab):
    api = lab.api()
    node = lab.world.nodes["pve2"]
    upid = await call(api.nodes("pve2").apt.update.post)
    assert UPID_RE.match(upid).groups()[:2] == ("pve2", "aptupdate")
    assert (await wait_task(api, "pve2", upid))["exitstatus"] == "OK"
    updates = await call(api.nodes("pve2").apt.update.get)
    assert {u["Package"]: u["Version"] for u in updates} == node.upgradable
    assert any(u["Package"].startswith("proxmox-kernel-") for u in updates)
    versions = {v["Package"]: v for v in await call(api.nodes("pve2").apt.versions.get)}
    assert versions["pve-manager"]["ManagerVersion"].startswith(node.pve_version + "/")
    assert versions["pve-manager"]["RunningKernel"] == node.kernel
    assert versions["proxmox-ve"]["RunningKernel"] == node.kernel


async def test_proxmoxer_ceph_flags_and_osd_tree(lab):
    api = lab.api()
    await call(api.cluster.ceph.flags("noout").put, value=1)
    flags = {f["name"]: f["value"] for f in await call(api.cluster.ceph.flags.get)}
    assert flags["noout"] == 1 and flags["pause"] == 0
    assert "noout" in lab.world.ceph.flags
    tree = await call(api.nodes("pve1").ceph.osd.get)
    assert "noout" in tree["flags"].split(",")
    hosts = tree["root"]["children"][0]["children"]
    osds = {o["id"]: o["host"] for h in hosts for o in h["children"]}
    assert osds == {o.id: o.host for o in lab.world.osds.values()}
    upid = await call(api.cluster.ceph.flags.put, noout=0)
    assert UPID_RE.match(upid) and "noout" not in lab.world.ceph.flags


async def test_migrateall_drains_a_node_and_ends_after_its_children(lab):
    api = lab.api()
    on_pve3 = {g.vmid: g for g in lab.world.guests.values() if g.node == "pve3"}
    pinned = sorted(v for v, g in on_pve3.items() if g.local_resources and g.status == "running")
    movable = sorted(v for v in on_pve3 if v not in pinned)
    assert pinned and movable, "the seed lab has a passthrough VM on pve3 and others that can move"
    upid = await call(api.nodes("pve3").migrateall.post, target="pve2")
    assert UPID_RE.match(upid).groups()[:2] == ("pve3", "migrateall")
    status = await wait_task(api, "pve3", upid)
    assert status["exitstatus"] == f"{len(pinned)} of {len(on_pve3)} guests failed"
    assert sorted(v for v, g in on_pve3.items() if g.node == "pve2") == movable
    assert sorted(v for v, g in on_pve3.items() if g.node == "pve3") == pinned
    log = [line["t"] for line in await call(api.nodes("pve3").tasks(upid).log.get)]
    assert any(f"VM {pinned[0]}:" in line and "local devices" in line for line in log)
    children = [t for t in await call(api.nodes("pve3").tasks.get, limit=100)
                if t["upid"] != upid and t["type"] != "vzdump"]  # the seed has past backup runs
    assert sorted(int(t["id"]) for t in children) == movable
    assert all(t["status"] == "OK" for t in children)


async def test_ha_migrate_request_and_manager_status(lab):
    api = lab.api()
    vm = next(g for g in lab.world.guests.values() if g.ha and g.type == "qemu" and g.node == "pve1")
    answer = await call(api.cluster.ha.resources(f"vm:{vm.vmid}").migrate.post, node="pve3")
    assert answer == {"sid": f"vm:{vm.vmid}", "requested-node": "pve3"}
    status = await call(api.cluster.ha.status.manager_status.get)
    assert status["manager_status"]["service_status"][f"vm:{vm.vmid}"]["state"] == "migrate"
    assert status["manager_status"]["node_status"] == {"pve1": "online", "pve2": "online", "pve3": "online"}
    with pytest.raises(ResourceException) as exc:
        not_ha = next(g for g in lab.world.guests.values() if not g.ha)
        await call(api.cluster.ha.resources(f"vm:{not_ha.vmid}").migrate.post, node="pve3")
    assert exc.value.status_code == 500 and "not defined" in exc.value.content
    lab.world.inject("node-down", "pve3")  # `node` is the target here, not a node to proxy to: no 595
    with pytest.raises(ResourceException) as exc:
        other = next(g for g in lab.world.guests.values() if g.ha and g.node == "pve2" and not g.lock)
        await call(api.cluster.ha.resources(f"vm:{other.vmid}" if other.type == "qemu" else f"ct:{other.vmid}")
                   .migrate.post, node="pve3")
    assert exc.value.status_code == 500 and "not online" in exc.value.content


async def test_node_reboot_takes_the_node_away_and_back(lab):
    api = lab.api()
    assert await call(api.nodes("pve2").status.post, command="reboot") is None
    with pytest.raises(requests.ConnectionError):  # pve2 itself is down: its endpoint drops the connection
        await call(lab.get, "pve2", "/version")
    with pytest.raises(ResourceException) as gone:
        await call(api.nodes("pve2").status.get)
    assert (gone.value.status_code, gone.value.content) == (595, "No route to host")
    deadline = time.monotonic() + TASK_WAIT
    while time.monotonic() < deadline:
        nodes = {n["node"]: n["status"] for n in await call(api.nodes.get)}
        if nodes["pve2"] == "online":
            break
        await asyncio.sleep(0.1)
    assert nodes["pve2"] == "online"
    assert (await call(lab.api("pve2").version.get))["version"]


# -- error shapes -----------------------------------------------------------------


async def test_auth_failures_are_401_with_pve_reasons(lab):
    missing = await call(lab.get, "pve1", "/nodes", auth=None)
    assert (missing.status_code, missing.reason, missing.json()) == (401, "No ticket", {"data": None})
    wrong = await call(lab.get, "pve1", "/nodes", auth="PVEAPIToken=root@pam!labconsole=not-the-secret")
    assert (wrong.status_code, wrong.reason, wrong.json()) == (401, "authentication failure", {"data": None})
    other = await call(lab.get, "pve1", "/nodes", auth=f"PVEAPIToken=root@pam!other={SECRET}")
    assert other.status_code == 401
    with pytest.raises(ResourceException) as exc:
        await call(lab.api(secret="wrong").nodes.get)
    assert exc.value.status_code == 401


async def test_read_only_token_gets_403_on_writes(lab):
    api = lab.api(user="audit@pve", token="ro", secret=AUDIT_SECRET)
    assert len(await call(api.nodes.get)) == 3
    vm = next(g for g in lab.world.guests.values() if g.type == "qemu" and g.node == "pve1")
    with pytest.raises(ResourceException) as exc:
        await call(api.nodes("pve1").qemu(vm.vmid).migrate.post, target="pve2", online=1)
    assert exc.value.status_code == 403
    assert exc.value.content == f"Permission check failed (/vms/{vm.vmid}, VM.Migrate)"
    assert vm.node == "pve1" and vm.lock is None


async def test_unknown_guest_is_a_500_naming_the_config_file(lab):
    r = await call(lab.get, "pve1", "/nodes/pve1/qemu/999/status/current")
    assert (r.status_code, r.reason) == (500, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist")
    assert r.json() == {"data": None}
    elsewhere = next(g for g in lab.world.guests.values() if g.node == "pve2" and g.type == "lxc")
    r = await call(lab.get, "pve1", f"/nodes/pve1/lxc/{elsewhere.vmid}/status/current")
    assert r.reason == f"Configuration file 'nodes/pve1/lxc/{elsewhere.vmid}.conf' does not exist"


async def test_bad_parameters_are_400_with_an_errors_object(lab):
    vm = next(g for g in lab.world.guests.values() if g.type == "qemu" and g.node == "pve1")
    r = await call(lab.get, "pve1", f"/nodes/pve1/qemu/{vm.vmid}/migrate", method="POST",
                   data={"online": "maybe", "bogus": "1"})
    assert (r.status_code, r.reason) == (400, "Parameter verification failed.")
    errors = r.json()["errors"]
    assert set(errors) == {"target", "online", "bogus"}
    assert errors["target"] == "property is missing and it is not optional"
    assert r.json()["data"] is None
    r = await call(lab.get, "pve1", "/nodes/pve1/qemu/abc/status/current")
    assert r.status_code == 400 and "vmid" in r.json()["errors"]
    r = await call(lab.get, "pve1", "/cluster/resources", params={"type": "vms"})
    assert r.status_code == 400 and "enumeration" in r.json()["errors"]["type"]
    r = await call(lab.get, "pve1", f"/nodes/pve1/qemu/{vm.vmid}/migrate", method="POST", data={"target": "pve1"})
    assert r.json()["errors"] == {"target": "target is local node."}
    with pytest.raises(ResourceException) as exc:  # proxmoxer shows the errors object
        await call(lab.api().nodes("pve1").qemu(vm.vmid).migrate.post)
    assert exc.value.status_code == 400 and "target" in exc.value.errors
    assert vm.lock is None


async def test_malformed_json_body_gets_a_json_answer(lab):
    headers = {"Authorization": f"PVEAPIToken=root@pam!labconsole={SECRET}", "Content-Type": "application/json"}
    r = await call(requests.put, lab.url("pve1", "/cluster/ceph/flags/noout"), data="{not json",
                   headers=headers, verify=lab.cafile, timeout=10)
    assert r.status_code == 400 and r.json()["data"] is None
    r = await call(requests.put, lab.url("pve1", "/cluster/ceph/flags/noout"), data='{"value": true}',
                   headers=headers, verify=lab.cafile, timeout=10)
    assert r.status_code == 200 and "noout" in lab.world.ceph.flags


async def test_offline_node_is_595_and_unknown_node_500(lab):
    lab.world.inject("node-down", "pve3")
    r = await call(lab.get, "pve1", "/nodes/pve3/qemu")
    assert (r.status_code, r.reason, r.json()) == (595, "No route to host", {"data": None})
    nodes = {n["node"]: n for n in (await call(lab.get, "pve1", "/nodes")).json()["data"]}
    assert nodes["pve3"]["status"] == "offline"
    r = await call(lab.get, "pve1", "/nodes/pve9/status")
    assert r.status_code == 500 and r.reason.startswith("hostname lookup 'pve9' failed")


async def test_unknown_path_or_method_is_501(lab):
    r = await call(lab.get, "pve1", "/nodes/pve1/bogus")
    assert (r.status_code, r.reason) == (501, "Method 'GET /nodes/pve1/bogus' not implemented")
    r = await call(lab.get, "pve1", "/nodes", method="DELETE")
    assert (r.status_code, r.reason) == (501, "Method 'DELETE /nodes' not implemented")
    r = await call(requests.get, f"https://127.0.0.1:{lab.ports['pve1']}/index.php", verify=lab.cafile, timeout=10)
    assert r.status_code == 501 and r.json() == {"data": None}


async def test_local_node_down_drops_connections_so_clients_fail_over(lab):
    lab.world.inject("node-down", "pve1")
    with pytest.raises(requests.ConnectionError):
        await call(lab.api("pve1").nodes.get)
    nodes = {n["node"]: n["status"] for n in await call(lab.api("pve2").nodes.get)}
    assert nodes == {"pve1": "offline", "pve2": "online", "pve3": "online"}


async def test_injected_api_errors_and_lost_quorum(lab):
    lab.world.inject("error-rate", "pve", 1.0)
    r = await call(lab.get, "pve1", "/version")
    assert (r.status_code, r.reason) == (500, "got timeout")
    lab.world.clear("error-rate", "pve")
    assert (await call(lab.get, "pve1", "/version")).status_code == 200
    lab.world.inject("error-rate", "ceph", 1.0)
    assert (await call(lab.get, "pve1", "/cluster/ceph/status")).status_code == 500
    assert (await call(lab.get, "pve1", "/cluster/status")).status_code == 200
    lab.world.clear("error-rate", "ceph")
    lab.world.inject("node-down", "pve2")
    lab.world.inject("node-down", "pve3")
    vm = next(g for g in lab.world.guests.values() if g.node == "pve1" and g.type == "qemu")
    r = await call(lab.get, "pve1", f"/nodes/pve1/qemu/{vm.vmid}/status/stop", method="POST")
    assert (r.status_code, r.reason) == (500, "cluster not ready - no quorum?")
    assert (await call(lab.get, "pve1", "/cluster/ceph/status")).reason == "got timeout"


async def test_task_log_pages_and_unknown_upids(lab):
    api = lab.api()
    upid = await call(api.nodes("pve1").apt.update.post)
    await wait_task(api, "pve1", upid)
    full = await call(lab.get, "pve1", f"/nodes/pve1/tasks/{upid}/log", params={"limit": 1000})
    lines = full.json()["data"]
    assert full.json()["total"] == len(lines) >= 3
    page = (await call(lab.get, "pve1", f"/nodes/pve1/tasks/{upid}/log", params={"start": 1, "limit": 2})).json()
    assert page["data"] == lines[1:3] and page["total"] == len(lines)
    bogus = upid.replace("aptupdate", "qmstart")
    r = await call(lab.get, "pve1", f"/nodes/pve1/tasks/{bogus}/status")
    assert r.status_code == 500 and "No such file or directory" in r.reason
    r = await call(lab.get, "pve1", "/nodes/pve1/tasks/not-a-upid/status")
    assert r.status_code == 400 and "upid" in r.json()["errors"]
    r = await call(lab.get, "pve2", f"/nodes/pve2/tasks/{upid}/status")  # a pve1 task asked of pve2
    assert r.status_code == 500


# -- curl ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_reads_and_writes(lab):
    auth = f"Authorization: PVEAPIToken=root@pam!labconsole={SECRET}"
    base = ["curl", "-sS", "--cacert", lab.cafile, "-H", auth]
    out = await call(subprocess.run, base + [lab.url("pve1", "/nodes")], capture_output=True, text=True, check=True)
    assert sorted(n["node"] for n in json.loads(out.stdout)["data"]) == ["pve1", "pve2", "pve3"]
    vm = next(g for g in lab.world.guests.values()
              if g.type == "qemu" and g.node == "pve1" and g.status == "running" and not g.local_resources)
    out = await call(subprocess.run, base + ["-X", "POST", "-d", "target=pve3", "-d", "online=1",
                                             lab.url("pve1", f"/nodes/pve1/qemu/{vm.vmid}/migrate")],
                     capture_output=True, text=True, check=True)
    assert UPID_RE.match(json.loads(out.stdout)["data"])
    code = await call(subprocess.run, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", lab.cafile,
                                       lab.url("pve1", "/nodes")], capture_output=True, text=True)
    assert code.stdout == "401"
