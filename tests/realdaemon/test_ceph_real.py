"""The Ceph source over SSH against a real Ceph mini cluster (issue 3, item 6c).

scripts/ceph-up.sh starts 1 mon + 1 mgr + 3 memstore OSDs (hosts node1..node3,
pool rbd size 3 / min_size 2) and scripts/ceph-sshd.sh an sshd on loopback
whose sessions run the ceph CLI against it; scripts/ceph-down.sh stops all of
it by PID. Under CI=true a cluster that cannot start fails the run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from console.config_model import CephConfig, SshConfig, SshHost
from console.errors import ReadOnlyError
from console.sources.ceph import CephSource
from console.ssh import SshPool

pytestmark = pytest.mark.realdaemon

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cannot_start(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"real Ceph cluster could not start under CI: {reason}")
    pytest.skip(f"real Ceph cluster could not start: {reason}")


@pytest.fixture(scope="module")
def ceph_lab():
    lab = Path(tempfile.mkdtemp(prefix="labconsole-ceph-"))
    env = dict(os.environ, CEPH_LAB_DIR=str(lab), CEPH_SSH_PORT=str(_free_port()), CEPH_LAB_TIMEOUT="180")
    try:
        up = subprocess.run([str(SCRIPTS / "ceph-up.sh")], env=env, capture_output=True, text=True, timeout=900)
        if up.returncode != 0:
            _cannot_start(f"ceph-up.sh exited {up.returncode}: {up.stderr.strip()[-1500:]}")
        sshd = subprocess.run([str(SCRIPTS / "ceph-sshd.sh")], env=env, capture_output=True, text=True, timeout=120)
        if sshd.returncode != 0:
            _cannot_start(f"ceph-sshd.sh exited {sshd.returncode}: {sshd.stderr.strip()[-1500:]}")
        info = dict(line.split("=", 1) for line in sshd.stdout.split() if "=" in line)
        yield lab, info
    finally:
        subprocess.run([str(SCRIPTS / "ceph-down.sh")], env=env, capture_output=True, timeout=120)


def _source(info: dict, read_only: bool = False) -> tuple[CephSource, SshPool]:
    key = Path(info["SSH_KEY"])
    ssh = SshPool(SshConfig(known_hosts=Path(info["SSH_KNOWN_HOSTS"]), agent=False, connect_timeout=10,
                            hosts=(SshHost("ceph1", "127.0.0.1", int(info["SSH_PORT"]), info["SSH_USER"], (key,)),)))
    return CephSource(CephConfig(via="ssh", ssh_hosts=("ceph1",), timeout=30), None, ssh, read_only=read_only), ssh


async def _until(source: CephSource, pred, what: str, tries: int = 120):
    """Poll until pred(state) holds (bounded by tries, not by a clock assertion)."""
    state = None
    for _ in range(tries):
        state = await source.fetch()
        if pred(state):
            return state
        await asyncio.sleep(0.5)
    pytest.fail(f"never saw {what}; last state: health={state.health} checks={[c.code for c in state.checks]} "
                f"osds={[(o.id, o.up, o.in_) for o in state.osds]} pgs={state.pg_states}")


async def test_reads_health_osd_tree_and_pg_states(ceph_lab):
    _, info = ceph_lab
    source, ssh = _source(info)
    try:
        s = await source.fetch()
        for _ in range(60):  # a pool the mgr creates late (.mgr) may still be peering on a loaded machine
            if s.num_pgs and s.clean_pgs == s.num_pgs:
                break
            await asyncio.sleep(1)
            s = await source.fetch()
        assert s.health == "HEALTH_OK"
        assert [(o.id, o.host, o.up, o.in_) for o in s.osds] == [
            (0, "node1", True, True), (1, "node2", True, True), (2, "node3", True, True)]
        assert s.num_osds == s.num_up_osds == s.num_in_osds == 3
        assert s.num_pgs > 0 and s.clean_pgs == s.num_pgs
        assert all(o.size == 1 << 30 and o.pgs > 0 for o in s.osds)
        assert s.mons == ("a",) and s.quorum == ("a",)
        assert s.mgr_available and s.mgr_active == "x"
        rbd = next(p for p in s.pools if p.name == "rbd")
        assert (rbd.size, rbd.min_size) == (3, 2)
        assert "noout" not in s.flags
    finally:
        await ssh.close()


async def test_set_and_clear_noout(ceph_lab):
    _, info = ceph_lab
    source, ssh = _source(info)
    ro, ro_ssh = _source(info, read_only=True)
    try:
        with pytest.raises(ReadOnlyError):
            await ro.set_flag("noout", True)
        await source.set_flag("noout", True)
        s = await _until(source, lambda s: "noout" in s.flags, "noout set")
        flags_check = next(c for c in s.checks if c.code == "OSDMAP_FLAGS")
        assert "noout" in flags_check.summary and s.health == "HEALTH_WARN"
        await source.set_flag("noout", False)
        s = await _until(source, lambda s: "noout" not in s.flags and s.health == "HEALTH_OK", "noout cleared")
        assert all(c.code != "OSDMAP_FLAGS" for c in s.checks)
    finally:
        await source.set_flag("noout", False)
        await ssh.close()
        await ro_ssh.close()


async def test_ok_to_stop_safe_and_unsafe(ceph_lab):
    _, info = ceph_lab
    source, ssh = _source(info, read_only=True)  # ok-to-stop only reads
    try:
        safe, info1 = await source.ok_to_stop("osd", [0])
        assert safe is True and info1["ok_to_stop"] is True and info1["osds"] == [0]
        unsafe, info2 = await source.ok_to_stop("osd", [0, 1])  # exit 16, JSON still parsed
        assert unsafe is False and info2["ok_to_stop"] is False and info2["num_not_ok_pgs"] > 0
        mon_safe, text = await source.ok_to_stop("mon", ["a"])  # the only mon
        assert mon_safe is False and "EBUSY" in text
    finally:
        await ssh.close()


async def test_stopped_osd_is_reported_down_with_its_host(ceph_lab):
    lab, info = ceph_lab
    source, ssh = _source(info)
    pid = int((lab / "pids.osd.2").read_text())
    try:
        os.kill(pid, 15)
        s = await _until(source, lambda s: any(o.id == 2 and not o.up for o in s.osds), "osd.2 down")
        osd2 = next(o for o in s.osds if o.id == 2)
        assert osd2.host == "node3" and not osd2.up
        assert [o.id for o in s.osds if o.up] == [0, 1]
        s = await _until(source, lambda s: any(c.code == "OSD_DOWN" for c in s.checks), "OSD_DOWN check")
        down = next(c for c in s.checks if c.code == "OSD_DOWN")
        assert any("osd.2" in line and "node3" in line for line in down.detail), down.detail
        assert s.health == "HEALTH_WARN"
    finally:
        await ssh.close()
