"""The sim's guests have packages: read and upgraded through `pct exec` on their node,
the firewalls' own SSH and the guest agent; snapshots capture them and a rollback
really restores them; the faults of issue 12 take effect."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from console.sim import guest_pkgs as GP
from console.sim.pve_api import make_pve_app
from console.sim.world import World
from tests.sim import ssh_lab
from tests.sim.ssh_lab import wait_for

lab = ssh_lab.lab  # the fixture
SECRET = "0b3c3e5e-1d5a-4b7e-9d1e-6f0a3c2b1a99"
HEADERS = {"Authorization": f"PVEAPIToken=root@pam!labconsole={SECRET}"}


async def test_pct_exec_lists_and_upgrades_a_containers_packages(lab):
    ct = lab.world.guests[200]
    r = await lab.run(ct.node, "pct exec 200 -- apt list --upgradable")
    assert r.exit_status == 0
    assert "postfix/bookworm-security 3.7.12-0+deb12u1 amd64 [upgradable from: 3.7.11-0+deb12u1]" in r.stdout
    r = await lab.run(ct.node, "pct exec 200 -- sh -c 'DEBIAN_FRONTEND=noninteractive apt-get -y "
                               "-o Dpkg::Options::=--force-confold dist-upgrade'")
    assert r.exit_status == 0 and "Setting up postfix (3.7.12-0+deb12u1) ..." in r.stdout
    r = await lab.run(ct.node, "pct exec 200 -- apt-get -s dist-upgrade")
    assert "0 upgraded" in r.stdout
    other = next(n for n in lab.world.nodes if n != ct.node)
    r = await lab.run(other, "pct exec 200 -- true")
    assert r.exit_status == 255 and "lxc/200.conf' does not exist" in r.stderr


async def test_a_firewall_upgrades_over_its_own_ssh_and_needs_a_reboot_for_its_kernel(lab):
    r = await lab.run("fw2", "uname -r; test -f /var/run/reboot-required; echo $?")
    assert r.stdout.split() == ["6.1.0-27-amd64", "1"]
    r = await lab.run("fw2", "apt-get -y dist-upgrade && systemctl is-system-running")
    assert r.exit_status == 0 and r.stdout.strip().endswith("running")
    r = await lab.run("fw2", "test -f /var/run/reboot-required && echo yes; needrestart -b")
    assert "yes" in r.stdout and "NEEDRESTART-KSTA: 3" in r.stdout
    assert (await lab.run("fw2", "systemctl is-active keepalived")).stdout.strip() == "active"


async def test_a_snapshot_rollback_restores_the_packages_and_the_kernel():
    w = World("seed", speed=50, manual_clock=True)
    g = w.guests[121]
    from console.sim import dynamics_ops as D

    D.snapshot_create(w, g, "labconsole-x")
    w.advance(5)
    GP.apply_upgrade(w, g)
    D.guest_reboot(w, g)
    w.advance(20)
    assert GP.pkgs(w, 121).kernel == GP.NEW_GUEST_KERNEL and not GP.pkgs(w, 121).pending()
    D.snapshot_rollback(w, g, "labconsole-x", start=True)
    w.advance(5)
    p = GP.pkgs(w, 121)
    assert p.kernel == GP.OLD_GUEST_KERNEL and "libc6" in p.pending() and g.status == "running"


async def test_faults_break_the_service_fail_snapshots_and_the_backup_firewall():
    w = World("seed", speed=50, manual_clock=True)
    from console.sim import dynamics_ops as D

    w.inject("guest-upgrade-breaks-service", "200")
    GP.apply_upgrade(w, w.guests[200])
    assert not GP.service_up(w, 200) and GP.pkgs(w, 200).units["postfix"] == "failed"
    w.inject("snapshot-fails", "201")
    upid = D.snapshot_create(w, w.guests[201], "labconsole-y")
    assert w.pve_tasks[upid].exitstatus == "snapshot feature is not available"
    assert ("201", "labconsole-y") not in {(str(v), n) for v, n in GP.lab_of(w).snapshots}
    w.inject("backup-firewall-fails-check")
    GP.apply_upgrade(w, w.guests[101])  # fw1 is MASTER: not the one that fails
    assert w.firewalls["fw1"].keepalived_running
    GP.apply_upgrade(w, w.guests[102])
    assert not w.firewalls["fw2"].keepalived_running and w.faults_dict()["backup_firewall_fails_check"] == [""]


async def test_the_guest_agent_runs_a_command_and_refuses_a_vm_without_agent():
    world = World("seed", speed=50)
    client = TestClient(TestServer(make_pve_app(world, "pve1", SECRET)))
    await client.start_server()
    try:
        g = world.guests[122]
        base = f"/api2/json/nodes/{g.node}/qemu/122/agent"
        resp = await client.post(f"{base}/exec", data=[("command", "apt"), ("command", "list"),
                                                       ("command", "--upgradable")], headers=HEADERS)
        pid = (await resp.json())["data"]["pid"]
        for _ in range(100):
            st = (await (await client.get(f"{base}/exec-status", params={"pid": pid}, headers=HEADERS)).json())["data"]
            if st["exited"]:
                break
            await asyncio.sleep(0.02)
        assert st["exitcode"] == 0 and "docker-ce/bookworm-updates" in st["out-data"]
        j = world.guests[111]
        resp = await client.post(f"/api2/json/nodes/{j.node}/qemu/111/agent/ping", headers=HEADERS)
        assert (resp.status, resp.reason) == (500, "No QEMU guest agent configured")
    finally:
        await client.close()


async def test_the_upgrade_keeps_running_when_the_client_goes(lab):
    """dpkg does not stop when the console dies: the upgrade still completes inside."""
    ct = lab.world.guests[201]
    async with lab.connect(ct.node) as conn:
        proc = await conn.create_process("pct exec 201 -- apt-get -y dist-upgrade")
        await proc.stdout.readline()
    await wait_for(lambda: not GP.pkgs(lab.world, 201).pending(), lab.world)


def test_a_docker_package_upgrade_restarts_dockerd_and_stops_the_swarm_nodes_tasks():
    w = World("seed", speed=50, manual_clock=True)
    w.advance(30)  # every service converged
    node = next(i for i, sn in w.swarm_nodes.items() if sn.hostname == "swarm1")
    on_node = {t.id: t.service_id for t in w.tasks.values() if t.node_id == node and t.state == "running"}
    assert on_node and "docker-ce" in GP.pkgs(w, 121).pending()
    GP.apply_upgrade(w, w.guests[200])  # a CT without docker: nothing stops
    assert all(w.tasks[i].state == "running" for i in on_node)
    changed = GP.apply_upgrade(w, w.guests[121])
    assert "docker-ce" in changed
    stopped = [w.tasks[i] for i in on_node]
    assert all(t.state == "failed" and "dockerd restarted" in (t.error or "") for t in stopped), stopped
    w.advance(30)  # Swarm restarts their slots
    assert all(w.service_running_tasks(sid) >= 1 for sid in set(on_node.values()))
