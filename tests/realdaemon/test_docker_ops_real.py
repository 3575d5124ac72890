"""Swarm operations (console/ops/swarm.py, `labconsole swarm ...`) against a real
dockerd in swarm mode: scale, image update by tag, rollback naming what it
returns to, force update, availability, the followed log stream with its
task@node prefix, and bad input refused with nothing sent.

Uses the harness of test_docker_real.py (scripts/docker-up.sh / docker-down.sh,
service "web": 2 replicas of lab/busybox:1, lab/busybox:2 tagged too).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from console.config_model import ClusterConfig, SwarmConfig
from console.errors import ConsoleError
from console.ops import swarm as sw
from console.sources import Sources
from console.sources.swarm import SwarmSource
from tests.realdaemon.docker_harness import SCRIPTS, docker_up

pytestmark = pytest.mark.realdaemon


@pytest.fixture(scope="module")
def docker_lab():
    lab = Path(tempfile.mkdtemp(prefix="lcdops-", dir="/tmp"))
    env = dict(os.environ, LAB_DOCKER_DIR=str(lab))
    try:
        docker_up(env)
        yield lab
    finally:
        subprocess.run([str(SCRIPTS / "docker-down.sh")], env=env, capture_output=True, timeout=120)


def _sources(lab: Path, read_only: bool = False) -> Sources:
    cfg = SwarmConfig(managers=(f"unix://{lab}/docker.sock",), timeout=10.0)
    cluster = ClusterConfig("real", swarm=cfg, read_only=read_only)
    return Sources(cluster, read_only, by_name={"swarm": SwarmSource(cfg, None, read_only=read_only)})


async def _close(sources: Sources) -> None:
    await sources.get("swarm").close()


async def test_scale_update_rollback_force_and_availability(docker_lab):
    sources = _sources(docker_lab)
    try:
        res = await sw.scale(sources, "web", 3, wait=120)
        assert res.ok and "done: 3/3 running" in res.message, res.message
        res = await sw.update_image(sources, "web", ":2", wait=120)  # a tag: same repository
        assert res.ok and "to lab/busybox:2" in res.sentence, (res.message, res.log)
        info = await sw.find_service(sources, "web")
        assert info.spec.image == "lab/busybox:2" and info.previous and info.previous.image == "lab/busybox:1"
        assert "to its previous spec: lab/busybox:1, 3 replica(s)" in sw.rollback_sentence(info)
        res = await sw.rollback(sources, "web", wait=120, info=info)
        assert res.ok, (res.message, res.log)
        assert (await sw.find_service(sources, "web")).spec.image == "lab/busybox:1"
        before = {t.id for t in (await sources.get("swarm").fetch()).tasks if t.desired_state == "running"}
        res = await sw.force_update(sources, "web", wait=120)
        assert res.ok, (res.message, res.log)
        after = {t.id for t in (await sources.get("swarm").fetch()).tasks if t.desired_state == "running"}
        assert after and not (after & before), "force update recreates every task"
        node = (await sources.get("swarm").fetch()).nodes[0].hostname
        assert (await sw.set_availability(sources, node, "pause")).ok
        assert (await sources.get("swarm").fetch()).nodes[0].availability == "pause"
        assert (await sw.set_availability(sources, node, "active")).ok
    finally:
        await _close(sources)


async def test_bad_input_and_read_only_send_nothing(docker_lab):
    sources = _sources(docker_lab)
    try:
        version = (await sw.find_service(sources, "web")).version
        for call, words in ((sw.scale(sources, "web", -1), "below 0"), (sw.scale(sources, "web", "abc"), "whole"),
                            (sw.scale(sources, "vanished", 2), "no service 'vanished'"),
                            (sw.update_image(sources, "web", "bad image"), "not an image reference")):
            with pytest.raises(ConsoleError, match=words):
                await call
        assert (await sw.find_service(sources, "web")).version == version
    finally:
        await _close(sources)
    ro = _sources(docker_lab, read_only=True)
    try:
        with pytest.raises(ConsoleError, match="read-only"):
            await sw.scale(ro, "web", 2)
    finally:
        await _close(ro)


async def test_log_stream_follows_with_task_at_node(docker_lab):
    sources = _sources(docker_lab)
    lines: list[str] = []
    stop = asyncio.Event()
    try:
        stream = asyncio.create_task(sw.stream_logs(sources, "web", lines.append, stop, tail=10))
        for _ in range(100):
            if lines:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)
        assert not stream.done(), "a followed stream stays open while the service runs"
        stop.set()
        await asyncio.wait_for(stream, 10)  # and ends promptly when told to
    finally:
        await _close(sources)
    started = [x for x in lines if "web task started" in x]
    assert started and all(re.match(r"^\S+ web\.\d+@\S+ \| web task started$", x) for x in started), lines


def test_headless_swarm_commands(docker_lab, tmp_path, capsys, monkeypatch):
    from console.cli import main

    config = tmp_path / "config.toml"
    config.write_text(f'[clusters.real.swarm]\nmanagers = ["unix://{docker_lab}/docker.sock"]\n')
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["swarm", "scale", "web", "-1", "--config", str(config)]) == 2
    assert "below 0" in capsys.readouterr().err
    assert main(["swarm", "scale", "web", "2", "--yes", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    log = [json.loads(x) for x in (tmp_path / "state" / "command-log.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in log] == ["swarm"] and log[0]["ok"]
