"""Tasks, the cluster log, the command log, read-only refusal and the global flags."""

from __future__ import annotations

import json

import pytest

from console.ops import command_log
from tests.ops.conftest import log_records

MUTATING = [
    ("start", "113"), ("shutdown", "112"), ("reboot", "112"), ("stop", "112"), ("migrate", "112", "pve3"),
    ("snapshot", "201", "x1"), ("rollback", "201", "weekly"), ("delete-snapshot", "201", "weekly"),
    ("backup", "112"), ("evacuate", "pve1"),
]


def test_every_write_is_refused_read_only_before_anything_is_sent(cli, state_dir):
    before = len(cli.tasks())
    for args in MUTATING:
        for where in ("after", "before"):
            argv = ["guest", *args, "--yes",
                    "--read-only"] if where == "after" else ["--read-only", "guest", *args, "--yes"]
            code, out, err = cli(*argv)
            assert code == 2 and "(read-only mode)" in err and err.count("\n") == 1, (args, err)
    assert len(cli.tasks()) == before and log_records(state_dir) == []
    code, _out, _err = cli("guest", "snapshots", "201", "--read-only")  # reads still work
    assert code == 0


def test_tasks_filter_and_log_follow(cli):
    code, res = cli.json("guest", "snapshot", "201", "t1", "--yes")
    assert code == 0
    rows = cli.tasks(type="vzsnapshot")
    assert [r["upid"] for r in rows] == [res["upid"]] and rows[0]["ok"] and rows[0]["node"] == "pve2"
    assert all(r["type"] == "vzdump" for r in cli.tasks(type="vzdump")) and len(cli.tasks(type="vzdump")) >= 3
    assert cli.tasks(node="pve3") and all(r["node"] == "pve3" for r in cli.tasks(node="pve3"))
    code, log = cli.json("tasks", "--log", res["upid"])
    assert code == 0 and log["status"] == "OK" and log["lines"][-1] == "TASK OK"
    code, _out, err = cli("tasks", "--log", "not-a-upid")
    assert code == 2 and "is not a task id" in err


def test_follow_a_running_task(capsys, monkeypatch):
    from tests.ops.conftest import Cli
    from tests.simlab import SimLab

    with SimLab("seed", speed=2.0) as slow:  # a backup takes 1.5 s here: long enough to catch it running
        _follow_a_running_task(Cli(slow, capsys, monkeypatch), slow)


def _follow_a_running_task(cli, lab):
    code, rows = cli.json("tasks", "--running")
    assert code == 0 and rows == []
    lab.control("backup-fail", "weekly-local")  # starts the weekly job now: a running vzdump task
    running = cli.tasks(running="")
    assert running and running[0]["type"] == "vzdump" and running[0]["running"]
    code, out, _err = cli("tasks", "--log", running[0]["upid"], "--follow")
    assert code == 2 and "INFO: starting new backup job: vzdump 12" in out and "TASK ERROR: job errors" in out
    code, rows = cli.json("tasks", "--errors")
    assert running[0]["upid"] in [r["upid"] for r in rows]


def test_cluster_log(cli):
    cli("guest", "reboot", "112", "--yes")
    code, rows = cli.json("tasks", "--cluster-log", "--limit", "10")
    assert code == 0 and len(rows) == 10
    assert any("qmreboot:112" in r["msg"] for r in rows)
    assert rows == sorted(rows, key=lambda r: -r["time"])


def test_command_log_records_calls_and_task_outcomes_without_secrets(cli, lab, state_dir):
    cli("guest", "snapshot", "201", "c1", "--yes")
    lab.control("guest-lock", "112")
    cli("guest", "snapshot", "112", "c2", "--yes")
    recs = log_records(state_dir)
    api = [r for r in recs if r["kind"] == "api"]
    tasks = [r for r in recs if r["kind"] == "task"]
    assert [r["target"] for r in api] == ["201", "112"] and all(r["ok"] for r in api)
    assert [r["ok"] for r in tasks] == [True, False] and "VM is locked (backup)" in tasks[1]["result"]
    assert all(r["duration"] >= 0 and r["time"] > 0 for r in recs)
    from console.config import load_config

    secret = load_config(lab.config_path).cluster(None).proxmox.token_secret.read()
    text = (state_dir / "command-log.jsonl").read_text()
    assert len(secret) > 8 and secret not in text
    code, rows = cli.json("log")
    assert code == 0 and rows == recs
    code, out, _ = cli("log")
    assert "snapshot lxc/201 as c1" in out and "FAILED" in out


def test_the_command_log_names_the_cluster_and_shows_the_current_clusters(cli, lab, state_dir):
    cli("guest", "snapshot", "201", "k1", "--yes")
    command_log.append(command_log.Record(1.0, "api", "POST nodes/x/qemu/9/status/start", "9", "start 9",
                                          cluster="elsewhere"))
    recs = log_records(state_dir)
    assert {r["cluster"] for r in recs} == {"demo", "elsewhere"}
    code, rows = cli.json("log")  # the configured (default) cluster's changes
    assert code == 0 and rows and {r["cluster"] for r in rows} == {"demo"}
    code, rows = cli.json("log", "--all-clusters")
    assert code == 0 and {r["cluster"] for r in rows} == {"demo", "elsewhere"}
    code, _out, err = cli("log", "--cluster", "nope")
    assert code == 2 and "nope" in err


def test_global_flags_before_or_after_the_subcommand(cli, lab):
    from console.cli import main

    for argv in (["--config", str(lab.config_path), "guests", "--json"],
                 ["guests", "--json", "--config", str(lab.config_path), "--cluster", "demo"]):
        assert main(argv) == 0
        assert json.loads(cli.capsys.readouterr().out)[0]["vmid"] == 101
    assert main(["guests", "--config", str(lab.config_path), "--cluster", "nope"]) == 2
    assert "nope" in cli.capsys.readouterr().err


def test_command_log_is_bounded_rotated_and_scrubbed(state_dir, monkeypatch):
    monkeypatch.setattr(command_log, "MAX_BYTES", 2000)
    for i in range(40):
        command_log.append(command_log.Record(1.0 + i, "ssh", f"ssh pve1: echo password=hunter2 \x1b[31m{i}",
                                              "pve1", "x" * 500))
    current = state_dir / command_log.FILE
    old = state_dir / command_log.OLD
    assert current.stat().st_size <= 2000 and old.exists() and old.stat().st_size <= 2000
    text = current.read_text() + old.read_text()
    assert "hunter2" not in text and "\x1b" not in text and "password=***" in text
    rows = command_log.read()
    assert rows[-1]["call"].endswith("39") and len(rows) < 40
    assert all(r["action"].endswith("… (500 chars)") and len(r["action"]) < 320 for r in rows)  # inert.cap


async def test_maintenance_and_actions_writes_land_in_the_command_log(state_dir):
    """The hooks in files others own: the maintenance journal wrapper and Actions' sources."""
    from console.maintenance.remote_calls import JournaledSsh

    class Pool:
        async def run(self, alias, command, **kw):
            return "done"

    class Swarm:
        read_only = False

        async def node_availability(self, node, availability):
            return None

        async def service_logs(self, service, tail=200, timestamps=True):
            return ["line"]

    ssh = JournaledSsh(Pool())
    await ssh.run("pve1", "apt-get -y dist-upgrade")
    await ssh.run("pve1", "uname -r")  # a read: not recorded
    from console.actions import Actions
    from console.sources import Sources

    class Cluster:
        name = "demo"

    actions = Actions(Sources(Cluster(), False, by_name={"swarm": Swarm()}))
    await actions.node_availability("swarm1", "drain")
    await actions.service_logs("web")
    recs = command_log.read()
    assert [(r["kind"], r["target"]) for r in recs] == [("ssh", "pve1"), ("swarm", "swarm1")]
    assert recs[0]["call"] == "ssh pve1: apt-get -y dist-upgrade"


async def test_the_command_log_is_written_off_the_event_loop_before_the_block_is_left(state_dir, monkeypatch):
    """A recorded call's line (success or failure) and a followed task's outcome are written in a
    worker thread (not on the loop), and are in the file as soon as the call returns."""
    import threading

    writers: list[int] = []
    real = command_log.append

    def append(rec, directory=None):
        writers.append(threading.get_ident())
        real(rec, directory)

    monkeypatch.setattr(command_log, "append", append)
    async with command_log.recorded("api", "POST nodes/pve1/qemu/112/status/start", "112") as rec:
        rec.result = "UPID:pve1:1"
    assert [r["result"] for r in command_log.read()] == ["ok: UPID:pve1:1"]
    with pytest.raises(ValueError):
        async with command_log.recorded("api", "POST nodes/pve1/qemu/113/status/start", "113"):
            raise ValueError("refused by the node")
    assert [r["ok"] for r in command_log.read()] == [True, False]
    from console.ops.common import ActionResult, _record_outcome

    await _record_outcome(ActionResult("start", "112", "Start VM 112", ok=True, upid="UPID:pve1:1", exitstatus="OK"))
    assert command_log.read()[-1]["kind"] == "task"  # a followed task's outcome: written the same way
    assert len(writers) == 3 and threading.get_ident() not in writers


@pytest.mark.parametrize("bad", ["", "a", "1a", "a b", "ä-x", "current"])
def test_snapshot_name_check(bad):
    from console.errors import ConsoleError
    from console.ops.snapshots import check_name

    with pytest.raises(ConsoleError):
        check_name(bad)
    check_name("before-upgrade_2")
