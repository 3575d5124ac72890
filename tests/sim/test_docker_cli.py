"""The real `docker` command-line client against the simulated manager socket.

Runs every docker CLI found (Debian's docker.io in /usr/bin and a newer one
in /usr/local/bin): they negotiate different API versions (1.41 and 1.45).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from console.sim.docker_api import make_docker_app
from console.sim.world import World

_spec = importlib.util.spec_from_file_location("sim_thread_server", Path(__file__).with_name("sim_thread_server.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
ThreadedServer = _mod.ThreadedServer

CANDIDATES = ["/usr/bin/docker", "/usr/local/bin/docker"]
FOUND = [p for p in CANDIDATES if os.access(p, os.X_OK)]
if not FOUND and shutil.which("docker"):
    FOUND = [shutil.which("docker")]


def _require_cli():
    if FOUND:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("no docker CLI found (apt-get install docker.io); CI must run the CLI conformance tests")
    pytest.skip("no docker CLI installed (apt-get install docker.io) to test the sim against")


@pytest.fixture(params=FOUND or ["missing"], ids=lambda p: p.replace("/", "_").strip("_"))
def cli(request, tmp_path):
    _require_cli()
    world = World("seed", speed=10, manual_clock=True)
    sock = str(tmp_path / "docker-swarm1.sock")
    with ThreadedServer(lambda: make_docker_app(world, "swarm1"), unix_path=sock) as server:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DOCKER_HOST": f"unix://{sock}",
               "DOCKER_CONFIG": str(tmp_path / ".docker")}

        def run(*args, ok=True):
            proc = subprocess.run([request.param, *args], env=env, capture_output=True, text=True, timeout=60)
            if ok:
                assert proc.returncode == 0, f"docker {' '.join(args)} failed: {proc.stderr}"
            return proc

        yield run, world, server


def _by_host(world):
    return {n.hostname: n for n in world.swarm_nodes.values()}


def test_node_ls_lists_managers_with_leader_and_self(cli):
    run, world, server = cli
    out = run("node", "ls").stdout.splitlines()
    assert out[0].split()[:3] == ["ID", "HOSTNAME", "STATUS"]
    rows = {line.split()[1] if line.split()[1] != "*" else line.split()[2]: line for line in out[1:]}
    nodes = server.call(_by_host, world)
    assert set(rows) == set(nodes)
    assert " * " in rows["swarm1"]
    leader = next(h for h, n in nodes.items() if n.leader)
    assert "Leader" in rows[leader]
    for host, node in nodes.items():
        assert node.id in rows[host] and "Ready" in rows[host] and node.engine_version in rows[host]


def test_node_inspect_and_update_availability(cli):
    run, world, server = cli
    inspected = json.loads(run("node", "inspect", "swarm2").stdout)
    swarm2 = server.call(lambda: _by_host(world)["swarm2"])
    assert inspected[0]["ID"] == swarm2.id and inspected[0]["Description"]["Hostname"] == "swarm2"
    assert run("node", "update", "--availability", "drain", "swarm2").stdout.strip() == "swarm2"
    assert server.call(lambda: swarm2.availability) == "drain"
    assert "Drain" in next(ln for ln in run("node", "ls").stdout.splitlines() if "swarm2" in ln)
    run("node", "update", "--availability", "active", swarm2.id[:10])
    assert server.call(lambda: swarm2.availability) == "active"
    missing = run("node", "inspect", "nope", ok=False)
    # the daemon's 404 "node nope not found"; CLI 20.10 words a 404 as "No such node: nope"
    assert missing.returncode != 0
    assert "node nope not found" in missing.stderr or "No such node: nope" in missing.stderr


def _replicated(world):
    return sorted((s for s in world.services.values() if s.mode == "replicated"), key=lambda s: s.name)


def test_service_ls_shows_names_and_replicas(cli):
    run, world, server = cli
    rows = {line.split()[1]: line.split() for line in run("service", "ls").stdout.splitlines()[1:]}
    expected = server.call(lambda: {s.name: (s.mode, world.service_running_tasks(s.id), s.replicas, s.image)
                                    for s in world.services.values()})
    assert set(rows) == set(expected)
    for name, (mode, running, replicas, image) in expected.items():
        assert rows[name][2] == mode
        if mode == "replicated":
            assert rows[name][3] == f"{running}/{replicas}"
        assert image in rows[name]


def test_service_ps_and_inspect(cli):
    run, world, server = cli
    svc = server.call(lambda: _replicated(world)[0])
    lines = run("service", "ps", "--no-trunc", svc.name).stdout.splitlines()[1:]
    tasks = server.call(lambda: [t for t in world.tasks.values() if t.service_id == svc.id])
    assert len(lines) == len(tasks)
    hosts = {n.id: n.hostname for n in world.swarm_nodes.values()}
    for t in tasks:
        line = next(ln for ln in lines if t.id in ln)
        assert f"{svc.name}.{t.slot}" in line and t.image in line and hosts[t.node_id] in line
        if t.state == "running":  # the sim clock starts at the real time: no "Running 2 years ago"
            assert "Running" in line and "years" not in line and "months" not in line
    inspected = json.loads(run("service", "inspect", svc.name).stdout)[0]
    assert inspected["ID"] == svc.id and inspected["Spec"]["Name"] == svc.name
    assert inspected["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == svc.image


def test_service_logs_prefixes_task_and_node(cli):
    run, world, server = cli
    svc = server.call(lambda: _replicated(world)[0])
    out = run("service", "logs", "--tail", "4", svc.name).stdout.splitlines()
    assert 0 < len(out) <= 4 * max(1, svc.replicas)
    hosts = {n.hostname for n in world.swarm_nodes.values()}
    for line in out:
        prefix, _, message = line.partition("|")
        name, _, host = prefix.strip().partition("@")
        assert name.startswith(f"{svc.name}.") and host in hosts and message.strip()


def test_service_rollback_restores_previous_image(cli):
    run, world, server = cli
    svc = server.call(lambda: _replicated(world)[0])
    old_image = svc.image
    run("service", "update", "--detach", "--image", old_image + "-rc1", svc.name)
    assert server.call(lambda: svc.image) == old_image + "-rc1"
    server.call(world.advance, 120)
    out = run("service", "rollback", "--detach", svc.name)
    assert svc.name in out.stdout
    assert server.call(lambda: svc.image) == old_image
    server.call(world.advance, 120)
    state = json.loads(run("service", "inspect", "--format", "{{json .UpdateStatus}}", svc.name).stdout)
    assert state["State"] == "rollback_completed"


@pytest.mark.slow
@pytest.mark.parametrize("binary", FOUND or ["missing"])
def test_service_rollback_waits_for_convergence_like_on_a_real_swarm(binary, tmp_path):
    """Without --detach the CLI polls services/tasks/nodes until the rollback converged (~5 s monitor)."""
    _require_cli()
    world = World("seed", speed=50)
    sock = str(tmp_path / "docker-swarm1.sock")
    with ThreadedServer(lambda: make_docker_app(world, "swarm1"), unix_path=sock) as server:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DOCKER_HOST": f"unix://{sock}"}
        svc = server.call(lambda: _replicated(world)[0])
        old_image = svc.image
        for args in (["service", "update", "--image", old_image + "-rc1", svc.name], ["service", "rollback", svc.name]):
            proc = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=90)
            assert proc.returncode == 0, proc.stderr
        assert "converged" in proc.stdout + proc.stderr
        assert server.call(lambda: (svc.image, svc.update_status["State"])) == (old_image, "rollback_completed")
