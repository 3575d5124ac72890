"""The VRRP source against two real keepalived + sshd pairs (issue 3, item 6b).

scripts/keepalived-up.sh starts namespaces fw1/fw2 with keepalived (VRRPv3,
advert_int 0.2 s, priorities 150/100) and an sshd each, reachable on
two free loopback ports; scripts/keepalived-down.sh stops everything by PID.
SSH goes through console.ssh with strict known_hosts checking. Under CI=true
a lab that cannot start fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import asyncssh
import pytest

from console.config_model import FirewallConfig, SshConfig, SshHost, VrrpConfig
from console.errors import ConsoleError
from console.poller import Poller
from console.sources.vrrp import VrrpSource
from console.ssh import SshPool

pytestmark = pytest.mark.realdaemon

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VIP = "10.99.0.100/24"
INTERVAL = 2.0


def _cannot_start(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"keepalived+sshd lab could not start under CI: {reason}")
    pytest.skip(f"keepalived+sshd lab could not start: {reason}")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def ka_lab():
    lab = Path(tempfile.mkdtemp(prefix="labconsole-ka-"))
    p1, p2 = _free_ports(2)
    env = dict(os.environ, LAB_KA_DIR=str(lab), LAB_KA_PORT1=str(p1), LAB_KA_PORT2=str(p2))
    try:
        if os.geteuid() != 0:
            _cannot_start("needs root (network namespaces, keepalived)")
        try:
            up = subprocess.run([str(SCRIPTS / "keepalived-up.sh")], env=env, capture_output=True, text=True,
                                timeout=900)
        except subprocess.TimeoutExpired:
            _cannot_start("keepalived-up.sh did not finish within 900 s")
        if up.returncode != 0:
            _cannot_start(f"keepalived-up.sh exited {up.returncode}: {up.stderr.strip()[-1500:]}")
        yield SimpleNamespace(dir=lab, ports={"fw1": p1, "fw2": p2})
    finally:
        subprocess.run([str(SCRIPTS / "keepalived-down.sh")], env=env, capture_output=True, timeout=120)


def _ssh_config(lab, known_hosts: Path | None = None) -> SshConfig:
    key = lab.dir / "ssh" / "client_ed25519"
    return SshConfig(user="root", known_hosts=known_hosts or lab.dir / "ssh" / "known_hosts", keys=(key,),
                     agent=False, connect_timeout=10,
                     hosts=tuple(SshHost(fw, "127.0.0.1", port, "root", (key,)) for fw, port in lab.ports.items()))


def _vrrp_config(**kw) -> VrrpConfig:
    fws = (FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2"))
    return VrrpConfig(**{"firewalls": fws, "preferred_master": "fw1", "dump": "ka-state", "timeout": 10.0, **kw})


def _instance(state, name):
    fw = next(f for f in state.firewalls if f.name == name)
    return fw, (fw.instances[0] if fw.instances else None)


async def test_reads_master_and_backup_over_ssh(ka_lab):
    pool = SshPool(_ssh_config(ka_lab))
    try:
        state = await VrrpSource(_vrrp_config(), pool).fetch()
    finally:
        await pool.close()
    fw1, i1 = _instance(state, "fw1")
    fw2, i2 = _instance(state, "fw2")
    assert fw1.answering and fw2.answering, (fw1.error, fw2.error)
    assert (i1.name, i1.vrid, i1.state, i1.base_priority, i1.effective_priority) == ("VI_1", 51, "MASTER", 150, 150)
    assert (i2.state, i2.base_priority) == ("BACKUP", 100)
    assert i1.vips == (VIP,) and i2.vips == (VIP,)
    assert i1.master_transitions >= 1 and i1.last_transition is not None
    # the `ip -j addr` cross-check: the VIP is on the master only
    assert VIP in fw1.addresses and VIP not in fw2.addresses
    assert "10.99.0.1/24" in fw1.addresses and "10.99.0.2/24" in fw2.addresses


async def test_signal_mode_reads_the_json_file(ka_lab):
    """dump = "signal": kill -s $(keepalived --signum=JSON) + read the file keepalived writes."""
    pool = SshPool(_ssh_config(ka_lab))
    cfg = VrrpConfig(firewalls=(FirewallConfig("fw2", "fw2"),), dump="signal", timeout=10.0,
                     pidfile=str(ka_lab.dir / "fw2" / "ka.pid"),
                     json_file=str(ka_lab.dir / "fw2" / "keepalived.json"))
    try:
        state = await VrrpSource(cfg, pool).fetch()
    finally:
        await pool.close()
    fw2, i2 = _instance(state, "fw2")
    assert fw2.answering, fw2.error
    assert (i2.state, i2.effective_priority, i2.vips) == ("BACKUP", 100, (VIP,))


async def test_wrong_host_key_fails_clearly(ka_lab, tmp_path):
    real_key = asyncssh.read_public_key(str(ka_lab.dir / "ssh" / "host_ed25519.pub"))
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    wrong = tmp_path / "known_hosts"
    p1, p2 = ka_lab.ports["fw1"], ka_lab.ports["fw2"]
    wrong.write_text(f"[127.0.0.1]:{p1},[127.0.0.1]:{p2} {' '.join(other)}\n")
    pool = SshPool(_ssh_config(ka_lab, known_hosts=wrong))
    try:
        with pytest.raises(ConsoleError) as err:
            await pool.run("fw1", "true")
        # no firewall can be trusted: the layer fails (the poller keeps its last state, stale)
        with pytest.raises(ConsoleError) as layer_err:
            await VrrpSource(_vrrp_config(), pool).fetch()
    finally:
        await pool.close()
    text = str(err.value)
    assert f"127.0.0.1:{p1}" in text
    assert real_key.get_fingerprint("sha256") in text  # the key the server really presented
    layer = str(layer_err.value)
    for port in (p1, p2):
        assert f"127.0.0.1:{port}" in layer
    assert real_key.get_fingerprint("sha256") in layer and "CHANGED" in layer


async def test_failover_after_master_keepalived_is_killed(ka_lab):
    """SIGKILL the master's keepalived: within two poll intervals the peer is
    MASTER and the dead daemon is reported as not answering, not as a stale MASTER
    (its VIP may well still sit on its interface: that is why the dump is asked)."""
    pool = SshPool(_ssh_config(ka_lab))
    source = VrrpSource(_vrrp_config(), pool)
    poller = Poller("vrrp", source.fetch, interval=INTERVAL, timeout=10.0)
    try:
        before = (await poller.poll_once()).data
        assert _instance(before, "fw1")[1].state == "MASTER"
        for name in ("ka.pid", "vrrp.pid", "chk.pid"):
            pidfile = ka_lab.dir / "fw1" / name
            if pidfile.exists():
                try:
                    os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        seen = []
        for _ in range(2):  # two poll intervals, as the console's poller spaces them
            await asyncio.sleep(poller.next_delay())
            snap = await poller.poll_once()
            assert snap.error is None, snap.error
            seen.append(snap.data)
            fw2, i2 = _instance(snap.data, "fw2")
            if i2 is not None and i2.state == "MASTER":
                break
    finally:
        await pool.close()
    last = seen[-1]
    fw1, i1 = _instance(last, "fw1")
    fw2, i2 = _instance(last, "fw2")
    assert fw2.answering and i2.state == "MASTER", [(f.name, f.answering, f.instances) for f in last.firewalls]
    assert VIP in fw2.addresses
    # the dead daemon is not answering; what is shown of it is its last known state, dated
    assert not fw1.answering and "not running" in fw1.error
    assert i1 is None or fw1.seen_at is not None, "a killed keepalived's state must be marked as last known"
    from console.health import vrrp_rules

    texts = [f.text for f in vrrp_rules(last)]
    assert not any("SPLIT BRAIN" in t.upper() for t in texts), texts  # stale MASTER is not a second MASTER
