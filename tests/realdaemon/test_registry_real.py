"""Swarm image upgrades against a real dockerd swarm pulling from a real local registry.

scripts/docker-up.sh (LAB_DOCKER_PULL=1: tasks pull) + scripts/registry-up.sh
(Debian's docker-registry 2.8 on 127.0.0.1, images from busybox-static pushed
as lab/app:1, :2, :stable (= :1) and :crash, which exits at once). The service
"app" (2 replicas) is created the way `docker service create` does it: the
CLI resolves the tag through the manager and pins the digest; its tasks pull
from the registry (the images were removed from dockerd after the push).

Shown here: the registry client reads the real registry's digests; the
inventory says "up to date", then "newer digest available" after the tag is
re-pointed; the upgrade converges (start-first, the safe update_config in the
spec); the crashing image is rolled back by Swarm itself, and the console says
so with the spec it returned to; a 1-replica service upgrades stop-first.
Figures (seconds to converge, to see the rollback, to finish it) are printed.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from console.config_model import ClusterConfig, SwarmConfig
from console.ops import swarm_upgrade as su
from console.ops.swarm_images import CANNOT, NEWER, UP_TO_DATE, service_image_updates
from console.sources import Sources
from console.sources.registry import RegistryClient, RegistryError, parse_reference
from console.sources.swarm import SwarmSource
from tests.realdaemon.docker_harness import SCRIPTS, cannot_start, docker_up

pytestmark = pytest.mark.realdaemon

PORT = os.environ.get("LAB_REGISTRY_PORT", "5055")
REG = f"127.0.0.1:{PORT}"
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"


WHAT = "dockerd + docker-registry"


def _docker(env: dict, *args: str, check: bool = True) -> str:
    out = subprocess.run(["/usr/bin/docker", *args], env=env, capture_output=True, text=True, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def _wait_running(env: dict, service: str, want: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _docker(env, "service", "ls", "--filter", f"name={service}", "--format", "{{.Replicas}}") == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"{service} not {want}: {_docker(env, 'service', 'ps', service, check=False)}")


@pytest.fixture(scope="module")
def lab():
    base = Path(tempfile.mkdtemp(prefix="lcreg-", dir="/tmp"))
    env = dict(os.environ, LAB_DOCKER_DIR=str(base / "docker"), LAB_REGISTRY_DIR=str(base / "registry"),
               LAB_DOCKER_PULL="1", LAB_REGISTRY_PORT=PORT)
    try:
        docker_up(env, WHAT)
        env["DOCKER_HOST"] = f"unix://{base}/docker/docker.sock"
        reg = subprocess.run([str(SCRIPTS / "registry-up.sh")], env=env, capture_output=True, text=True, timeout=900)
        if reg.returncode != 0:
            cannot_start(WHAT, f"registry-up.sh exited {reg.returncode}: {reg.stderr.strip()[-1500:]}")
        t0 = time.monotonic()
        _docker(env, "service", "create", "-d", "--name", "app", "--replicas", "2", "--init",
                "--stop-grace-period", "1s", f"{REG}/lab/app:stable")
        _docker(env, "service", "create", "-d", "--name", "solo", "--replicas", "1", "--init",
                "--stop-grace-period", "1s", f"{REG}/lab/app:1")
        _wait_running(env, "app", "2/2")
        _wait_running(env, "solo", "1/1")
        print(f"\nfigure: app 2/2 + solo 1/1 running, pulled from the registry, in {time.monotonic() - t0:.1f} s")
        yield env
    finally:
        subprocess.run([str(SCRIPTS / "registry-down.sh")], env=env, capture_output=True, timeout=120)
        subprocess.run([str(SCRIPTS / "docker-down.sh")], env=env, capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def _sources(env: dict) -> Sources:
    cfg = SwarmConfig(managers=(env["DOCKER_HOST"],), timeout=10.0)
    return Sources(ClusterConfig("real", swarm=cfg), False, by_name={"swarm": SwarmSource(cfg, None)})


def _manifest(tag: str) -> requests.Response:
    res = requests.get(f"http://{REG}/v2/lab/app/manifests/{tag}", headers={"Accept": SCHEMA2}, timeout=5)
    res.raise_for_status()
    return res


async def _rows(sources: Sources) -> dict:
    return {r.service: r for r in await service_image_updates(await sources.get("swarm").fetch(), timeout=3.0)}


async def test_a_registry_client_reads_the_real_digests(lab):
    import hashlib

    client = RegistryClient(timeout=5.0)
    try:
        for tag in ("1", "2", "stable", "crash"):
            body = _manifest(tag)
            assert client.tag_digest(parse_reference(f"{REG}/lab/app:{tag}")) == \
                body.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body.content).hexdigest()
        assert sorted(client.tags(parse_reference(f"{REG}/lab/app"))) == ["1", "2", "crash", "stable"]
        with pytest.raises(RegistryError, match="tag not found"):
            client.tag_digest(parse_reference(f"{REG}/lab/app:nope"))
        with pytest.raises(RegistryError, match="repository not found"):
            client.tag_digest(parse_reference(f"{REG}/lab/nothing:1"))
        with pytest.raises(RegistryError, match="not reachable"):
            client.tag_digest(parse_reference("127.0.0.1:1/lab/app:1"))
    finally:
        client.close()
    pinned = _docker(lab, "service", "inspect", "app", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
    assert pinned == f"{REG}/lab/app:stable@{_manifest('stable').headers['Docker-Content-Digest']}"
    sources = _sources(lab)
    try:
        rows = await _rows(sources)
    finally:
        await sources.get("swarm").close()
    assert rows["app"].status == UP_TO_DATE and rows["app"].running == pinned.split("@")[1], rows["app"]
    # "web" (docker-up.sh) runs an unpinned local image named as on Docker Hub: never a blocker
    assert rows["web"].status == CANNOT and rows["web"].reason, rows["web"]


async def test_b_upgrade_to_a_repushed_tag_converges(lab):
    two = _manifest("2")
    put = requests.put(f"http://{REG}/v2/lab/app/manifests/stable", data=two.content,
                       headers={"Content-Type": SCHEMA2}, timeout=5)  # re-point :stable at :2's image
    assert put.status_code == 201, put.text
    new = two.headers["Docker-Content-Digest"]
    sources = _sources(lab)
    try:
        rows = await _rows(sources)
        assert rows["app"].status == NEWER and rows["app"].latest == new, rows["app"]
        lines: list[str] = []
        res = await su.upgrade(sources, "app", progress=lines.append, monitor=2.0, wait=120)
        assert res.ok and res.outcome == su.CONVERGED, (res.message, res.log)
        assert new[:19] in res.running and res.image.endswith(new)
        assert any("[new " in x and x.endswith("running") for x in res.tasks), res.tasks
        spec = (await sources.get("swarm").service_inspect("app"))["Spec"]["UpdateConfig"]
        assert spec["Parallelism"] == 1 and spec["Order"] == "start-first" and spec["FailureAction"] == "rollback"
        assert spec["Monitor"] == 2_000_000_000
        assert (await _rows(sources))["app"].status == UP_TO_DATE
        print(f"\nfigure: real upgrade app (2 replicas, start-first, monitor 2 s) converged in {res.converge_s:.1f} s")

        solo = await su.upgrade(sources, "solo", image=":2", monitor=1.0, wait=120)
        assert solo.ok and solo.outcome == su.CONVERGED, (solo.message, solo.log)
        assert (await sources.get("swarm").service_inspect("solo"))["Spec"]["UpdateConfig"]["Order"] == "stop-first"
        print(f"figure: real upgrade solo (1 replica, stop-first, monitor 1 s) converged in {solo.converge_s:.1f} s")
    finally:
        await sources.get("swarm").close()
    logs = _docker(lab, "service", "logs", "app")
    assert "app v2 started" in logs, logs


def test_c_crashing_image_is_rolled_back_by_swarm_headless(lab, tmp_path, capsys, monkeypatch):
    from console.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[clusters.real.swarm]\nmanagers = ["{lab["DOCKER_HOST"]}"]\n')
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    before = _docker(lab, "service", "inspect", "app", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
    code = main(["swarm", "upgrade", "app", ":crash", "--monitor", "2", "--wait", "120", "--yes", "--json",
                 "--config", str(config)])
    out, err = capsys.readouterr()
    res = json.loads(out)
    assert code == 2 and res["outcome"] == "rolled back" and "rolled back" in err, (out, err)
    assert res["returned_to"].startswith(f"{REG}/lab/app:stable ({before.split('@')[1][:19]})"), res
    assert any("non-zero exit" in x for x in res["tasks"]), res["tasks"]
    after = _docker(lab, "service", "inspect", "app", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
    assert after == before
    _wait_running(lab, "app", "2/2", timeout=30)
    print(f"\nfigure: real crash image: rollback seen {res['rollback_seen_s']:.1f} s, "
          f"rolled back {res['rollback_done_s']:.1f} s after the request (monitor 2 s)")
    log = [json.loads(x) for x in (tmp_path / "state" / "command-log.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in log] == ["swarm"] and "failure_action rollback" in log[0]["call"]
