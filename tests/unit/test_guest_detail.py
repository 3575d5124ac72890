"""The guest detail pane's config part (console/ops/guest_detail.py, screens/guest_detail_lines.py):
disks and NICs from a PVE config, addresses from the agent or a CT's interfaces, and the lines shown."""

from __future__ import annotations

from console.ops.backups import BackupCopy
from console.ops.guest_detail import GuestDetail, parse_addresses, parse_config
from screens.guest_detail_lines import detail_lines

VM_CONFIG = {  # as PVE 8 returns GET /nodes/{node}/qemu/{vmid}/config
    "name": "web", "memory": "4096", "agent": "1", "boot": "order=scsi0;net0",
    "scsi0": "ceph-vm:vm-112-disk-0,iothread=1,size=32G",
    "efidisk0": "local-lvm:vm-112-disk-1,efitype=4m,size=4M",
    "ide2": "none,media=cdrom",
    "ide0": "local:iso/debian.iso,media=cdrom,size=600M",
    "net0": "virtio=BC:24:11:70:00:01,bridge=vmbr0,firewall=1",
    "net1": "e1000=BC:24:11:70:00:02,bridge=vmbr1,tag=30",
}
CT_CONFIG = {
    "hostname": "db", "rootfs": "ceph-vm:vm-201-disk-0,size=8G", "mp0": "local-zfs:subvol-201-disk-1,mp=/data,size=50G",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:C9:00:01,ip=10.0.10.5/24,gw=10.0.10.1,tag=10",
}


def test_vm_disks_skip_cdroms_and_nics_carry_bridge_and_vlan():
    disks, nics = parse_config(VM_CONFIG)
    assert [(d.key, d.storage, d.volume, d.size) for d in disks] == [
        ("efidisk0", "local-lvm", "vm-112-disk-1", "4M"), ("scsi0", "ceph-vm", "vm-112-disk-0", "32G")]
    assert [(n.key, n.bridge, n.vlan, n.model, n.mac) for n in nics] == [
        ("net0", "vmbr0", "", "virtio", "BC:24:11:70:00:01"), ("net1", "vmbr1", "30", "e1000", "BC:24:11:70:00:02")]


def test_ct_rootfs_mount_points_and_configured_address():
    disks, nics = parse_config(CT_CONFIG)
    assert [(d.key, d.storage, d.size) for d in disks] == [("mp0", "local-zfs", "50G"), ("rootfs", "ceph-vm", "8G")]
    assert nics[0].model == "eth0" and nics[0].vlan == "10" and nics[0].ip == "10.0.10.5/24"


def test_addresses_from_the_agent_and_from_ct_interfaces_skip_loopback_and_link_local():
    agent = [{"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "prefix": 8}]},
             {"name": "ens18", "ip-addresses": [{"ip-address": "10.0.0.42", "prefix": 24},
                                                {"ip-address": "fe80::1", "prefix": 64}]}]
    assert parse_addresses("qemu", agent) == ["ens18 10.0.0.42/24"]
    ct = [{"name": "lo", "inet": "127.0.0.1/8"}, {"name": "eth0", "inet": "10.0.10.5/24", "inet6": "fe80::2/64"}]
    assert parse_addresses("lxc", ct) == ["eth0 10.0.10.5/24"]


def test_hostile_config_text_is_inert():
    disks, nics = parse_config({"scsi0": "ceph-vm:vm-1-disk-0\x1b[2J,size=32G", "net0": "virtio=AA,bridge=vmbr0\x07"})
    assert "\x1b" not in disks[0].volume and "\x07" not in nics[0].bridge


def test_detail_lines_name_what_could_not_be_read():
    d = GuestDetail(112, *parse_config(VM_CONFIG), snapshots=2,
                    last_backup=BackupCopy(112, "pbs", "pbs", "pbs:backup/vm/112/x", 1_000_000 - 7200, 3 * 1024**3),
                    missing=["addresses: QEMU guest agent is not running"])
    text = "\n".join(detail_lines(d, now=1_000_000))
    assert " scsi0 ceph-vm:vm-112-disk-0 32G" in text
    assert " net1 vmbr1 VLAN 30 e1000" in text and " net0 vmbr0 untagged virtio" in text
    assert "addresses not reported (QEMU guest agent is not running)" in text
    assert "snapshots 2" in text and "backup    2h00m ago on pbs (3.0G)" in text
    assert detail_lines(None)[-1] == "config    reading…"
    assert detail_lines("not read: no such guest")[-1] == "config    not read: no such guest"
