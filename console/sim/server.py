"""Start the whole simulated lab: the World, its protocol fronts, the control API, the config.

Order: keys -> servers (each on a loopback socket it binds itself, port 0) ->
known_hosts -> config.toml -> sim.json -> ready (last, once everything listens).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import time
from pathlib import Path

import tomli_w
from aiohttp import web

from console.sim.control import make_control_app
from console.sim.keys import SimKeys, make_keys, write_known_hosts
from console.sim.world import World

TICK_SECONDS = 0.1
PARENT_POLL_SECONDS = 0.5


def _log(msg: str) -> None:
    try:
        print(f"console.sim: {msg}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed with a dead parent: keep going, stay silent
        pass


def _bind(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _front(module: str, attr: str):
    """A protocol front, or None while its module does not exist yet."""
    try:
        mod = importlib.import_module(f"console.sim.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"console.sim.{module}":
            return None
        raise
    return getattr(mod, attr, None)


def _call(fn, **kwargs):
    """Call fn with the keyword arguments it accepts (fronts may not take all)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(**kwargs)
    return fn(**{k: v for k, v in kwargs.items() if k in params})


class SimServer:
    def __init__(self, scenario: str, directory: Path, speed: float, host: str = "127.0.0.1",
                 parent_pid: int | None = None,
                 token_lacks: tuple[str, ...] = ()):
        self.scenario = scenario
        self.token_lacks = tuple(token_lacks)  # PVE privileges the sim's token does not have
        self.dir = directory.resolve()
        self.speed = speed
        self.host = host
        self.parent_pid = parent_pid
        self.world: World | None = None
        self.keys: SimKeys | None = None
        self._runners: list[web.AppRunner] = []
        self._acceptors: list = []
        self._sockets: list[Path] = []
        self._tasks: list[asyncio.Task] = []
        self.ports: dict = {"pve": {}, "ssh": {}}
        self.docker_sockets: dict[str, str] = {}
        self.missing: list[str] = []
        self.stop_event = asyncio.Event()
        self.parent_gone = False

    async def _serve(self, app: web.Application, sock: socket.socket | None = None, path: Path | None = None,
                     ssl_ctx=None) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        if path is not None:
            if path.exists() or path.is_symlink():
                path.unlink()
            site = web.UnixSite(runner, str(path))
            await site.start()
            os.chmod(path, 0o600)
            self._sockets.append(path)
            return 0
        site = web.SockSite(runner, sock, ssl_context=ssl_ctx)
        await site.start()
        return sock.getsockname()[1]

    async def start(self) -> None:
        t0 = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in ("ready", "sim.json"):
            (self.dir / stale).unlink(missing_ok=True)
        self.world = world = World(self.scenario, speed=self.speed)
        self.keys = keys = make_keys(self.dir)

        self.ports["control"] = await self._serve(make_control_app(world), _bind(self.host))

        make_pve = _front("pve_api", "make_pve_app")
        if make_pve is None:
            self.missing.append("pve_api")
        else:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(keys.cert, keys.key)
            for node in world.nodes:
                app = _call(make_pve, world=world, node_name=node, token_secret=keys.token_secret,
                            token_lacks=self.token_lacks)
                self.ports["pve"][node] = await self._serve(app, _bind(self.host), ssl_ctx=ctx)

        make_docker = _front("docker_api", "make_docker_app")
        if make_docker is None:
            self.missing.append("docker_api")
        else:
            for sn in world.swarm_nodes.values():
                if sn.role != "manager":
                    continue
                path = self.dir / f"docker-{sn.hostname}.sock"
                await self._serve(_call(make_docker, world=world, manager_hostname=sn.hostname), path=path)
                self.docker_sockets[sn.hostname] = str(path)

        make_registry = _front("registry_api", "make_registry_app")  # h-swarmimg: images for the Swarm services
        if make_registry is not None and world.services:
            from console.sim.registry_state import seed_registry

            seed_registry(world)
            sock = _bind(self.host)
            url = f"http://{self._url_host()}:{sock.getsockname()[1]}"
            self.ports["registry"] = await self._serve(make_registry(world, url), sock)

        make_traefik = _front("traefik_api", "make_traefik_app")
        if make_traefik is None:
            self.missing.append("traefik_api")
        else:
            self.ports["traefik"] = await self._serve(_call(make_traefik, world=world), _bind(self.host))

        start_ssh = _front("ssh_server", "start_ssh_server")
        if start_ssh is None:
            self.missing.append("ssh_server")
        else:
            targets = [("node", n) for n in world.nodes] + [("firewall", f) for f in world.firewalls]
            targets += [("swarm", n.hostname) for n in world.swarm_nodes.values()]  # h-operate2: docker exec
            for kind, name in targets:
                acceptor = await start_ssh(world, self.host, 0, kind, name, str(keys.host_key),
                                           str(keys.authorized_keys))
                self._acceptors.append(acceptor)
                port = acceptor.get_port()
                self.ports["ssh"][name] = port
                if kind == "node":
                    world.nodes[name].ssh_port = port
                elif kind == "firewall":
                    world.firewalls[name].ssh_port = port
        if self.missing:
            _log(f"fronts not available yet: {', '.join(self.missing)} (their layers are left out of config.toml)")

        write_known_hosts(self.dir / "known_hosts", keys.host_pub, sorted(self.ports["ssh"].values()))
        (self.dir / "config.toml").write_text(tomli_w.dumps(self.config()))
        control_url = f"http://{self._url_host()}:{self.ports['control']}"
        info = {"pid": os.getpid(), "control_url": control_url, "ports": self.ports,
                "docker_sockets": self.docker_sockets,
                "scenario": self.scenario, "speed": self.speed, "missing": self.missing}
        (self.dir / "sim.json").write_text(json.dumps(info, indent=2))
        self._tasks.append(asyncio.create_task(self._ticker()))
        if self.parent_pid:
            self._tasks.append(asyncio.create_task(self._watch_parent()))
        (self.dir / "ready").write_text(f"{os.getpid()}\n")
        _log(f"{self.scenario} lab ready in {time.monotonic() - t0:.2f}s: control {control_url}, dir {self.dir}")

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def config(self) -> dict:
        world, keys = self.world, self.keys
        cluster: dict = {"color": "cyan", "read_only": False, "interval": 2.0, "timeout": 5.0}
        if self.ports["pve"]:
            cluster["proxmox"] = {
                "endpoints": [f"https://{self._url_host()}:{p}" for p in self.ports["pve"].values()],
                "token_id": world.token_id,
                "token_secret_file": str(keys.token_file),
                "verify_tls": True,
                "fingerprint": keys.fingerprint,
            }
        hosts = {name: {"address": self.host, "port": port} for name, port in self.ports["ssh"].items()}
        cluster["ssh"] = {"user": "root", "known_hosts": str(self.dir / "known_hosts"), "keys": [str(keys.client_key)],
                          "agent": False, "port": 22, "connect_timeout": 5.0, "hosts": hosts}
        if self.ports["pve"] or self.ports["ssh"]:
            cluster["ceph"] = {"via": "api", "ssh_hosts": list(world.nodes)}
        if self.docker_sockets:
            cluster["swarm"] = {
                "managers": [f"unix://{p}" for p in self.docker_sockets.values()],
                "remote_socket": "/var/run/docker.sock",
                "node_vms": {sn.hostname: world._guest_by_name[sn.hostname].vmid for sn in world.swarm_nodes.values()
                             if sn.hostname in world._guest_by_name},
            }
            if "registry" in self.ports:  # the sim's registry stands in for Docker Hub
                cluster["swarm"]["registry_mirrors"] = {"docker.io": f"http://{self._url_host()}:"
                                                                     f"{self.ports['registry']}"}
        if "traefik" in self.ports:
            cluster["traefik"] = {"url": f"http://{self._url_host()}:{self.ports['traefik']}", "verify_tls": True}
        if self.ports["ssh"] and world.firewalls:
            cluster["vrrp"] = {
                "preferred_master": "fw1",
                "dump": "ka-state",
                "pidfile": "/run/keepalived.pid",
                "json_file": "/tmp/keepalived.json",
                "firewalls": [{"name": f.name, "ssh_host": f.name, "vmid": f.vmid} for f in world.firewalls.values()],
            }
            groups = {f.sync_group: [i.iname for i in f.vrrp_instances()]
                      for f in world.firewalls.values() if f.sync_group}
            if groups:  # keepalived's JSON dump does not name sync groups: the config does
                cluster["vrrp"]["sync_groups"] = groups
        cluster["maintenance"] = {"reboot_timeout": 600.0, "migrate_timeout": 600.0, "root_dataset": "auto"}
        return {"default_cluster": world.cluster_name, "log": {"level": "info"},
                "clusters": {world.cluster_name: cluster}}

    async def _ticker(self) -> None:
        while True:
            try:
                self.world.tick()
            except Exception as exc:  # a bug in a state machine must not kill the lab
                _log(f"tick failed: {type(exc).__name__}: {exc}")
            await asyncio.sleep(TICK_SECONDS)

    def _parent_alive(self) -> bool:
        if os.getppid() != self.parent_pid and os.getppid() == 1:
            return False  # re-parented to init: our parent is gone
        try:
            os.kill(self.parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    async def _watch_parent(self) -> None:
        while True:
            if not self._parent_alive():
                self.parent_gone = True
                self.stop_event.set()
                _log(f"parent process {self.parent_pid} is gone: stopping")
                return
            await asyncio.sleep(PARENT_POLL_SECONDS)

    async def close(self) -> None:
        (self.dir / "ready").unlink(missing_ok=True)
        for t in self._tasks:
            t.cancel()
        for acc in self._acceptors:
            acc.close()
        for runner in self._runners:
            try:
                async with asyncio.timeout(2.0):
                    await runner.cleanup()
            except (TimeoutError, Exception) as exc:  # never hang on shutdown
                _log(f"cleanup: {type(exc).__name__}")
        for path in self._sockets:
            path.unlink(missing_ok=True)


async def run(scenario: str, directory: Path, speed: float, host: str, parent_pid: int | None,
              remove_dir_on_exit: bool = False, token_lacks: tuple[str, ...] = ()) -> int:
    server = SimServer(scenario, directory, speed, host, parent_pid, token_lacks)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop_event.set)
    if parent_pid and not _pid_exists(parent_pid):
        _log(f"parent process {parent_pid} does not exist")
        if remove_dir_on_exit:
            shutil.rmtree(directory, ignore_errors=True)
        return 1
    try:
        await server.start()
        await server.stop_event.wait()
    finally:
        await server.close()
        if remove_dir_on_exit and server.parent_gone:
            _log(f"removing {server.dir}")
            shutil.rmtree(server.dir, ignore_errors=True)
    return 0


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
