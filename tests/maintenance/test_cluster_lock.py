"""The maintenance lock on the cluster (/etc/pve/priv/lock over SSH) against the sim's
SSH servers: consoles reaching different nodes exclude each other; a holder that
stops refreshing loses it after pmxcfs's timeout; a live holder never does."""

from __future__ import annotations

import asyncio
import os

import pytest

from console.errors import ConsoleError
from console.maintenance.cluster_lock import LOCK_DIR, ClusterDirLock, parse_holder
from tests.sim import ssh_lab

lab = ssh_lab.lab  # the fixture: a seed World behind real SSH servers


class LabSsh:
    """What ClusterDirLock needs of MaintenanceServices.ssh: run(alias, command) over real SSH."""

    def __init__(self, lab, down: set[str] = frozenset()):
        self.lab, self.down = lab, set(down)
        self.sent: list[tuple[str, str]] = []

    async def run(self, alias, command, timeout=None, privileged=False):  # logs in as root: no sudo
        if alias in self.down:
            raise ConsoleError(f"ssh {alias}", "connection refused")
        self.sent.append((alias, command))
        return await self.lab.run(alias, command)


def lock(lab, nodes, **kw) -> ClusterDirLock:
    kw.setdefault("retry_pause", 0.01)
    return ClusterDirLock(LabSsh(lab), nodes, "demo", **kw)


async def test_two_consoles_on_different_nodes_exclude_each_other(lab):
    a = lock(lab, ["pve1", "pve2", "pve3"])
    b = lock(lab, ["pve2", "pve3", "pve1"])
    await a.acquire("run-a")
    with pytest.raises(ConsoleError) as refused:
        await b.acquire()
    text = str(refused.value)
    assert "already running" in text and f"pid {os.getpid()}" in text and "run run-a" in text
    assert not b.held
    await a.release()
    assert "labconsole-maintenance" not in lab.world.pmxcfs.dirs
    await b.acquire("run-b")
    assert (await a.holder()).run == "run-b"  # seen from pve1, written through pve2: one tree
    await b.release()


async def test_a_holder_that_stops_refreshing_loses_the_lock_after_the_timeout(lab):
    lab.world.pmxcfs.timeout = 1.5  # generous: a loaded machine may take a while between the two acquires
    dead = lock(lab, ["pve1"], refresh_every=3600)
    await dead.acquire("run-dead")
    dead._refresher.cancel()  # the console died: nobody touches the lock any more
    b = lock(lab, ["pve3"])
    with pytest.raises(ConsoleError):
        await b.acquire()  # still fresh: refused
    await asyncio.sleep(1.7)
    await b.acquire("run-b")  # the unlock request dropped the expired lock
    assert (await b.holder()).run == "run-b"
    await b.release()


async def test_a_live_holder_keeps_the_lock_past_the_timeout(lab):
    lab.world.pmxcfs.timeout = 1.5
    a = lock(lab, ["pve1"], refresh_every=0.1)
    await a.acquire("run-a")
    await asyncio.sleep(2.0)
    b = lock(lab, ["pve2"])
    with pytest.raises(ConsoleError, match="refreshed"):
        await b.acquire()
    await a.release()


async def test_a_node_that_does_not_answer_is_passed_by(lab):
    ssh = LabSsh(lab, down={"pve1"})
    a = ClusterDirLock(ssh, ["pve1", "pve2"], "demo", retry_pause=0.01)
    await a.acquire("r")
    assert {alias for alias, _ in ssh.sent} == {"pve2"}
    assert f"mkdir {LOCK_DIR}" in [c for _, c in ssh.sent]
    await a.release()
    with pytest.raises(ConsoleError, match="no node answered"):
        await ClusterDirLock(LabSsh(lab, down={"pve1", "pve2"}), ["pve1", "pve2"], "demo").acquire()


def test_holder_text_that_is_not_ours_is_read_safely():
    h = parse_holder('{"host": "\\u001b[31mevil", "user": "' + "x" * 500 + '", "pid": "no"}\n17\n20\n')
    assert "\x1b" not in h.describe() and h.pid is None and h.age == 3 and len(h.user) < 100
    assert parse_holder("garbage\n") is None


async def test_a_holder_that_died_on_this_machine_is_taken_over_at_once(lab):
    import json
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    await lab.run("pve1", f"mkdir {LOCK_DIR}")
    info = {"host": socket.gethostname(), "user": "me", "pid": gone.pid, "run": "killed-run", "started": 1.0}
    await lab.run("pve1", f"echo '{json.dumps(info)}' > {LOCK_DIR}/holder")
    b = lock(lab, ["pve2"])
    await b.acquire("run-b")  # no 120 s wait: the killed console's lock is broken
    assert (await b.holder()).run == "run-b"
    await b.release()
    info.update(host="another-machine")  # elsewhere: cannot tell it died; it must expire
    await lab.run("pve1", f"mkdir {LOCK_DIR}")
    await lab.run("pve1", f"echo '{json.dumps(info)}' > {LOCK_DIR}/holder")
    with pytest.raises(ConsoleError, match="me@another-machine"):
        await lock(lab, ["pve2"]).acquire()
