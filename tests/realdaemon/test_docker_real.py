"""The Swarm source against a real dockerd in swarm mode (issue 3, item 6a).

scripts/docker-up.sh starts a private dockerd on its own unix socket, inits a
one-node swarm on 127.0.0.1 and creates the service "web" (2 replicas of an
imported busybox image); scripts/docker-down.sh stops it by PID. Under CI=true
a dockerd that cannot start fails the run instead of skipping. An sshd on
loopback (LAB_DOCKER_SSH_PORT) lets one test reach the Engine socket as the
console reaches a remote manager: ssh://ALIAS and an asyncssh-forwarded socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from console.config_model import SshConfig, SshHost, SwarmConfig
from console.errors import ConsoleError, ReadOnlyError
from console.sources.swarm import SwarmSource
from console.ssh import SshPool

pytestmark = pytest.mark.realdaemon

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def _cannot_start(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"dockerd in swarm mode could not start under CI: {reason}")
    pytest.skip(f"dockerd in swarm mode could not start: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def docker_lab():
    # short path: unix socket paths are limited to 108 bytes
    lab = Path(tempfile.mkdtemp(prefix="lcdock-", dir="/tmp"))
    port = _free_port()
    env = dict(os.environ, LAB_DOCKER_DIR=str(lab), LAB_DOCKER_SSH_PORT=str(port))
    try:
        if os.geteuid() != 0:
            _cannot_start("needs root (dockerd)")
        try:
            up = subprocess.run([str(SCRIPTS / "docker-up.sh")], env=env, capture_output=True, text=True,
                                timeout=900)
        except subprocess.TimeoutExpired:
            _cannot_start("docker-up.sh did not finish within 900 s")
        if up.returncode != 0:
            _cannot_start(f"docker-up.sh exited {up.returncode}: {up.stderr.strip()[-1500:]}")
        yield SimpleNamespace(endpoint=f"unix://{lab}/docker.sock", dir=lab, ssh_port=port)
    finally:
        subprocess.run([str(SCRIPTS / "docker-down.sh")], env=env, capture_output=True, timeout=120)


def _source(endpoint: str, *managers: str, read_only: bool = False) -> SwarmSource:
    return SwarmSource(SwarmConfig(managers=(*managers, endpoint), timeout=10.0), None, read_only=read_only)


async def _until(source: SwarmSource, pred, what: str, tries: int = 120):
    """Poll until pred(state) holds (bounded by tries, not a clock assertion)."""
    state = None
    for _ in range(tries):
        state = await source.fetch()
        if pred(state):
            return state
        await asyncio.sleep(0.5)
    web = _web(state)
    pytest.fail(f"never saw {what}; last: nodes={[(n.hostname, n.availability, n.state) for n in state.nodes]} "
                f"web={web} tasks={[(t.state, t.desired_state, t.error) for t in state.tasks]}")


def _web(state):
    return next((s for s in state.services if s.name == "web"), None)


async def test_lists_nodes_services_and_tasks(docker_lab):
    source = _source(docker_lab.endpoint)
    try:
        state = await _until(source, lambda s: _web(s) and _web(s).replicas_running == 2, "web 2/2")
    finally:
        await source.close()
    (node,) = state.nodes
    assert (node.role, node.availability, node.state, node.leader) == ("manager", "active", "ready", True)
    assert node.engine_version and node.version > 0
    web = _web(state)
    assert (web.mode, web.replicas_desired, web.image) == ("replicated", 2, "lab/busybox:1")
    running = [t for t in state.tasks if t.service_id == web.id and t.state == "running"]
    assert sorted(t.slot for t in running) == [1, 2]
    assert all(t.node_name == node.hostname and t.node_id == node.id for t in running)
    assert state.manager == docker_lab.endpoint


async def test_fails_over_to_the_next_manager(docker_lab, tmp_path):
    dead = f"unix://{tmp_path}/no-such-docker.sock"
    source = _source(docker_lab.endpoint, dead)
    try:
        state = await source.fetch()
    finally:
        await source.close()
    assert state.manager == docker_lab.endpoint and _web(state) is not None


async def test_manager_behind_ssh_through_a_forwarded_socket(docker_lab, tmp_path):
    lab, port = docker_lab.dir, docker_lab.ssh_port
    key = lab / "ssh" / "client_ed25519"
    pool = SshPool(SshConfig(known_hosts=lab / "ssh" / "known_hosts", keys=(key,), agent=False, connect_timeout=10,
                             hosts=(SshHost("dockerhost", "127.0.0.1", port, "root", (key,)),)))
    dead = f"unix://{tmp_path}/gone.sock"
    source = SwarmSource(SwarmConfig(managers=(dead, "ssh://dockerhost"), remote_socket=str(lab / "docker.sock"),
                                     timeout=10.0), pool)
    try:
        state = await source.fetch()
        again = await source.fetch()  # the forward and the client are reused
    finally:
        await source.close()
        await pool.close()
    assert state.manager == "ssh://dockerhost" and again.manager == "ssh://dockerhost"
    assert _web(state) is not None and len(state.nodes) == 1


async def test_all_managers_down_is_one_clear_error(tmp_path):
    source = SwarmSource(SwarmConfig(managers=(f"unix://{tmp_path}/a.sock", f"unix://{tmp_path}/b.sock"),
                                     timeout=2.0), None)
    with pytest.raises(ConsoleError) as err:
        await source.fetch()
    assert "a.sock" in str(err.value) and "b.sock" in str(err.value)


async def test_service_logs(docker_lab):
    source = _source(docker_lab.endpoint)
    try:
        lines = await source.service_logs("web", tail=10)
    finally:
        await source.close()
    assert sum("web task started" in line for line in lines) == 2


async def test_drain_and_reactivate_node(docker_lab):
    source = _source(docker_lab.endpoint)
    try:
        node = (await source.fetch()).nodes[0]
        await source.node_availability(node.hostname, "drain")
        drained = await _until(source, lambda s: s.nodes[0].availability == "drain" and _web(s).replicas_running == 0,
                               "the node drained and web's tasks stopped")
        assert all(t.desired_state == "shutdown" for t in drained.tasks if t.state == "shutdown")
        assert await source.tasks_on_node(node.id) and all(
            t.node_name == node.hostname for t in await source.tasks_on_node(node.hostname))
        await source.node_availability(node.id, "active")
        await _until(source, lambda s: s.nodes[0].availability == "active" and _web(s).replicas_running == 2,
                     "the node active again and web back at 2/2")
    finally:
        await source.close()


async def test_update_then_roll_back(docker_lab):
    source = _source(docker_lab.endpoint)
    try:
        await source.service_update("web", image="lab/busybox:2")
        updated = await _until(source, lambda s: _web(s).update_state == "completed"
                               and _web(s).replicas_running == 2, "the update completed")
        assert _web(updated).image == "lab/busybox:2"
        await source.service_rollback("web")
        rolled = await _until(source, lambda s: _web(s).update_state == "rollback_completed"
                              and _web(s).replicas_running == 2, "the rollback completed")
        assert _web(rolled).image == "lab/busybox:1"
        await source.service_update("web", replicas=3)
        await _until(source, lambda s: _web(s).replicas_desired == 3 and _web(s).replicas_running == 3, "web 3/3")
    finally:
        await source.close()


async def test_writes_refused_when_read_only(docker_lab):
    source = _source(docker_lab.endpoint, read_only=True)
    try:
        with pytest.raises(ReadOnlyError):
            await source.node_availability("anything", "drain")
        with pytest.raises(ReadOnlyError):
            await source.service_rollback("web")
        assert _web(await source.fetch()) is not None  # reads still work
    finally:
        await source.close()


async def test_unknown_service_and_bad_availability_are_clear(docker_lab):
    source = _source(docker_lab.endpoint)
    try:
        with pytest.raises(ConsoleError) as err:
            await source.service_update("no-such-service", force=True)
        assert "no-such-service" in str(err.value) and "404" in str(err.value), str(err.value)
        with pytest.raises(ConsoleError) as err:
            await source.node_availability("whatever", "sideways")
        assert "sideways" in str(err.value)
    finally:
        await source.close()
