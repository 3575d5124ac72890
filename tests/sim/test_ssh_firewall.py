"""The sim's firewalls over SSH: keepalived's JSON dump, `ip -j addr`, moving the VIP."""

from __future__ import annotations

import json

import asyncssh
import pytest

from tests.sim import ssh_lab
from tests.sim.ssh_lab import LOST, wait_for

lab = ssh_lab.lab  # the fixture

# The keys of a real keepalived 2.2.7 JSON dump (Debian 12, VRRPv2, PASS auth), from
# `kill -s $(keepalived --signum=JSON)` on a running instance in this environment.
KEEPALIVED_227_DATA_KEYS = {
    "iname", "dont_track_primary", "skip_check_adv_addr", "strict_mode", "vmac_ifname", "ifp_ifname",
    "master_priority", "last_transition", "garp_delay", "garp_refresh", "garp_rep", "garp_refresh_rep",
    "garp_lower_prio_delay", "garp_lower_prio_rep", "lower_prio_no_advert", "higher_prio_send_advert", "vrid",
    "base_priority", "effective_priority", "vipset", "promote_secondaries", "adver_int", "master_adver_int",
    "accept", "nopreempt", "preempt_delay", "state", "wantstate", "version", "smtp_alert", "notify_deleted",
    "vips", "auth_type", "auth_data",
}
KEEPALIVED_227_STATS_KEYS = {
    "advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err", "advert_interval_err",
    "ip_ttl_err", "invalid_type_rcvd", "addr_list_err", "invalid_authtype", "authtype_mismatch", "auth_failure",
    "pri_zero_rcvd", "pri_zero_sent",
}
async def test_keepalived_json_dump_like_real_keepalived(lab):
    r = await lab.run("fw1", "ka-state")
    assert r.exit_status == 0
    dump = json.loads(r.stdout)
    # the seed lab: one instance per VLAN, one sync group (the JSON dump does not name it)
    assert isinstance(dump, list) and [e["data"]["iname"] for e in dump] == ["WAN", "LAN", "IOT"]
    assert [e["data"]["vrid"] for e in dump] == [51, 52, 53]
    for entry in dump:
        assert set(entry) == {"data", "stats"}
        assert set(entry["data"]) == KEEPALIVED_227_DATA_KEYS
        assert set(entry["stats"]) == KEEPALIVED_227_STATS_KEYS
    data = dump[0]["data"]
    assert data["state"] == 2 and data["iname"] == "WAN" and data["base_priority"] == 150
    assert data["auth_data"]  # the real dump carries the VRRP password: consumers must hide it
    assert all(v.endswith(" set") for v in data["vips"])
    async with lab.connect("fw2") as conn:
        r = await conn.run("kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid) && cat /tmp/keepalived.json")
        assert r.exit_status == 0, r.stderr
        data2 = json.loads(r.stdout)[0]["data"]
        assert data2["state"] == 1 and not data2["vipset"]
        assert (await conn.run("keepalived --signum=JSON")).stdout == "36\n"
        # the console's signal mode: remove the old file, signal, then read the new one
        r = await conn.run("rm -f /tmp/keepalived.json; kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid)")
        assert (r.exit_status, r.stdout, r.stderr) == (0, "", "")
        r = await conn.run("cat /tmp/keepalived.json")
        assert json.loads(r.stdout)[0]["data"]["iname"] == "WAN"
        r = await conn.run("rm /tmp/keepalived.json && cat /tmp/keepalived.json")
        assert r.exit_status == 1 and "No such file" in r.stderr


async def test_keepalived_text_dump_names_the_sync_group(lab):
    """SIGUSR1 writes keepalived.data: the instances with their group, and the group section;
    the console's text-dump parser reads the group from it and never the password."""
    from console.sources.vrrp_parse import parse_dump

    async with lab.connect("fw2") as conn:
        r = await conn.run("kill -s USR1 $(cat /run/keepalived.pid) && cat /tmp/keepalived.data")
        assert r.exit_status == 0, r.stderr
    assert " VRRP Sync Group = VG_1, BACKUP" in r.stdout
    insts = parse_dump(r.stdout, "fw2")
    assert [(i.name, i.vrid, i.state, i.sync_group) for i in insts] == [
        ("WAN", 51, "BACKUP", "VG_1"), ("LAN", 52, "BACKUP", "VG_1"), ("IOT", 53, "BACKUP", "VG_1")]
    assert insts[1].vips == ("10.0.10.1/24",)
    assert "lab-vrrp-s3cret" not in repr(insts)


async def test_ip_addr_has_the_vip_only_on_master(lab):
    vips = [v.split("/")[0] for i in lab.world.firewalls["fw1"].vrrp_instances() for v in i.vips]
    assert len(vips) == 3

    async def addrs(fw: str) -> set[str]:
        r = await lab.run(fw, "ip -j addr show")
        assert r.exit_status == 0
        return {a["local"] for link in json.loads(r.stdout) for a in link["addr_info"]}

    assert set(vips) <= await addrs("fw1")
    assert not set(vips) & await addrs("fw2")


async def test_stop_keepalived_moves_the_vip(lab):
    world = lab.world
    r = await lab.run("fw1", "systemctl stop keepalived")
    assert r.exit_status == 0
    r = await lab.run("fw1", "ka-state")
    assert r.exit_status == 2
    r = await lab.run("fw1", "kill -s $(keepalived --signum=JSON) $(cat /run/keepalived.pid)")
    assert r.exit_status != 0
    await wait_for(lambda: world.vip_holder() == ["fw2"], world)
    dump = json.loads((await lab.run("fw2", "ka-state")).stdout)
    assert dump[0]["data"]["state"] == 2
    assert (await lab.run("fw1", "systemctl start keepalived")).exit_status == 0
    assert (await lab.run("fw1", "ka-state")).exit_status == 0


async def test_track_file_moves_the_vip(lab):
    world = lab.world
    async with lab.connect("fw1") as conn:
        r = await conn.run("echo 1 > /etc/keepalived/track && cat /etc/keepalived/track")
        assert (r.exit_status, r.stdout) == (0, "1\n")
        assert world.firewalls["fw1"].track_value == 1
        await wait_for(lambda: world.vip_holder() == ["fw2"], world)
        dump = json.loads((await conn.run("ka-state")).stdout)[0]["data"]
        assert dump["state"] == 3 and dump["effective_priority"] == 150  # weight 0: FAULT, priority kept
        await conn.run("echo 0 > /etc/keepalived/track")
        assert world.firewalls["fw1"].track_value == 0
        r = await conn.run("echo 1 > /etc/passwd")
        assert r.exit_status == 1


async def test_firewall_vm_down_refuses(lab):
    fw = lab.world.firewalls["fw2"]
    node = lab.world.guests[fw.vmid].node
    lab.world.guest_power(node, fw.vmid, "stop")
    await wait_for(lambda: lab.world.guests[fw.vmid].status == "stopped", lab.world)
    with pytest.raises(LOST):
        async with lab.connect("fw2") as conn:
            r = await conn.run("ka-state")
            if r.exit_status is None:
                raise asyncssh.ConnectionLost("closed")
