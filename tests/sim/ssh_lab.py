"""A seed World with its SSH front on loopback, for the SSH tests: generated host
and client keys, a known_hosts file, one server per node and firewall."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from console.sim.ssh_server import start_ssh_server
from console.sim.world import World

LOST = (asyncssh.Error, OSError, asyncio.IncompleteReadError, EOFError)


class Lab:
    def __init__(self, world: World, tmp_path):
        self.world = world
        self.dir = tmp_path
        self.ports: dict[str, int] = {}
        self.acceptors: list = []
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key_path = tmp_path / "host_ed25519"
        self.client_key_path = tmp_path / "client_ed25519"
        host_key.write_private_key(self.host_key_path)
        client_key.write_private_key(self.client_key_path)
        self.client_key_path.chmod(0o600)
        self.authorized = tmp_path / "authorized_keys"
        client_key.write_public_key(self.authorized)
        self.host_pub = host_key.export_public_key().decode().strip()
        self.known_hosts = tmp_path / "known_hosts"

    async def start(self, kind: str, name: str) -> int:
        acc = await start_ssh_server(self.world, "127.0.0.1", 0, kind, name, self.host_key_path, self.authorized)
        self.acceptors.append(acc)
        port = acc.get_port()
        self.ports[name] = port
        with self.known_hosts.open("a") as f:
            f.write(f"[127.0.0.1]:{port} {self.host_pub}\n")
        return port

    def connect(self, name: str, key=None):
        return asyncssh.connect(
            "127.0.0.1", self.ports[name], username="root", known_hosts=str(self.known_hosts),
            client_keys=[str(key or self.client_key_path)], agent_path=None, connect_timeout=10,
        )

    async def run(self, name: str, command: str):
        async with self.connect(name) as conn:
            return await conn.run(command)

    async def close(self):
        for acc in self.acceptors:
            acc.close()
            await acc.wait_closed()


@pytest.fixture
async def lab(tmp_path):
    lab = Lab(World("seed", speed=10), tmp_path)
    for n in ("pve1", "pve2", "pve3"):
        await lab.start("node", n)
    for f in ("fw1", "fw2"):
        await lab.start("firewall", f)
    yield lab
    await lab.close()


async def wait_for(pred, world: World, lab_seconds: float = 300.0):
    """Poll the world until pred() holds (bounded in lab time, not a timing assertion)."""
    for _ in range(int(lab_seconds / world.speed / 0.05) + 1):
        world.tick()
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")
