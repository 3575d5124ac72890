"""The sim's SSH front through real SSH clients (asyncssh with known_hosts, and OpenSSH's `ssh`)."""

from __future__ import annotations

import asyncio
import json
import shutil

import asyncssh
import pytest

from console.sim.ssh_server import start_ssh_server
from console.sim.world import World
from tests.sim.ssh_lab import LOST, Lab, lab, wait_for  # noqa: F401  (lab is a fixture)

# ------------------------------------------------------------------ basics
async def test_uname_over_asyncssh_with_known_hosts(lab):
    r = await lab.run("pve1", "uname -r")
    assert r.exit_status == 0
    assert r.stdout == lab.world.nodes["pve1"].kernel + "\n"
    r = await lab.run("pve2", "hostname")
    assert r.stdout == "pve2\n"


async def test_wrong_host_key_is_refused(lab, tmp_path):
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    kh = tmp_path / "bad_known_hosts"
    kh.write_text(f"[127.0.0.1]:{lab.ports['pve1']} {other}\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await asyncssh.connect("127.0.0.1", lab.ports["pve1"], username="root", known_hosts=str(kh), client_keys=[str(lab.client_key_path)], agent_path=None)


async def test_unknown_client_key_is_refused(lab, tmp_path):
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(stranger)
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab.connect("pve1", key=stranger):
            pass


async def openssh(lab, host: str, command: str) -> tuple[int, str, str]:
    ssh = shutil.which("ssh")
    if ssh is None:
        pytest.skip("OpenSSH client not installed (apt-get install openssh-client)")
    proc = await asyncio.create_subprocess_exec(
        ssh, "-i", str(lab.client_key_path), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null", "-p", str(lab.ports[host]), "root@127.0.0.1", command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_real_openssh_client(lab):
    code, out, err = await openssh(lab, "pve1", "uname -r")
    assert code == 0, err
    assert out == lab.world.nodes["pve1"].kernel + "\n"
    code, out, err = await openssh(lab, "pve1", "ceph osd ok-to-stop 0 1 -f json")
    assert code == 16 and json.loads(out)["ok_to_stop"] is False and "EBUSY" in err
    lab.world.inject("node-down", "pve3")
    code, out, err = await openssh(lab, "pve3", "uname -r")
    assert code == 255 and out == ""


async def test_shell_semantics(lab):
    async with lab.connect("pve1") as conn:
        r = await conn.run("true && echo a; false && echo b; false || echo c; echo d 2>&1")
        assert (r.stdout, r.exit_status) == ("a\nc\nd\n", 0)
        r = await conn.run("frobnicate --now")
        assert r.exit_status == 127 and r.stderr == "bash: frobnicate: command not found\n"
        r = await conn.run("frobnicate 2>/dev/null || echo fallback")
        assert (r.stdout, r.stderr) == ("fallback\n", "")
        r = await conn.run("echo $(hostname)-x 'single $(quoted)'")
        assert r.stdout == "pve1-x single $(quoted)\n"
        r = await conn.run("dpkg-query -W | grep -c pve-manager")
        assert r.stdout == "1\n"
        r = await conn.run("echo 'unterminated")
        assert r.exit_status == 2


async def test_shell_request_without_a_pty_is_not_supported(lab):
    # h-operate2: with a pty (ssh -t) a login shell is served (console/sim/ssh_interactive.py)
    async with lab.connect("pve1") as conn:
        proc = await conn.create_process(term_type="xterm")
        prompt = await asyncio.wait_for(proc.stdout.readuntil("# "), 10)
        proc.stdin.write("hostname\r")
        answer = await asyncio.wait_for(proc.stdout.readuntil("# "), 10)
        proc.stdin.write("exit\r")
        await asyncio.wait_for(proc.wait_closed(), 10)
        assert prompt.endswith("root@pve1:~# ") and "pve1\r\n" in answer and proc.exit_status == 0
        proc = await conn.create_process("pct enter 999", term_type="xterm")
        err = await asyncio.wait_for(proc.stderr.read(), 10)
        await proc.wait_closed()
        assert "does not exist" in err and proc.exit_status == 2
    async with lab.connect("pve1") as conn:
        proc = await conn.create_process()
        err = await proc.stderr.read()
        await proc.wait_closed()
        assert "exec requests only" in err and proc.exit_status == 1


def test_refuses_non_loopback(tmp_path):
    lab = Lab(World("seed", speed=10), tmp_path)
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(start_ssh_server(lab.world, "0.0.0.0", 0, "node", "pve1", lab.host_key_path, lab.authorized))


# ---------------------------------------------------------------- HA + Ceph
async def test_ha_manager_status_and_maintenance(lab):
    r = await lab.run("pve1", "ha-manager status")
    lines = r.stdout.splitlines()
    assert r.exit_status == 0
    assert lines[0] == "quorum OK"
    assert lines[1].startswith("master pve1 (active, ")
    assert any(ln.startswith("lrm pve2 (active, ") or ln.startswith("lrm pve2 (idle, ") for ln in lines)
    services = [ln for ln in lines if ln.startswith("service ")]
    assert services and all(ln.endswith(", started)") for ln in services)
    r = await lab.run("pve1", "ha-manager crm-command node-maintenance enable pve2")
    assert r.exit_status == 0, r.stderr
    assert lab.world.nodes["pve2"].ha_maintenance
    r = await lab.run("pve1", "ha-manager status")
    assert any(ln.startswith("lrm pve2 (maintenance mode, ") for ln in r.stdout.splitlines())
    r = await lab.run("pve1", "ha-manager crm-command node-maintenance enable nosuch")
    assert r.exit_status == 255 and "no such cluster node 'nosuch'" in r.stderr


async def test_ceph_json_and_text(lab):
    async with lab.connect("pve1") as conn:
        r = await conn.run("ceph status -f json")
        doc = json.loads(r.stdout)
        assert doc["health"]["status"] == "HEALTH_OK" and doc["osdmap"]["num_osds"] == 3
        for cmd in ("health detail", "osd tree", "osd dump", "pg stat", "osd df"):
            r = await conn.run(f"ceph {cmd} --format json")
            assert r.exit_status == 0 and isinstance(json.loads(r.stdout), dict), cmd
            text = await conn.run(f"ceph {cmd}")
            assert text.exit_status == 0 and text.stdout and not text.stdout.lstrip().startswith("{"), cmd
        for cmd in ("df", "mon dump", "mgr stat"):
            r = await conn.run(f"ceph {cmd} -f json")
            assert r.exit_status == 0 and isinstance(json.loads(r.stdout), dict), cmd
        r = await conn.run("ceph -s")
        assert "health: HEALTH_OK" in r.stdout and "osd: 3 osds: 3 up" in r.stdout
        r = await conn.run("ceph osd frobnicate")
        assert r.exit_status == 22 and "Error EINVAL" in r.stderr


async def test_ceph_noout_flag(lab):
    r = await lab.run("pve2", "ceph osd set noout")
    assert (r.exit_status, r.stdout, r.stderr) == (0, "", "noout is set\n")
    assert "noout" in lab.world.ceph.flags
    r = await lab.run("pve2", "ceph osd dump -f json")
    assert "noout" in json.loads(r.stdout)["flags"].split(",")
    r = await lab.run("pve2", "ceph health detail -f json")
    assert "OSDMAP_FLAGS" in json.loads(r.stdout)["checks"]
    r = await lab.run("pve2", "ceph osd unset noout")
    assert (r.exit_status, r.stderr) == (0, "noout is unset\n")
    assert "noout" not in lab.world.ceph.flags
    r = await lab.run("pve2", "ceph osd set nonsense")
    assert r.exit_status == 22


async def test_ok_to_stop_safe_and_unsafe(lab):
    r = await lab.run("pve1", "ceph osd ok-to-stop 0 -f json")
    doc = json.loads(r.stdout)
    assert r.exit_status == 0 and doc["ok_to_stop"] is True and doc["osds"] == [0]
    r = await lab.run("pve2", "systemctl stop ceph-osd@1")
    assert r.exit_status == 0, r.stderr
    await wait_for(lambda: not lab.world.osds[1].up, lab.world)
    r = await lab.run("pve1", "ceph osd ok-to-stop 0 -f json")
    doc = json.loads(r.stdout)
    assert r.exit_status == 16
    assert doc["ok_to_stop"] is False and doc["num_not_ok_pgs"] > 0 and doc["bad_become_inactive"]
    assert r.stderr.startswith("Error EBUSY: unsafe to stop osd(s)")
    r = await lab.run("pve1", "systemctl stop ceph-osd@1")
    assert r.exit_status == 5  # osd.1 lives on pve2
    r = await lab.run("pve1", "ceph mon ok-to-stop pve1")
    assert r.exit_status == 0 and "quorum should be preserved" in r.stderr
    r = await lab.run("pve1", "ceph mds ok-to-stop pve1")
    assert r.exit_status in (0, 16)


# --------------------------------------------------------------------- apt
async def test_apt_update_then_dist_upgrade_streams(lab):
    world = lab.world
    node = world.nodes["pve3"]
    r = await lab.run("pve3", "apt-get update")
    assert r.exit_status == 0, r.stderr
    assert "Reading package lists..." in r.stdout
    assert node.upgradable
    new_kernels = [p for p in node.upgradable if p.startswith("proxmox-kernel-") and p not in node.packages]
    before = dict(node.packages)
    async with lab.connect("pve3") as conn:
        proc = await conn.create_process("DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade")
        first = await proc.stdout.readline()
        assert first == "Reading package lists...\n"
        assert node.packages == before  # the first line arrived while nothing was installed yet
        rest = await proc.stdout.read()
        await proc.wait_closed()
    assert proc.exit_status == 0
    assert "Setting up pve-manager" in rest or "Setting up" in rest
    assert node.packages != before and not node.upgradable
    r = await lab.run("pve3", "proxmox-boot-tool kernel list")
    for pkg in new_kernels:
        assert pkg.removeprefix("proxmox-kernel-").removesuffix("-signed") in r.stdout


async def test_dist_upgrade_failure_exits_100(lab):
    lab.world.inject("apt-fail", "pve2")
    r = await lab.run("pve2", "apt-get update && apt-get -y dist-upgrade")
    assert r.exit_status == 100
    assert any(ln.startswith("E: ") for ln in r.stderr.splitlines())


async def test_record_and_downgrade_packages(lab):
    async with lab.connect("pve1") as conn:
        r = await conn.run("dpkg-query -W -f '${Package} ${Version}\\n'")
        recorded = dict(ln.split(" ", 1) for ln in r.stdout.splitlines())
        assert recorded == lab.world.nodes["pve1"].packages
        await conn.run("apt-get update")
        r = await conn.run("apt-get -y dist-upgrade")
        assert r.exit_status == 0, r.stderr
        changed = {p: v for p, v in recorded.items() if lab.world.nodes["pve1"].packages[p] != v}
        assert changed
        spec = " ".join(f"{p}={v}" for p, v in changed.items())
        r = await conn.run(f"apt-get install -y {spec}")
        assert r.exit_status == 100 and "--allow-downgrades" in r.stderr
        r = await conn.run(f"apt-get install -y --allow-downgrades {spec}")
        assert r.exit_status == 0, r.stderr
        r = await conn.run("dpkg-query -W " + " ".join(changed))
        assert dict(ln.split("\t") for ln in r.stdout.splitlines()) == changed


async def test_kernel_pin_zfs_and_versions(lab):
    node = lab.world.nodes["pve1"]
    async with lab.connect("pve1") as conn:
        r = await conn.run(f"proxmox-boot-tool kernel pin {node.kernel} --next-boot")
        assert r.exit_status == 0 and node.pinned_kernel == node.kernel and node.pin_next_boot_only
        r = await conn.run("proxmox-boot-tool kernel list")
        assert f"Kernel pinned on next-boot:\n{node.kernel}\n" in r.stdout
        r = await conn.run("proxmox-boot-tool kernel pin 0.0.0-1-pve")
        assert r.exit_status != 0 and r.stderr
        r = await conn.run("findmnt -n -o SOURCE /")
        root = r.stdout.strip()
        assert root == node.zfs_root
        assert root in (await conn.run("zfs list -H -o name")).stdout.splitlines()
        r = await conn.run(f"zfs snapshot {root}@pre-upgrade && zfs list -H -o name -t snapshot")
        assert r.stdout.splitlines() == [f"{root}@pre-upgrade"]
        r = await conn.run(f"zfs rollback -r {root}@pre-upgrade")
        assert r.exit_status == 0, r.stderr
        r = await conn.run(f"zfs rollback -r {root}@nosuch")
        assert r.exit_status == 1 and "dataset does not exist" in r.stderr
        r = await conn.run("pveversion")
        assert r.stdout.startswith(f"pve-manager/{node.pve_version}/") and node.kernel in r.stdout
        r = await conn.run("pveversion -v")
        assert r.stdout.splitlines()[0].startswith("proxmox-ve: ")
        assert r.stdout.splitlines()[1].startswith(f"pve-manager: {node.packages.get('pve-manager', node.pve_version)} (running version: ")


# ------------------------------------------------------------------ reboot
async def test_reboot_drops_the_session_and_the_node_refuses_until_back(lab):
    world = lab.world
    async with lab.connect("pve2") as conn:
        r = await conn.run("reboot")
        assert r.exit_status in (0, None)
        with pytest.raises(LOST):
            r = await conn.run("uname -r", check=False)
            if r.exit_status is None:
                raise asyncssh.ConnectionLost("closed")
    assert not world.node_online("pve2")
    with pytest.raises(LOST):
        async with lab.connect("pve2") as conn:
            r = await conn.run("uname -r")
            if r.exit_status is None:
                raise asyncssh.ConnectionLost("closed")
    await wait_for(lambda: world.node_online("pve2"), world)
    r = await lab.run("pve2", "uname -r")
    assert r.exit_status == 0


async def test_node_going_down_closes_open_connection(lab):
    async with lab.connect("pve3") as conn:
        assert (await conn.run("true")).exit_status == 0
        lab.world.inject("node-down", "pve3")
        await conn.wait_closed()
    with pytest.raises(LOST):
        async with lab.connect("pve3") as conn:
            await conn.run("true")


async def test_ssh_fault_error_drops_the_command(lab):
    lab.world.inject("error-rate", "ssh", 1.0)
    with pytest.raises(LOST):
        async with lab.connect("pve1") as conn:
            r = await conn.run("uname -r")
            if r.exit_status is None:
                raise asyncssh.ConnectionLost("dropped")
    lab.world.clear("error-rate", "ssh")
    assert (await lab.run("pve1", "uname -r")).exit_status == 0


# ------------------------------------------------------- gaps found by the fronts
async def test_ceph_set_group_noout_for_one_host(lab):
    r = await lab.run("pve1", "ceph osd set-group noout pve2")
    assert (r.exit_status, r.stdout, r.stderr) == (0, "", "")  # Ceph is silent here
    assert lab.world.ceph.group_flags == {"pve2": {"noout"}}
    r = await lab.run("pve1", "ceph health detail -f json")
    check = json.loads(r.stdout)["checks"]["OSD_FLAGS"]
    assert check["detail"] == [{"message": "host pve2 has flags noout"}]
    r = await lab.run("pve1", "ceph osd dump -f json")
    assert json.loads(r.stdout)["crush_node_flags"] == {"pve2": ["noout"]}
    r = await lab.run("pve1", "ceph osd unset-group noout pve2")
    assert r.exit_status == 0 and lab.world.ceph.group_flags == {}
    r = await lab.run("pve1", "ceph osd set-group noout nosuchhost")
    assert r.exit_status == 22 and 'unable to parse osd id or crush node or device class: "nosuchhost"' in r.stderr
    r = await lab.run("pve1", "ceph osd set-group noscrub pve2")
    assert r.exit_status == 22 and "unrecognized flag 'noscrub'" in r.stderr


async def test_ok_to_stop_on_a_missing_osd_is_ok(lab):
    r = await lab.run("pve1", "ceph osd ok-to-stop 42 -f json")
    assert r.exit_status == 0
    assert json.loads(r.stdout) == {"ok_to_stop": True, "osds": [42], "num_ok_pgs": 0, "num_not_ok_pgs": 0}


async def test_rm_and_last_exit_status(lab):
    async with lab.connect("fw1") as conn:
        r = await conn.run("rm -f /tmp/keepalived.json; echo $?")
        assert r.stdout == "0\n"  # nothing to remove: still success with -f
        r = await conn.run("kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid); test -e /tmp/keepalived.json; echo \"e=$?\"")
        assert r.stdout == "e=0\n"
        r = await conn.run("rm -f /tmp/keepalived.json; test -e /tmp/keepalived.json; echo $? '$?'")
        assert r.stdout == "1 $?\n"  # single quotes keep it literal
        r = await conn.run("rm /tmp/nothing-here; echo $?")
        assert r.stdout == "1\n" and "No such file or directory" in r.stderr
        r = await conn.run("false || echo $?; true && echo $?")
        assert r.stdout == "1\n0\n"


async def test_poweroff_over_ssh_is_a_clean_shutdown(lab):
    r = await lab.run("pve3", "shutdown -h now")
    assert r.exit_status == 0
    await wait_for(lambda: lab.world.nodes["pve3"].status == "offline", lab.world)
    assert lab.world.faults_dict()["nodes_shut_down"] == ["pve3"]
    assert [t.exitstatus for t in lab.world.pve_tasks.values() if t.type == "srvshutdown" and t.node == "pve3"] == ["OK"]
