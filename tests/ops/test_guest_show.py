"""`labconsole guest show VMID`: the detail pane's facts, headless; a read, so read-only allows it."""

from __future__ import annotations


def test_show_a_container_as_json_and_text(cli):
    code, res = cli.json("guest", "show", "201", "--read-only")
    assert code == 0 and res["guest"]["name"] == "db" and res["guest"]["type"] == "lxc"
    d = res["detail"]
    assert [(x["key"], x["storage"]) for x in d["disks"]] == [("rootfs", "ceph-vm")]
    assert d["nics"] and d["nics"][0]["bridge"] == "vmbr0"
    code, snaps = cli.json("guest", "snapshots", "201")
    assert d["snapshots"] == len(snaps["snapshots"]) > 0
    assert d["last_backup"]["storage"] == "pbs" and d["missing"] == []
    code, out, err = cli("guest", "show", "201")
    assert code == 0 and err == ""
    assert "CT 201 (db) on pve2: running" in out and "disk rootfs" in out and "last backup" in out


def test_show_a_vm_without_backup_and_an_unknown_guest(cli):
    code, out, _err = cli("guest", "show", "113")
    assert code == 0 and "VM 113 (debian-template)" in out and "template" in out
    assert "last backup: none" in out
    code, out, err = cli("guest", "show", "999")
    assert code == 2 and "no guest 999" in err and err.count("\n") == 1 and out == ""
