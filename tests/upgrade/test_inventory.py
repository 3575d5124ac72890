"""`labconsole upgrade list` against the sim: every node, firewall, CT and VM with what is
pending, read the way each is reached; the ones that cannot be read say why."""

from __future__ import annotations

import json

from tests.upgrade.conftest import cluster_for, upgrade


def test_list_covers_nodes_firewalls_cts_and_vms(lab):
    code, out = upgrade(cluster_for(lab), "list", "--json")
    assert code == 0
    rows = {(r["kind"], r["name"]): r for r in json.loads(out)}
    assert {k for k, _ in rows} == {"node", "firewall", "ct", "vm"}
    node = rows[("node", "pve1")]
    assert node["via"] == "api" and node["pending"] == 12 and node["reboot"] and node["kernel"] == "6.8.12-4-pve"
    fw = rows[("firewall", "fw2")]
    assert (fw["via"], fw["vmid"], fw["pending"], fw["security"], fw["reboot"]) == ("ssh", 102, 9, 4, True)
    ct = rows[("ct", "mail")]
    assert (ct["via"], ct["pending"], ct["reboot"]) == ("pct", 7, False)
    assert {"name": "postfix", "old": "3.7.11-0+deb12u1", "new": "3.7.12-0+deb12u1", "security": True} \
        in ct["packages"]
    vm = rows[("vm", "swarm1")]
    assert (vm["via"], vm["pending"], vm["kernel"], vm["reboot"]) == ("agent", 9, "6.1.0-27-amd64", True)
    assert rows[("vm", "homeassistant")]["note"] == "not inspectable: not Debian (Home Assistant OS)"
    assert rows[("vm", "jellyfin")]["note"].startswith("not inspectable: no guest agent and no SSH address")
    assert rows[("vm", "debian-template")]["note"] == "not inspectable: stopped"


def test_list_in_words_and_after_an_upgrade(lab):
    code, out = upgrade(cluster_for(lab, grace=0), "run", "db", "--yes")
    assert code == 0, out[-2000:]
    code, out = upgrade(cluster_for(lab), "list")
    assert "ct       db (201) on pve2: up to date" in out
    assert "firewall fw1 (101) on pve1: 9 pending, 4 security; reboot needed" in out


def test_hostile_names_are_shown_inert_and_capped():
    from console.config import load_config
    from tests.simlab import SimLab

    with SimLab("hostile", speed=60) as lab:
        code, out = upgrade(load_config(lab.config_path).cluster(None), "list")
    assert code == 0
    assert not any(c in out for c in "\x1b\x07\x00\x9b"), "a control character reached the output"
    assert "g300-x␛]0;PWNED␇ (300)" in out and "… (10005 chars) (316)" in out
    assert max(len(line) for line in out.splitlines()) < 200
