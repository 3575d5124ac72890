"""`labconsole check` end to end against the simulated lab, through the real CLI."""

import json

from console.cli import main


def test_check_seed_lab_is_ok_once_every_guest_is_backed_up(sim, capsys):
    assert sim.back_up_all() == [111, 113]  # the seed ships one stale and one never backed-up guest
    code = main(["--config", str(sim.config_path), "check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "OK" in out and "3/3 nodes online" in out and "HEALTH_OK" in out and "VG_1 (WAN,LAN,IOT) on fw1" in out


def test_check_names_the_down_osd_and_its_host(sim, capsys):
    sim.control("osd-down", "1")
    code = main(["--config", str(sim.config_path), "check"])
    out = capsys.readouterr().out
    assert code in (1, 2), out
    assert "osd.1 on pve2 is down" in out


def test_check_json_is_machine_readable_and_has_no_secret(sim, capsys):
    sim.control("split-brain")
    code = main(["--config", str(sim.config_path), "check", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and doc["status"] == "critical" and doc["exit_code"] == 2
    assert any("SPLIT BRAIN" in f["text"] for f in doc["findings"])
    assert set(doc["layers"]) == {"proxmox", "ceph", "swarm", "traefik", "vrrp"}
    secret = (sim.dir / "token").read_text().strip() if (sim.dir / "token").exists() else None
    text = json.dumps(doc)
    if secret:
        assert secret not in text
    assert "auth_data" not in text and "lab-vrrp-s3cret" not in text


def test_check_unreachable_source_is_unknown(sim, capsys):
    sim.back_up_all()  # else the seed's backup findings make it critical
    sim.control("error-rate", "traefik", 1.0)
    code = main(["--config", str(sim.config_path), "check", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["layers"]["traefik"]["ok"] is False and doc["layers"]["traefik"]["error"]
    assert code == 3 and doc["status"] == "unknown"
