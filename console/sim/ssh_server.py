"""The sim's SSH front: one asyncssh server per Proxmox node, per firewall VM and
per swarm node VM (the last for `docker exec -it` into a task's container).

Public-key auth only (an authorized_keys file), host key from a file, exec
requests only. A host that is down does not answer: new connections are closed
at once and open ones are closed when the node (or the firewall's VM) goes down,
so a client sees what OpenSSH reports as "Connection closed by remote host"
(exit 255). Commands run through the small shell in ssh_commands.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from pathlib import Path

import asyncssh

from console.sim.guest_shell import GUEST_COMMANDS, firewall_commands, guest_file, guest_kernel
from console.sim.ssh_cmd_common import COMMON_COMMANDS
from console.sim.ssh_cmd_fw import FW_COMMANDS, PID_PATH, TRACK_PATH
from console.sim.ssh_cmd_node import NODE_COMMANDS
from console.sim.ssh_commands import Io, Shell

WATCH_INTERVAL = 0.2  # real seconds between checks that the host is still up
FIREWALL_KERNEL = "6.1.0-27-amd64"


class SimHost:
    """What one SSH endpoint serves: a node or a firewall of the World, plus its files."""

    def __init__(self, world, kind: str, name: str):
        if kind not in ("node", "firewall", "swarm"):
            raise ValueError(f"kind must be 'node', 'firewall' or 'swarm', not {kind!r}")
        if kind == "node" and name not in world.nodes:
            raise ValueError(f"no node named {name!r} in the world")
        if kind == "firewall" and name not in world.firewalls:
            raise ValueError(f"no firewall named {name!r} in the world")
        if kind == "swarm" and not any(n.hostname == name for n in world.swarm_nodes.values()):
            raise ValueError(f"no swarm node named {name!r} in the world")  # h-operate2: `docker exec` into tasks
        self.world = world
        self.kind = kind
        self.name = name
        self.files: dict[str, str] = {}
        self.sudo_denied = False  # True: `sudo -n` answers "a password is required" (no NOPASSWD)
        # h-upgguest: a firewall's or a Swarm VM's shell also has the guest's apt/systemd (console/sim/guest_shell.py)
        vm = next((g for g in world.guests.values() if g.name == name), None) if kind == "swarm" else None
        self.guest_vmid = vm.vmid if vm is not None else None
        extra = {"node": NODE_COMMANDS, "firewall": firewall_commands(FW_COMMANDS),
                 "swarm": GUEST_COMMANDS if vm is not None else {}}.get(kind, {})
        self.commands = {**COMMON_COMMANDS, **extra}
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._last_tick = 0.0

    def maybe_tick(self) -> None:
        """Tick the world at most once per WATCH_INTERVAL for all of this host's watchers."""
        now = time.monotonic()
        if now - self._last_tick >= WATCH_INTERVAL:
            self._last_tick = now
            self.world.tick()

    def available(self) -> bool:
        w = self.world
        if self.kind == "node":
            return bool(w.node_online(self.name))
        if self.kind == "swarm":
            node = next(n for n in w.swarm_nodes.values() if n.hostname == self.name)
            return bool(w.swarm_node_ready(node.id))
        fw = w.firewalls[self.name]
        g = w.guests.get(fw.vmid)
        return g is None or bool(w.guest_available(g))

    def kernel(self) -> str:
        if self.kind == "firewall":
            return guest_kernel(self.world, self.world.firewalls[self.name].vmid)  # h-upgguest
        if self.guest_vmid is not None:
            return guest_kernel(self.world, self.guest_vmid)  # h-upgguest: a Swarm VM
        return self.world.nodes[self.name].kernel if self.kind == "node" else FIREWALL_KERNEL

    # files the shell sees ------------------------------------------------
    def read_file(self, path: str) -> str | None:
        if path == "/etc/hostname":
            return self.name + "\n"
        if self.kind == "firewall":
            fw = self.world.firewalls[self.name]
            if path == PID_PATH:
                return f"{fw.pid}\n" if fw.keepalived_running else None
            if path == TRACK_PATH:
                return self.files.get(TRACK_PATH, f"{fw.track_value}\n")
            return guest_file(self.world, fw.vmid, path, self.files)  # h-upgguest: os-release, reboot-required
        elif self.guest_vmid is not None:
            return guest_file(self.world, self.guest_vmid, path, self.files)  # h-upgguest: a Swarm VM
        elif (lock := self.world.pmxcfs.split(path)) is not None:
            return self.world.pmxcfs.read(*lock) if lock[1] else None
        return self.files.get(path)

    def can_write(self, path: str) -> bool:
        if self.kind == "node":
            lock = self.world.pmxcfs.split(path)
            return lock is not None and bool(lock[1]) and lock[0] in self.world.pmxcfs.dirs
        return self.kind == "firewall" and path == TRACK_PATH

    def write_special(self, path: str, data: str, append: bool) -> bool:
        if self.kind == "node" and (lock := self.world.pmxcfs.split(path)) is not None and lock[1]:
            return self.world.pmxcfs.write(*lock, data, append)  # False: no such lock (the shell says so)
        if not self.can_write(path):
            return False
        text = (self.files.get(path, "") if append else "") + data
        self.files[path] = text
        # keepalived reads the file as one integer; anything else counts as 0
        try:
            value = int(text.split()[0]) if text.split() else 0
        except ValueError:
            value = 0
        self.world.set_track_file(self.name, value)
        return True


class Session:
    """One SSH connection's view of its host (closed once the connection is gone)."""

    def __init__(self, host: SimHost):
        self.host = host
        self.closed = False
        self.drop_after_command = False
        self.user = "root"  # who logged in (ssh_privilege: what others may not do)

    def __getattr__(self, attr):
        return getattr(self.host, attr)


class _Server(asyncssh.SSHServer):
    def __init__(self, host: SimHost):
        self._host = host
        self._conn: asyncssh.SSHServerConnection | None = None
        self._watch: asyncio.Task | None = None
        self.session = Session(host)

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._host.world.tick()
        if not self._host.available():
            self.session.closed = True
            asyncio.get_running_loop().call_soon(conn.abort)
            return
        self._host.connections.add(conn)
        conn.set_extra_info(sim_session=self.session)
        self._watch = asyncio.get_running_loop().create_task(self._watch_host())

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.closed = True
        if self._conn is not None:
            self._host.connections.discard(self._conn)
        if self._watch is not None:
            self._watch.cancel()

    async def _watch_host(self) -> None:
        while not self.session.closed:
            await asyncio.sleep(WATCH_INTERVAL)
            self._host.maybe_tick()
            if not self._host.available():
                self.session.closed = True
                if self._conn is not None:
                    self._conn.close()
                return

    def begin_auth(self, username: str) -> bool:
        self.session.user = username
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False


def _writer(stream, session: Session):
    def write(text: str) -> None:
        if session.closed:
            return
        try:
            stream.write(text)
        except (OSError, asyncssh.Error):
            session.closed = True

    return write


async def _handle_process(host: SimHost, process: asyncssh.SSHServerProcess) -> None:
    conn = process.get_extra_info("connection")
    session: Session = conn.get_extra_info("sim_session") or Session(host)
    command = process.command
    if process.get_terminal_type() is not None:  # h-operate2: a pty was asked for (ssh -t), see ssh_interactive
        from console.sim.ssh_interactive import run_interactive, session_for

        found = session_for(host, command)
        if found is not None:
            banner, prompt, error = found
            if error:
                process.stderr.write(error)
                process.exit(255 if command is None else 2)
                return
            process.exit(await run_interactive(host, process, session, banner, prompt))
            return
    if command is None:
        process.stderr.write("This lab host accepts exec requests only (no interactive shell).\n")
        process.exit(1)
        return
    world = host.world
    world.tick()
    if session.closed or not host.available():
        session.closed = True
        conn.close()
        return
    delay = world.fault_delay("ssh")
    if delay:
        await asyncio.sleep(delay)
    if world.fault_error("ssh"):
        session.closed = True
        conn.abort()  # what a dropped link looks like to the client
        return
    shell = Shell(session, host.commands)
    io = Io(_writer(process.stdout, session), _writer(process.stderr, session))
    try:
        code = await shell.run(command, io)
    except asyncio.CancelledError:
        raise
    if session.closed:
        return
    try:
        process.exit(code)
    except (OSError, asyncssh.Error):
        return
    if session.drop_after_command:
        asyncio.get_running_loop().call_later(0.05, conn.close)


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the simulated lab binds to loopback only, not {host!r}")


async def start_ssh_server(
    world,
    host: str,
    port: int,
    kind: str,
    name: str,
    host_key_path: str | Path,
    authorized_keys_path: str | Path,
) -> asyncssh.SSHAcceptor:
    """Serve SSH for one node ("node", "pve1") or firewall ("firewall", "fw1") of the world."""
    _check_loopback(host)
    sim_host = SimHost(world, kind, name)

    async def process_factory(process: asyncssh.SSHServerProcess) -> None:
        await _handle_process(sim_host, process)

    acceptor = await asyncssh.create_server(
        lambda: _Server(sim_host),
        host,
        port,
        server_host_keys=[str(host_key_path)],
        authorized_client_keys=str(authorized_keys_path),
        process_factory=process_factory,
        encoding="utf-8",
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        line_editor=False,
        keepalive_interval=0,
    )
    return acceptor
