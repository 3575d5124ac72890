"""`labconsole swarm ...` against the simulated lab: scale, image update, force update,
rollback (only with a previous spec, naming what it returns to), availability, the
log stream with its task@node prefix, bad input refused with nothing sent."""

from __future__ import annotations

import asyncio
import re

from console.config import load_config
from console.ops import swarm as sw
from console.sources import build_sources
from tests.ops.conftest import log_records


def _service(cli, name: str) -> dict:
    code, data = cli.json("swarm", "services")
    assert code == 0
    return next(s for s in data["services"] if s["name"] == name)


def test_bad_input_is_one_line_exit_2_and_nothing_is_sent(cli, state_dir):
    before = _service(cli, "gitea")
    for argv, words in ((("scale", "gitea", "-1"), "below 0"), (("scale", "gitea", "abc"), "not a whole number"),
                        (("scale", "gitea", "2.5"), "not a whole number"), (("scale", "vanished", "2"), "no service"),
                        (("update", "gitea", "bad image"), "not an image reference"),
                        (("rollback", "gitea"), "no previous spec"), (("availability", "swarm1", "off"), "not one of"),
                        (("availability", "nosuchnode", "drain"), "no swarm node"), (("scale", "gitea"), "needs a")):
        code, out, err = cli("swarm", *argv, "--yes")
        assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    after = _service(cli, "gitea")
    assert after["version"] == before["version"] and after["replicas_desired"] == before["replicas_desired"]
    assert log_records(state_dir) == []  # nothing was sent, so nothing was recorded


def test_scale_update_rollback_and_force_update(cli, state_dir):
    code, res = cli.json("swarm", "scale", "gitea", "3", "--yes")
    assert code == 0 and res["ok"] and "from 1 to 3" in res["sentence"], res
    assert _service(cli, "gitea")["replicas_running"] == 3

    code, res = cli.json("swarm", "update", "whoami", ":v1.10.4", "--yes")  # a tag keeps the repository
    assert code == 0 and res["ok"] and "to traefik/whoami:v1.10.4" in res["sentence"]
    svc = _service(cli, "whoami")
    assert svc["image"].startswith("traefik/whoami:v1.10.4") and svc["update_state"] == "completed"

    # the question names what the rollback returns to; "n" leaves everything as it is
    code, out, err = cli("swarm", "rollback", "whoami", stdin="n\n")
    assert code == 2 and "to its previous spec: traefik/whoami:v1.10.3 (sha256:" in err and "cancelled" in err
    code, res = cli.json("swarm", "rollback", "whoami", "--yes")
    assert code == 0 and res["ok"]
    assert _service(cli, "whoami")["image"].startswith("traefik/whoami:v1.10.3")

    version = _service(cli, "grafana")["version"]
    code, res = cli.json("swarm", "force-update", "grafana", "--yes")
    assert code == 0 and res["ok"] and "recreate its tasks" in res["sentence"]
    assert _service(cli, "grafana")["version"] > version

    calls = [r["call"] for r in log_records(state_dir) if r["kind"] == "swarm"]
    assert len(calls) == 4 and "rollback=previous" in calls[2] and "ForceUpdate" in calls[3]
    assert all(r["ok"] for r in log_records(state_dir))


def test_availability_and_read_only(cli, state_dir):
    code, out, err = cli("swarm", "availability", "swarm3", "drain", "--yes")
    assert code == 0 and "Set swarm node swarm3 to drain" in out, err
    code, data = cli.json("swarm", "services")
    assert next(n for n in data["nodes"] if n["hostname"] == "swarm3")["availability"] == "drain"
    code, out, err = cli("swarm", "availability", "swarm3", "active", "--yes")
    assert code == 0
    n = len(log_records(state_dir))
    for argv in (("scale", "gitea", "2"), ("rollback", "gitea"), ("force-update", "gitea"),
                 ("availability", "swarm3", "pause"), ("update", "gitea", ":2")):
        code, out, err = cli("--read-only", "swarm", *argv, "--yes")
        assert code == 2 and "(read-only mode)" in err, argv
    assert len(log_records(state_dir)) == n
    code, out, err = cli("swarm", "logs", "gitea", "--tail", "2", "--read-only")  # reads still work
    assert code == 0


async def test_logs_stream_as_the_engine_pushes_them_with_task_at_node(lab):
    sources = build_sources(load_config(lab.config_path).cluster(None))
    lines: list[str] = []
    stop = asyncio.Event()
    try:
        task = asyncio.create_task(sw.stream_logs(sources, "whoami", lines.append, stop, tail=2))
        await asyncio.sleep(4.0)  # the sim writes a line per service every few lab seconds (speed 20)
        stop.set()
        await asyncio.wait_for(task, 5)  # stopping ends the stream promptly
    finally:
        await sources.close()
    assert len(lines) > 2, "no line arrived after the tail: the stream did not follow"
    prefix = re.compile(r"^\d{4}-\d\d-\d\dT\S+ whoami\.\d+@swarm\d \| ")
    assert all(prefix.match(line) for line in lines), lines[:3]


def test_format_log_line_names_the_task():
    names = {"t1": "web.2@swarm3"}
    raw = ("2026-01-01T00:00:00.000Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,"
           "com.docker.swarm.task.id=t1 hello | world")
    assert sw.format_log_line(raw, names) == "2026-01-01T00:00:00.000Z web.2@swarm3 | hello | world"
    assert sw.format_log_line("plain line", names) == "plain line"


def test_with_tag_and_checks():
    spec = sw.ServiceSpec("registry:5000/team/app:1.0", "sha256:" + "a" * 64, "replicated", 2)
    assert sw.with_tag(spec, ":1.1") == "registry:5000/team/app:1.1"
    assert sw.with_tag(spec, "1.1") == "registry:5000/team/app:1.1"
    assert sw.with_tag(spec, "other/img:2") == "other/img:2"
    assert "sha256:aaaaaaaaaaaa" in spec.words
    assert sw.parse_replicas(" 4 ") == 4
