"""The fault bench's own process: hostile proxies and fake SSH hosts in front of a running sim.

    python -m tests.faults.bench_server BENCH_DIR SIM_DIR PARENT_PID

It runs apart from the tests so a check run in the test process never shares
a GIL with the servers it talks to (TLS handshakes and JSON mutation would
otherwise eat into the 2 s timeouts under load). It writes BENCH_DIR/bench.json
(every port and path the config rewriting needs), then BENCH_DIR/ready, and
serves until SIGTERM or until PARENT_PID is gone. The fault to serve is read
per request from BENCH_DIR/fault.json (FaultState).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import tomllib
from pathlib import Path

import asyncssh

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from console.sim.keys import make_tls  # noqa: E402
from tests.faults.fault_state import FaultState  # noqa: E402
from tests.faults.hostile_http import HostileHttp, server_tls  # noqa: E402
from tests.faults.hostile_ssh import Answers, FakeSshHost  # noqa: E402


class BenchServer:
    def __init__(self, directory: Path, sim_dir: Path):
        self.dir = directory
        self.sim_dir = sim_dir
        self.state = FaultState(directory / "fault.json")
        self.closers: list = []
        self.held: list[socket.socket] = []  # bound, never listening: connection refused
        self.info: dict = {}

    async def start(self) -> dict:
        self.state.clear()
        sim_cfg = tomllib.loads((self.sim_dir / "config.toml").read_text())
        c = sim_cfg["clusters"][sim_cfg["default_cluster"]]
        good = server_tls(self.sim_dir / "pve-cert.pem", self.sim_dir / "pve-key.pem")
        (self.dir / "other-tls").mkdir(exist_ok=True)
        other_cert, other_key, _ = make_tls(self.dir / "other-tls")
        other = server_tls(other_cert, other_key)
        (self.dir / "docker-client").mkdir(exist_ok=True)
        info = self.info
        info["docker_client"] = [str(p) for p in make_tls(self.dir / "docker-client")[:2]]  # tcp:// needs one

        info["pve_good"], info["pve_other"] = [], []
        for endpoint in c["proxmox"]["endpoints"][:2]:
            proxy = await self._started(HostileHttp(self.state, "pve", endpoint))
            info["pve_good"].append(await proxy.add_tcp(good))
            info["pve_other"].append(await proxy.add_tcp(other))

        info["docker_unix"] = []
        for i, manager in enumerate(c["swarm"]["managers"][:2]):
            proxy = await self._started(HostileHttp(self.state, "docker", "http://docker",
                                                    unix_upstream=manager.removeprefix("unix://")))
            info["docker_unix"].append(await proxy.add_unix(self.dir / f"docker-proxy-{i}.sock"))
            if i == 0:
                info["docker_tls_good"] = await proxy.add_tcp(good)
                info["docker_tls_other"] = await proxy.add_tcp(other)

        proxy = await self._started(HostileHttp(self.state, "traefik", c["traefik"]["url"]))
        info["traefik_good"] = await proxy.add_tcp(good)
        info["traefik_other"] = await proxy.add_tcp(other)

        info["closed_ports"] = [self._refusing_port() for _ in range(2)]
        info["closed_sockets"] = [self._refusing_unix(self.dir / f"dead-{i}.sock") for i in range(2)]
        info["silent_ports"] = [await self._silent(None) for _ in range(2)]
        info["silent_sockets"] = [await self._silent(self.dir / f"silent-{i}.sock") for i in range(2)]
        await self._start_ssh(c)
        return info

    async def _started(self, proxy: HostileHttp) -> HostileHttp:
        await proxy.start()
        self.closers.append(proxy.close)
        return proxy

    async def _silent(self, path: Path | None):
        """A listener that accepts and then says nothing (no TLS handshake, no SSH banner, no HTTP
        answer) until the client gives up: a host whose kernel answers while its daemon hangs."""
        async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while await reader.read(65536):
                    pass
            except OSError:
                pass
            writer.close()

        if path is None:
            server = await asyncio.start_server(hang, "127.0.0.1", 0)
        else:
            server = await asyncio.start_unix_server(hang, str(path))

        async def close() -> None:
            server.close()

        self.closers.append(close)
        return str(path) if path is not None else server.sockets[0].getsockname()[1]

    def _refusing_port(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        self.held.append(s)
        return s.getsockname()[1]

    def _refusing_unix(self, path: Path) -> str:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(path))
        self.held.append(s)
        return str(path)

    async def _start_ssh(self, c: dict) -> None:
        from console.sources.ceph import FAST_READS, SLOW_READS
        from console.sources.vrrp import IP_ADDR

        host_key = self.sim_dir / "ssh_host_ed25519_key"
        client_key = asyncssh.read_private_key(str(self.sim_dir / "id_ed25519"))
        host_pub = asyncssh.read_private_key(str(host_key)).export_public_key().decode().split()
        answers = Answers(self.dir / "answers")
        ceph_cmds = list(FAST_READS + SLOW_READS)
        dump = c["vrrp"]["dump"]
        if dump == "signal":
            raise RuntimeError("the fault bench fakes the dump helper; the sim's config uses dump = \"signal\"")
        ports = {alias: h["port"] for alias, h in c["ssh"]["hosts"].items()}
        answers.prepare("ceph", await self._capture(ports["pve1"], ceph_cmds), set(ceph_cmds))
        for fw in ("fw1", "fw2"):
            answers.prepare(fw, await self._capture(ports[fw], [dump, IP_ADDR]), {dump})

        fake_ports: dict[str, int] = {}
        for identity, layer in (("ceph", "ceph-ssh"), ("fw1", "vrrp"), ("fw2", "vrrp")):
            host = FakeSshHost(self.state, layer, identity, answers, host_key, client_key)
            fake_ports[identity] = await host.start()
            self.closers.append(host.close)
        stranger = FakeSshHost(self.state, "none", "ceph", answers, asyncssh.generate_private_key("ssh-ed25519"),
                               client_key)
        stranger_port = await stranger.start()
        self.closers.append(stranger.close)

        known_hosts = self.dir / "known_hosts"
        trusted = list(fake_ports.values()) + [stranger_port]  # the stranger claims a trusted address
        known_hosts.write_text(Path(c["ssh"]["known_hosts"]).read_text()
                               + "".join(f"[127.0.0.1]:{p} {host_pub[0]} {host_pub[1]}\n" for p in trusted))
        self.info.update(fake_ports=fake_ports, stranger_port=stranger_port, known_hosts=str(known_hosts))

    async def _capture(self, port: int, commands: list[str]) -> dict[str, tuple[int, str, str]]:
        async with asyncssh.connect("127.0.0.1", port, username="root", known_hosts=str(self.sim_dir / "known_hosts"),
                                    client_keys=[str(self.sim_dir / "id_ed25519")], agent_path=None,
                                    config=None, connect_timeout=10) as conn:
            out = {}
            for cmd in commands:
                r = await conn.run(cmd, check=False)
                if r.exit_status != 0:
                    raise RuntimeError(f"capturing `{cmd}` on the sim (port {port}) exited {r.exit_status}: {r.stderr}")
                out[cmd] = (0, r.stdout, r.stderr)
            return out

    async def close(self) -> None:
        for close in reversed(self.closers):
            try:
                await asyncio.wait_for(close(), 5)
            except Exception:  # noqa: BLE001 - teardown is best effort
                pass
        for s in self.held:
            s.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() != 1


async def main(directory: Path, sim_dir: Path, parent: int) -> int:
    server = BenchServer(directory, sim_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        info = await server.start()
        (directory / "bench.json").write_text(json.dumps(info, indent=1))
        (directory / "ready").write_text(f"{os.getpid()}\n")
        while not stop.is_set() and _alive(parent):
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
    finally:
        await server.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))))
