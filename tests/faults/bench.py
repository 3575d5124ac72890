"""The fault bench: hostile proxies and fake SSH hosts in front of one running sim,
and the config rewritten per (layer, fault) to route the layer under test through them.

Everything hostile runs on one event loop in a background thread, so a check
run in-process (asyncio.run in the test thread) or as a subprocess talks to
it over real sockets. Routes, with no fault:

  proxmox   2 endpoints, HTTPS (the sim's certificate, pinned) -> pve proxies -> sim nodes 1, 2
  ceph      via the Proxmox API (those proxies), or via SSH to the fake Ceph host
            (proxmox cells read Ceph over SSH from the sim, so Ceph stays independent)
  swarm     2 managers, unix sockets -> docker proxies -> sim managers 1, 2
  traefik   HTTPS (pinned) -> traefik proxy -> sim
  vrrp      fw1, fw2 over SSH -> the sim (or the fake firewalls when vrrp is under test)
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import tomli_w

from console.sim.keys import make_tls
from tests.faults.fault_state import LAYERS, FaultState
from tests.faults.hostile_http import HostileHttp, server_tls
from tests.faults.hostile_ssh import Answers, FakeSshHost

FAULT_TIMEOUT = 2.0  # seconds: timeout of the layer under test (and SSH connect_timeout)
TIMEOUT_KEY = {"proxmox": "proxmox", "ceph-api": "ceph", "ceph-ssh": "ceph", "swarm": "swarm",
               "traefik": "traefik", "vrrp": "vrrp"}


@dataclass
class CheckRun:
    code: int
    doc: dict
    elapsed: float
    stdout: str
    stderr: str
    via: str  # "cli" or "in-process"


class FaultBench:
    def __init__(self, sim, directory: Path | None = None):
        self.sim = sim
        self.dir = Path(directory or tempfile.mkdtemp(prefix="labfault-"))
        self.state = FaultState()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-bench", daemon=True)
        self._closers: list = []
        self._held: list[socket.socket] = []  # bound, never listening: connection refused
        self.baseline: dict[str, str] = {}

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> "FaultBench":
        self._thread.start()
        try:
            self._call(self._setup(), 60)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self._call(self._teardown(), 30)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
        for s in self._held:
            s.close()

    def _call(self, coro, timeout: float):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _teardown(self) -> None:
        for close in reversed(self._closers):
            try:
                await asyncio.wait_for(close(), 5)
            except Exception:  # noqa: BLE001 - teardown is best effort; the test result stands
                pass

    async def _setup(self) -> None:
        sim = self.sim
        self.sim_cfg = tomllib.loads(sim.config_path.read_text())
        self.cluster = self.sim_cfg["default_cluster"]
        c = self.sim_cfg["clusters"][self.cluster]
        self.fingerprint = c["proxmox"]["fingerprint"]
        self.sim_cert = sim.dir / "pve-cert.pem"
        good = server_tls(self.sim_cert, sim.dir / "pve-key.pem")
        (self.dir / "other-tls").mkdir(exist_ok=True)
        other_cert, other_key, self.other_fingerprint = make_tls(self.dir / "other-tls")
        other = server_tls(other_cert, other_key)
        (self.dir / "docker-client").mkdir(exist_ok=True)
        self.docker_client = make_tls(self.dir / "docker-client")[:2]  # tcp:// managers need a client cert

        self.pve_good, self.pve_other = [], []
        for endpoint in c["proxmox"]["endpoints"][:2]:
            proxy = await self._started(HostileHttp(self.state, "pve", endpoint))
            self.pve_good.append(await proxy.add_tcp(good))
            self.pve_other.append(await proxy.add_tcp(other))

        self.docker_unix = []
        for i, manager in enumerate(c["swarm"]["managers"][:2]):
            proxy = await self._started(HostileHttp(self.state, "docker", "http://docker",
                                                    unix_upstream=manager.removeprefix("unix://")))
            self.docker_unix.append(await proxy.add_unix(self.dir / f"docker-proxy-{i}.sock"))
            if i == 0:
                self.docker_tls_good = await proxy.add_tcp(good)
                self.docker_tls_other = await proxy.add_tcp(other)

        proxy = await self._started(HostileHttp(self.state, "traefik", c["traefik"]["url"]))
        self.traefik_good = await proxy.add_tcp(good)
        self.traefik_other = await proxy.add_tcp(other)
        self.traefik_password = self.dir / "traefik.pass"
        self.traefik_password.write_text("not-checked-by-the-sim\n")

        self.closed_ports = [self._refusing_port() for _ in range(2)]
        self.closed_sockets = [self._refusing_unix(self.dir / f"dead-{i}.sock") for i in range(2)]
        await self._setup_ssh(c)

    async def _started(self, proxy: HostileHttp) -> HostileHttp:
        await proxy.start()
        self._closers.append(proxy.close)
        return proxy

    def _refusing_port(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        self._held.append(s)
        return s.getsockname()[1]

    def _refusing_unix(self, path: Path) -> str:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        self._held.append(s)
        return str(path)

    async def _setup_ssh(self, c: dict) -> None:
        from console.sources.ceph import FAST_READS, SLOW_READS
        from console.sources.vrrp import IP_ADDR

        host_key = self.sim.dir / "ssh_host_ed25519_key"
        client_key = asyncssh.read_private_key(str(self.sim.dir / "id_ed25519"))
        host_pub = asyncssh.read_private_key(str(host_key)).export_public_key().decode().split()
        self.answers = Answers(self.dir / "answers")
        ceph_cmds = list(FAST_READS + SLOW_READS)
        dump = c["vrrp"]["dump"]
        if dump == "signal":
            raise RuntimeError("the fault bench fakes the dump helper; the sim's config uses dump = \"signal\"")
        real = await self._capture("pve1", ceph_cmds)
        self.answers.prepare("ceph", real, set(ceph_cmds))
        for fw in ("fw1", "fw2"):
            self.answers.prepare(fw, await self._capture(fw, [dump, IP_ADDR]), {dump})

        self.fake_ports: dict[str, int] = {}
        for identity, layer in (("ceph", "ceph-ssh"), ("fw1", "vrrp"), ("fw2", "vrrp")):
            host = FakeSshHost(self.state, layer, identity, self.answers, host_key, client_key)
            self.fake_ports[identity] = await host.start()
            self._closers.append(host.close)
        stranger = FakeSshHost(self.state, "none", "ceph", self.answers,
                               asyncssh.generate_private_key("ssh-ed25519"), client_key)
        self.stranger_port = await stranger.start()
        self._closers.append(stranger.close)

        self.known_hosts = self.dir / "known_hosts"
        trusted = list(self.fake_ports.values()) + [self.stranger_port]  # the stranger claims a trusted address
        self.known_hosts.write_text(Path(c["ssh"]["known_hosts"]).read_text()
                                    + "".join(f"[127.0.0.1]:{p} {host_pub[0]} {host_pub[1]}\n" for p in trusted))

    async def _capture(self, alias: str, commands: list[str]) -> dict[str, tuple[int, str, str]]:
        port = self.sim.info["ports"]["ssh"][alias]
        async with asyncssh.connect("127.0.0.1", port, username="root", known_hosts=str(self.sim.dir / "known_hosts"),
                                    client_keys=[str(self.sim.dir / "id_ed25519")], agent_path=None,
                                    config=None, connect_timeout=10) as conn:
            out = {}
            for cmd in commands:
                r = await conn.run(cmd, check=False)
                if r.exit_status != 0:
                    raise RuntimeError(f"capturing `{cmd}` on the sim's {alias} exited {r.exit_status}: {r.stderr}")
                out[cmd] = (0, r.stdout, r.stderr)
            return out

    # ---------------------------------------------------------------- config

    def config(self, layer: str | None = None, kind: str | None = None) -> dict:
        """The sim's config with every layer routed through the bench, and `layer` set up for `kind`.
        kind None: the layer's hostile route with no fault (sanity of the bench itself);
        "tls-pass": the TLS route with the right certificate."""
        cfg = copy.deepcopy(self.sim_cfg)
        c = cfg["clusters"][self.cluster]
        c["ssh"]["known_hosts"] = str(self.known_hosts)
        c["ssh"]["connect_timeout"] = FAULT_TIMEOUT
        c["proxmox"]["endpoints"] = [f"https://127.0.0.1:{p}" for p in self.pve_good]
        c["ceph"]["via"] = "ssh" if layer in ("proxmox", "ceph-ssh") else "api"
        c["swarm"]["managers"] = [f"unix://{p}" for p in self.docker_unix]
        c["traefik"] = {"url": f"https://127.0.0.1:{self.traefik_good}", "verify_tls": True,
                        "fingerprint": self.fingerprint, "username": "monitor",
                        "password_file": str(self.traefik_password)}
        if layer is None:
            return cfg
        c[TIMEOUT_KEY[layer]]["timeout"] = FAULT_TIMEOUT
        if layer == "ceph-api":  # Ceph's API reads travel in Proxmox's HTTP client, with its timeout
            c["proxmox"]["timeout"] = FAULT_TIMEOUT
        closed_urls = [f"https://127.0.0.1:{p}" for p in self.closed_ports]
        hosts = c["ssh"]["hosts"]

        def ssh_to(aliases: list[str], ports: list[int]) -> None:
            for alias, port in zip(aliases, ports):
                hosts[alias] = {"address": "127.0.0.1", "port": port}

        if layer in ("proxmox", "ceph-api"):
            if kind == "down" and layer == "proxmox":
                c["proxmox"]["endpoints"] = closed_urls
            elif kind == "tls":
                c["proxmox"]["endpoints"] = [f"https://127.0.0.1:{p}" for p in self.pve_other]
        elif layer == "ceph-ssh":
            c["ceph"]["ssh_hosts"] = ["pve1", "pve2"]
            ports = {"down": self.closed_ports, "tls": [self.stranger_port] * 2}.get(kind, [self.fake_ports["ceph"]] * 2)
            ssh_to(["pve1", "pve2"], ports)
        elif layer == "swarm":
            if kind == "down":
                c["swarm"]["managers"] = [f"unix://{p}" for p in self.closed_sockets]
            elif kind in ("tls", "tls-pass"):
                port = self.docker_tls_other if kind == "tls" else self.docker_tls_good
                c["swarm"]["managers"] = [f"tcp://127.0.0.1:{port}"]
                c["swarm"]["tls_ca"] = str(self.sim_cert)
                c["swarm"]["tls_cert"], c["swarm"]["tls_key"] = str(self.docker_client[0]), str(self.docker_client[1])
        elif layer == "traefik":
            if kind == "down":
                c["traefik"]["url"] = f"https://127.0.0.1:{self.closed_ports[0]}"
            elif kind == "tls":
                c["traefik"]["url"] = f"https://127.0.0.1:{self.traefik_other}"
        elif layer == "vrrp":
            fws = [fw["ssh_host"] for fw in c["vrrp"]["firewalls"]]
            ports = {"down": self.closed_ports, "tls": [self.stranger_port] * 2}.get(
                kind, [self.fake_ports["fw1"], self.fake_ports["fw2"]])
            ssh_to(fws, ports)
        return cfg

    def write_config(self, name: str, cfg: dict) -> Path:
        path = self.dir / "cells" / f"{name}.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(tomli_w.dumps(cfg))
        return path

    # ------------------------------------------------------------------- run

    def run(self, layer: str | None, kind: str | None, variant: str = "bad-json", cli: bool = False) -> CheckRun:
        name = f"{layer or 'base'}-{kind or 'pass'}" + (f"-{variant}" if kind == "malformed" else "")
        path = self.write_config(name, self.config(layer, kind))
        fault = kind if kind in ("down", "slow", "error", "malformed", "auth", "tls") else None
        self.state.set(layer if fault else None, fault, variant)
        try:
            return self.run_cli(path) if cli else self.run_in_process(path)
        finally:
            self.state.clear()

    def run_in_process(self, path: Path) -> CheckRun:
        from console.check import run_check
        from console.config import load_config

        cluster = load_config(path).cluster()
        out = io.StringIO()
        started = time.monotonic()
        code = run_check(cluster, as_json=True, out=out)
        elapsed = time.monotonic() - started
        return CheckRun(code, json.loads(out.getvalue()), elapsed, out.getvalue(), "", "in-process")

    def run_cli(self, path: Path) -> CheckRun:
        exe = Path(sys.executable).with_name("labconsole")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from console.cli import main; "
                                                                    "sys.exit(main())"]
        env = {**os.environ, "XDG_STATE_HOME": str(self.dir / "state"), "LABCONSOLE_STATE_DIR": str(self.dir / "state")}
        started = time.monotonic()
        r = subprocess.run([*cmd, "--config", str(path), "check", "--json"], capture_output=True, text=True,
                           timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])
        elapsed = time.monotonic() - started
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"`labconsole check --json` printed no JSON (exit {r.returncode}):\n"
                                 f"stdout: {r.stdout[:2000]}\nstderr: {r.stderr[:2000]}") from None
        return CheckRun(r.returncode, doc, elapsed, r.stdout, r.stderr, "cli")

    @property
    def token_secret(self) -> str:
        return (self.sim.dir / "token").read_text().strip()


def reported(layer: str) -> str:
    return LAYERS[layer]
