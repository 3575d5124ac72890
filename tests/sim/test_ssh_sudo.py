"""Root over SSH for a non-root user: SshPool's `privileged` runs commands through
`sudo -n`, and the sim's hosts refuse privileged commands from a non-root user
without sudo the way the real tools do."""

from __future__ import annotations

import pytest

from console.config_model import CephConfig, FirewallConfig, SshConfig, SshHost, VrrpConfig
from console.errors import ConsoleError
from console.sources.ceph import CephSource
from console.sources.vrrp import VrrpSource
from console.ssh import SshPool
from console.ssh_sudo import as_root
from tests.sim.ssh_lab import lab  # noqa: F401 - the fixture


def pool_for(lab, user: str) -> SshPool:  # noqa: F811
    hosts = tuple(SshHost(name, "127.0.0.1", port, user, (lab.client_key_path,)) for name, port in lab.ports.items())
    return SshPool(SshConfig(user=user, known_hosts=lab.known_hosts, agent=False, hosts=hosts))


def test_as_root_prefixes_simple_commands_and_wraps_shell_syntax():
    assert as_root("ha-manager crm-command node-maintenance enable pve1") == \
        "sudo -n ha-manager crm-command node-maintenance enable pve1"
    # $(...) is expanded by the user's shell first: sudo runs kill only (what the README's sudoers allows)
    assert as_root("kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid)") == \
        "sudo -n kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid)"
    assert as_root("echo 1 > /etc/keepalived/track") == "sudo -n sh -c 'echo 1 > /etc/keepalived/track'"
    assert as_root("DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade") == \
        "sudo -n sh -c 'DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade'"
    assert as_root("a; b 'it''s'") == "sudo -n sh -c 'a; b '\"'\"'it'\"'\"''\"'\"'s'\"'\"''"


async def test_a_non_root_user_is_refused_without_sudo_like_on_a_real_node(lab):  # noqa: F811
    pool = pool_for(lab, "labconsole")
    try:
        r = await pool.run("pve1", "apt-get update")
        assert r.exit_status == 100 and "/var/lib/apt/lists/lock - open (13: Permission denied)" in r.stderr
        r = await pool.run("pve1", "DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade")
        assert r.exit_status == 100 and "are you root?" in r.stderr
        r = await pool.run("pve1", "ceph osd set noout")
        assert r.exit_status == 13 and "RADOS permission denied" in r.stderr
        r = await pool.run("pve1", "ha-manager crm-command node-maintenance enable pve1")
        assert r.exit_status != 0 and "Permission denied" in r.stderr
        assert not lab.world.nodes["pve1"].ha_maintenance and "noout" not in lab.world.ceph.flags
        r = await pool.run("fw1", "echo 1 > /etc/keepalived/track")
        assert r.exit_status == 1 and "/etc/keepalived/track: Permission denied" in r.stderr
        assert lab.world.firewalls["fw1"].track_value == 0
        r = await pool.run("pve1", "pveversion")  # reads need no root
        assert r.ok and "pve-manager/" in r.stdout
    finally:
        await pool.close()


async def test_privileged_runs_through_sudo_for_a_non_root_user(lab):  # noqa: F811
    pool = pool_for(lab, "labconsole")
    try:
        r = await pool.run("pve1", "ha-manager crm-command node-maintenance enable pve1", privileged=True)
        assert r.ok and lab.world.nodes["pve1"].ha_maintenance
        lines: list[str] = []
        code = await pool.stream("pve2", "DEBIAN_FRONTEND=noninteractive apt-get update", lines.append,
                                 privileged=True)
        assert code == 0 and lines
        a, b = await pool.run_many("pve3", ["ceph osd set noout", "pveversion"], privileged=(True, False))
        assert a.ok and b.ok and "noout" in lab.world.ceph.flags
    finally:
        await pool.close()


async def test_root_needs_no_sudo_and_gets_none(lab):  # noqa: F811
    pool = pool_for(lab, "root")
    try:
        assert not pool.needs_sudo("pve1") and pool_for(lab, "admin").needs_sudo("pve1")
        r = await pool.run("pve1", "ceph osd set noout", privileged=True)
        assert r.ok and "noout" in lab.world.ceph.flags
    finally:
        await pool.close()


async def test_a_sudo_that_wants_a_password_is_named_with_the_user(lab, monkeypatch):  # noqa: F811
    import console.sim.ssh_server as server

    real = server.SimHost.__init__

    def denying(self, *a, **kw):
        real(self, *a, **kw)
        self.sudo_denied = True

    monkeypatch.setattr(server.SimHost, "__init__", denying)
    await lab.start("node", "pve1")  # a second pve1 server whose sudoers has no NOPASSWD
    pool = pool_for(lab, "labconsole")
    try:
        with pytest.raises(ConsoleError) as e:
            await pool.run("pve1", "ceph osd set noout", privileged=True)
        text = str(e.value)
        assert "sudo refused `ceph osd set noout` for labconsole: sudo: a password is required" in text
        assert "NOPASSWD" in e.value.hint and "noout" not in lab.world.ceph.flags
        with pytest.raises(ConsoleError):
            await pool.stream("pve1", "apt-get update", lambda line: None, privileged=True)
    finally:
        await pool.close()


async def test_sources_use_sudo_for_ceph_and_keepalived(lab):  # noqa: F811
    pool = pool_for(lab, "labconsole")
    try:
        ceph = CephSource(CephConfig(via="ssh", ssh_hosts=("pve1",)), ssh=pool)
        state = await ceph.fetch()
        assert state.health == "HEALTH_OK" and state.num_osds == 3
        await ceph.set_flag("noout", True)
        assert "noout" in lab.world.ceph.flags
        vrrp = VrrpSource(VrrpConfig(firewalls=(FirewallConfig("fw1", "fw1"), FirewallConfig("fw2", "fw2"))), pool)
        s = await vrrp.fetch()
        assert all(f.answering for f in s.firewalls), [f.error for f in s.firewalls]
        await vrrp.set_track("fw1", 1)
        assert lab.world.firewalls["fw1"].track_value == 1
    finally:
        await pool.close()
