"""Swarm image upgrades and the image inventory against the simulated lab (its registry
stands in for Docker Hub): `labconsole swarm images|upgrade`, console/ops/swarm_upgrade.py,
console/ops/swarm_images.py.

The seed registry has one re-pushed tag (grafana: "newer digest available");
faults publish new digests (image-publish), images whose tasks crash
(image-crash) and private repositories (registry-private)."""

from __future__ import annotations

import asyncio
import re

from console.config import load_config
from console.ops.swarm_images import CANNOT, NEWER, UP_TO_DATE, service_image_updates
from console.sources import build_sources
from tests.ops.conftest import log_records


def _rows(cli) -> dict[str, dict]:
    code, rows = cli.json("swarm", "images")
    assert code == 0
    return {r["service"]: r for r in rows}


def _inspect(lab, service: str) -> dict:
    async def read() -> dict:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            return await sources.get("swarm").service_inspect(service)
        finally:
            await sources.close()

    return asyncio.run(read())


def test_upgrade_to_a_repushed_digest_converges_with_the_safe_update_config(cli, lab, state_dir):
    rows = _rows(cli)
    assert rows["grafana"]["status"] == NEWER and rows["grafana"]["running"] != rows["grafana"]["latest"]
    assert {r["status"] for name, r in rows.items() if name != "grafana"} == {UP_TO_DATE}
    latest = rows["grafana"]["latest"]
    lab.reset_availability()

    code, res = cli.json("swarm", "upgrade", "grafana", "--yes")
    assert code == 0 and res["outcome"] == "converged" and res["image"].endswith(latest), res
    assert "start-first" in res["sentence"] and res["converge_s"] > 0 and res["rollback_seen_s"] is None
    assert any("[new " in t and t.endswith("] running") for t in res["tasks"]), res["tasks"]
    assert any("[old " in t and t.endswith("] shutdown") for t in res["tasks"]), res["tasks"]
    cfg = (_inspect(lab, "grafana"))["Spec"]["UpdateConfig"]
    assert cfg == {**cfg, "Parallelism": 1, "Order": "start-first", "FailureAction": "rollback",
                   "Monitor": 5_000_000_000, "MaxFailureRatio": 0}
    assert _rows(cli)["grafana"]["status"] == UP_TO_DATE
    assert lab.availability()["service_degraded"].get("grafana", 0) == 0  # start-first: never below 2

    # a single replica goes stop-first
    lab.control("image-publish", "gitea/gitea:1.22.2")
    code, res = cli.json("swarm", "upgrade", "gitea", "--yes")
    assert code == 0 and res["outcome"] == "converged" and "stop-first" in res["sentence"], res
    assert (_inspect(lab, "gitea"))["Spec"]["UpdateConfig"]["Order"] == "stop-first"

    # rollback on demand names the spec it returns to: grafana's digest before the upgrade
    code, out, err = cli("swarm", "rollback", "grafana", stdin="n\n")
    assert code == 2 and f"to its previous spec: grafana/grafana:11.2.0 ({rows['grafana']['running'][:19]})" in err
    code, res = cli.json("swarm", "rollback", "grafana", "--yes")
    assert code == 0 and _rows(cli)["grafana"]["status"] == NEWER
    calls = [r["call"] for r in log_records(state_dir)]
    assert "failure_action rollback" in calls[0] and "stop-first" in calls[1] and "rollback=previous" in calls[2]


def test_crashing_image_is_rolled_back_by_swarm_and_reported(cli, lab):
    before = _rows(cli)["whoami"]["running"]
    lab.control("image-crash", "traefik/whoami:v1.10.5")
    lab.reset_availability()
    code, res = cli.json("swarm", "upgrade", "whoami", ":v1.10.5", "--yes")
    assert code == 2 and res["outcome"] == "rolled back" and not res["ok"], res
    assert res["returned_to"] == f"traefik/whoami:v1.10.3 ({before[:19]}), 2 replica(s)"
    # Swarm's reason when the console saw the rollback start, else the new task that failed
    assert re.search(r"update rolled back due to failure|a new task failed: whoami\.\d@swarm\d \[new sha256:\w+\] "
                     r"failed.*non-zero exit", res["message"]), res["message"]
    assert res["rollback_seen_s"] is not None
    assert any("failed" in t and "non-zero exit" in t for t in res["tasks"]), res["tasks"]
    assert (_inspect(lab, "whoami"))["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].endswith(before)
    av = lab.availability()
    assert av["services"].get("whoami", 0) == 0 and av["service_degraded"].get("whoami", 0) == 0, av
    assert _rows(cli)["whoami"]["status"] == UP_TO_DATE  # v1.10.3 itself did not change


def test_cannot_check_is_clear_and_never_blocks_the_other_rows(cli, lab):
    lab.control("registry-private", "vaultwarden/server")
    rows = _rows(cli)
    assert rows["vaultwarden"]["status"] == CANNOT and "private image" in rows["vaultwarden"]["reason"]
    assert "credentials" in rows["vaultwarden"]["text"] and rows["whoami"]["status"] == UP_TO_DATE
    asyncio.run(_registry_failures(lab))
    code, out, err = cli("swarm", "images")
    assert code == 0 and "cannot check" in out and "Traceback" not in out + err


async def _registry_failures(lab) -> None:
    sources = build_sources(load_config(lab.config_path).cluster(None))
    try:
        state = await sources.get("swarm").fetch()
        mirrors = dict(load_config(lab.config_path).cluster(None).swarm.registry_mirrors)
        from console.sim.registry_state import PASSWORD, USER

        with_creds = {r.service: r for r in await service_image_updates(
            state, mirrors=mirrors, credentials={"docker.io": (USER, PASSWORD)})}
        assert with_creds["vaultwarden"].status == UP_TO_DATE
        wrong = {r.service: r for r in await service_image_updates(
            state, mirrors=mirrors, credentials={"docker.io": (USER, "nope")})}
        assert "refused the credentials" in wrong["vaultwarden"].reason and wrong["gitea"].status == UP_TO_DATE
        gone = await service_image_updates(state, mirrors={"docker.io": "http://127.0.0.1:1"}, timeout=2.0)
        assert {r.status for r in gone} == {CANNOT} and all("not reachable" in r.reason for r in gone)
        lab.control("latency", "registry", 3.0)
        slow = await service_image_updates(state, mirrors=mirrors, timeout=0.5)
        assert {r.status for r in slow} == {CANNOT} and all("no answer within" in r.reason for r in slow), slow
        lab.clear("latency", "registry")
        lab.control("error-rate", "registry", 1.0)
        failing = await service_image_updates(state, mirrors=mirrors)
        assert all("HTTP 500" in r.reason for r in failing), failing
    finally:
        await sources.close()


def test_bad_input_is_refused_with_nothing_sent(cli, state_dir):
    for argv, words in ((("upgrade", "vanished"), "no service"), (("upgrade", "gitea"), "already runs the newest"),
                        (("upgrade", "gitea", ":2", "--image", ":3"), "two images"),
                        (("upgrade", "gitea", ":2", "--monitor", "0"), "out of range"),
                        (("upgrade", "gitea", "bad image"), "not an image reference"),
                        (("upgrade",), "needs a SERVICE")):
        code, out, err = cli("swarm", *argv, "--yes")
        assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    code, out, err = cli("--read-only", "swarm", "upgrade", "grafana", "--yes")
    assert code == 2 and "(read-only mode)" in err
    assert log_records(state_dir) == []


def test_an_upgrade_sent_before_a_restart_is_followed_to_its_end(lab):
    from console.ops import swarm_upgrade as su

    async def run() -> tuple:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            plan = await su.plan_upgrade(sources, "prometheus", ":v2.55.0")
            sent = await su.upgrade(sources, "prometheus", plan=plan, wait=0)  # the console "dies" here
            followed = await su.follow_upgrade(sources, "prometheus", plan.info.update_started, wait=60)
            return plan, sent, followed
        finally:
            await sources.close()

    lab.control("image-publish", "prom/prometheus:v2.55.0")
    plan, sent, followed = asyncio.run(run())
    assert plan.digest and sent.ok and sent.outcome == "" and sent.message == "requested"
    assert followed.outcome == "converged" and plan.digest[:19] in followed.running, followed.log


def test_a_manager_away_during_the_watch_is_waited_out(lab):
    """The watch reads through a failing Engine API (error-rate 1 for a while): Swarm carries on, the
    console says it cannot read, then reports the end; an update that never went out is not followed."""
    from console.ops import swarm_upgrade as su

    async def run() -> tuple:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        lines: list[str] = []
        try:
            plan = await su.plan_upgrade(sources, "uptime-kuma", ":1.23.15", monitor=60)  # 3 s real at speed 20
            nothing = await su.follow_upgrade(sources, "uptime-kuma", plan.info.update_started)
            await su.upgrade(sources, "uptime-kuma", plan=plan, wait=0)
            follow = asyncio.create_task(su.follow_upgrade(sources, "uptime-kuma", plan.info.update_started,
                                                           progress=lines.append, wait=60))
            while not lines:
                await asyncio.sleep(0.05)
            lab.control("error-rate", "docker", 1.0)
            await asyncio.sleep(1.0)
            lab.clear("error-rate", "docker")
            return nothing, await follow, lines
        finally:
            await sources.close()

    lab.control("image-publish", "louislam/uptime-kuma:1.23.15")
    nothing, followed, lines = asyncio.run(run())
    assert nothing.outcome == "not sent" and not nothing.ok
    assert any("cannot read the service now" in x for x in lines), lines
    assert followed.outcome == "converged", followed.log
