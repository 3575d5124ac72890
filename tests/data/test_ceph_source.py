"""CephSource against the simulated lab: through the PVE API (HTTPS, pinned
fingerprint) and over SSH (the sim's asyncssh front with known_hosts), with
the sim's faults. The sim runs as a child process (tests/simlab.py)."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from console.config import load_config
from console.errors import ConsoleError, ReadOnlyError
from console.sources.ceph import CephSource
from console.sources.proxmox import ProxmoxSource
from console.ssh import SshPool
from tests.simlab import SimLab


@pytest.fixture(scope="module")
def lab():
    with SimLab("seed", speed=10.0) as lab:
        yield lab


@pytest.fixture
def cluster(lab):
    lab.clear()
    lab.wait_until(lambda s: all(n["status"] == "online" for n in s["nodes"].values()))
    yield load_config(lab.config_path).cluster()
    lab.clear()
    lab.wait_until(lambda s: all(n["status"] == "online" for n in s["nodes"].values()))


def _secret(lab) -> str:
    return (lab.dir / "token").read_text().strip()


async def _api_source(cluster, read_only=False) -> CephSource:
    return CephSource(cluster.ceph, ProxmoxSource(cluster.proxmox, read_only=read_only), None, read_only=read_only)


def _ssh_source(cluster, read_only=False) -> tuple[CephSource, SshPool]:
    pool = SshPool(cluster.ssh)
    cfg = dataclasses.replace(cluster.ceph, via="ssh")
    return CephSource(cfg, None, pool, read_only=read_only), pool


def _check_seed(state, lab) -> None:
    sim = lab.state()
    assert state.health == "HEALTH_OK"
    assert len(state.osds) == 3 and all(o.up and o.in_ for o in state.osds)
    assert {o.host for o in state.osds} == {"pve1", "pve2", "pve3"}
    assert state.num_pgs > 0 and state.clean_pgs == state.num_pgs
    assert len(state.quorum) == 3
    assert "noout" not in state.flags
    assert sim  # the control interface answered too


async def test_api_reads_the_seed_ceph(cluster, lab):
    lab.wait_until(_ceph_clean)
    src = await _api_source(cluster)
    _check_seed(await src.fetch(), lab)


async def test_ssh_reads_the_seed_ceph(cluster, lab):
    lab.wait_until(_ceph_clean)
    src, pool = _ssh_source(cluster)
    try:
        state = await src.fetch()
        _check_seed(state, lab)
        again = await src.fetch()  # same connection, slow facts cached
        assert again.osds == state.osds and len(pool._conns) == 1
    finally:
        await pool.close()


@pytest.mark.parametrize("via", ["api", "ssh"])
async def test_osd_down_is_reported_with_its_host(cluster, lab, via):
    if via == "api":
        src, pool = await _api_source(cluster), None
    else:
        src, pool = _ssh_source(cluster)
    try:
        lab.control("osd-down", 1)
        lab.wait_until(lambda s: "OSD_DOWN" in str(s))
        state = await src.fetch()
        down = [o for o in state.osds if not o.up]
        assert [(o.id, o.host) for o in down] == [(1, "pve2")]
        assert state.health in ("HEALTH_WARN", "HEALTH_ERR")
        assert any(c.code == "OSD_DOWN" for c in state.checks)
    finally:
        if pool:
            await pool.close()


@pytest.mark.parametrize("via", ["api", "ssh"])
async def test_set_and_clear_noout(cluster, lab, via):
    if via == "api":
        src, pool = await _api_source(cluster), None
    else:
        src, pool = _ssh_source(cluster)
    try:
        await src.set_flag("noout", True)
        state = await src.fetch()
        assert "noout" in state.flags and any(c.code == "OSDMAP_FLAGS" for c in state.checks)
        await src.set_flag("noout", False)
        assert "noout" not in (await src.fetch()).flags
    finally:
        if pool:
            await pool.close()


def _ceph_clean(s: dict) -> bool:
    return s["ceph"]["health"] == "HEALTH_OK" and set(s["ceph"]["pg_states"]) == {"active+clean"}


async def test_ok_to_stop_over_ssh_and_read_only(cluster, lab):
    lab.wait_until(_ceph_clean)  # an earlier test stopped an OSD: wait for recovery
    src, pool = _ssh_source(cluster, read_only=True)
    try:
        safe, info = await src.ok_to_stop("osd", [0])
        assert safe is True and isinstance(info, dict)
        unsafe, info = await src.ok_to_stop("osd", [0, 1])
        assert unsafe is False and isinstance(info, dict) and info.get("ok_to_stop") is False
        with pytest.raises(ReadOnlyError):
            await src.set_flag("noout", True)
        with pytest.raises(ConsoleError, match="unknown flag"):
            await src.set_flag("nonsense", True)
    finally:
        await pool.close()


async def test_ssh_fault_and_failover_across_hosts(cluster, lab, caplog):
    caplog.set_level(logging.DEBUG)
    src, pool = _ssh_source(cluster)
    try:
        lab.control("error-rate", "ceph", 1.0)
        with pytest.raises(ConsoleError) as err:
            await src.fetch()
        assert "ceph status" in str(err.value) and "exited 1" in str(err.value)
        lab.clear("error-rate")
        lab.control("node-down", "pve1")
        lab.wait_until(lambda s: s["nodes"]["pve1"]["status"] == "offline")
        state = await src.fetch()  # pve1's SSH does not answer: pve2 does
        assert state.num_osds == 3 and src.cfg.ssh_hosts[src._host_index] != "pve1"
    finally:
        await pool.close()
    assert _secret(lab) not in caplog.text


async def test_api_faults_are_clear_errors(cluster, lab, caplog):
    caplog.set_level(logging.DEBUG)
    src = await _api_source(cluster)
    lab.control("error-rate", "ceph", 1.0)
    with pytest.raises(ConsoleError) as err:
        await src.fetch()
    assert "500" in str(err.value) and "ceph/status" in str(err.value)
    lab.clear("error-rate")
    slow = dataclasses.replace(cluster.proxmox, timeout=0.5)
    lab.control("latency", "ceph", 2.0)
    # the 0.5 s budget (0.45 s of it) is shared by the 3 endpoints: the first try
    # gets half; whether the third is tried or skipped ("no time left") is timing
    with pytest.raises(ConsoleError, match=r"none of the 3 endpoints answered; first: no answer from "
                       r"https://\S+/cluster/ceph/status within 0\.[12] s"):
        await CephSource(cluster.ceph, ProxmoxSource(slow), None).fetch()
    assert _secret(lab) not in str(err.value) + caplog.text


async def test_ssh_pool_against_the_sim_front(cluster, lab):
    pool = SshPool(cluster.ssh)
    try:
        r = await pool.run("pve1", "hostname")
        assert r.exit_status == 0 and r.stdout.strip() == "pve1"
        rs = await pool.run_many("pve2", ["hostname", "definitely-not-a-command", "ceph health -f json"])
        assert rs[0].stdout.strip() == "pve2" and rs[1].exit_status == 127 and rs[2].exit_status == 0
        lines: list[str] = []
        assert await pool.stream("pve3", "ceph osd tree", lines.append, timeout=10) == 0 and lines
    finally:
        await pool.close()


async def test_sim_front_with_a_changed_host_key_is_refused(cluster, lab, tmp_path):
    host = cluster.ssh.host("pve1")
    bad = tmp_path / "known_hosts"
    bad.write_text(f"[127.0.0.1]:{host.port} ssh-ed25519 "
                   "AAAAC3NzaC1lZDI1NTE5AAAAIMr0QbKqq4m9dXo0X2lXH3m0i3kq0c1Qe3d2l0D7m0Qz\n")
    pool = SshPool(dataclasses.replace(cluster.ssh, known_hosts=bad))
    with pytest.raises(ConsoleError) as err:
        await pool.run("pve1", "true")
    assert f"127.0.0.1:{host.port}" in str(err.value) and "SHA256:" in str(err.value) and "CHANGED" in str(err.value)
    await pool.close()


async def test_api_bad_token_and_wrong_fingerprint(cluster, lab, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    bad = tmp_path / "bad-token"
    bad.write_text("wrong-secret\n")
    wrong_token = dataclasses.replace(cluster.proxmox,
                                      token_secret=dataclasses.replace(cluster.proxmox.token_secret, file=bad))
    with pytest.raises(ConsoleError) as err:
        await CephSource(cluster.ceph, ProxmoxSource(wrong_token), None).fetch()
    assert "401" in str(err.value) and "token" in str(err.value)
    pinned = dataclasses.replace(cluster.proxmox, tls=dataclasses.replace(cluster.proxmox.tls, fingerprint="ab" * 32))
    with pytest.raises(ConsoleError) as err2:
        await CephSource(cluster.ceph, ProxmoxSource(pinned), None).fetch()
    assert "pinned fingerprint" in str(err2.value) and "none of the 3 endpoints" in str(err2.value)
    secret = _secret(lab)
    assert secret not in str(err.value) + str(err2.value) + caplog.text and "wrong-secret" not in caplog.text
