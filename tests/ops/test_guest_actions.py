"""Guest lifecycle and migration, headless against the simulated lab: each action
ends in the state PVE reports, bad input is refused before anything is sent."""

from __future__ import annotations

from tests.ops.conftest import log_records


def test_guests_lists_every_guest_with_node_state_and_ha(cli):
    code, rows = cli.json("guests")
    assert code == 0
    by_id = {g["vmid"]: g for g in rows}
    assert by_id[201]["type"] == "lxc" and by_id[201]["node"] == "pve2" and by_id[201]["ha"]
    assert by_id[113]["status"] == "stopped"
    code, out, _ = cli("guests", "--node", "pve3")
    assert code == 0 and "jellyfin" in out and "homeassistant" not in out


def test_shutdown_start_reboot_and_stop_follow_their_tasks(cli, state_dir):
    code, res = cli.json("guest", "shutdown", "112", "--yes", "--timeout", "30")
    assert code == 0 and res["ok"] and res["upid"].startswith("UPID:pve2:") and res["exitstatus"] == "OK"
    assert cli.guest(112)["status"] == "stopped"
    code, res = cli.json("guest", "start", "112", "--yes")
    assert code == 0 and res["ok"] and cli.guest(112)["status"] == "running"
    code, res = cli.json("guest", "reboot", "112", "--yes")
    assert code == 0 and res["ok"] and res["upid"].split(":")[5] == "qmreboot"
    assert cli.guest(112)["status"] == "running"
    code, _out, _err = cli("guest", "stop", "112", "--yes")
    assert code == 0 and cli.guest(112)["status"] == "stopped"
    calls = [r for r in log_records(state_dir) if r["kind"] == "api"]
    assert [r["call"].rsplit("/", 1)[-1] for r in calls] == ["shutdown", "start", "reboot", "stop"]
    assert all(r["target"] == "112" and r["ok"] and r["result"].startswith("ok: UPID:") for r in calls)


def test_stop_wants_the_vmid_typed(cli):
    code, _out, err = cli("guest", "stop", "122", stdin="y\n")
    assert code == 2 and "cancelled" in err and "STOP VM 122 (swarm2)" in err
    assert cli.guest(122)["status"] == "running"
    code, _out, _err = cli("guest", "stop", "122", stdin="122\n")
    assert code == 0 and cli.guest(122)["status"] == "stopped"


def test_a_no_at_the_prompt_changes_nothing(cli, state_dir):
    code, _out, err = cli("guest", "migrate", "112", "pve3", stdin="n\n")
    assert code == 2 and "Migrate VM 112 (backup-server) from pve2 to pve3, live, without downtime." in err
    assert cli.guest(112)["node"] == "pve2" and log_records(state_dir) == []


def test_migrate_to_a_chosen_node_live(cli):
    code, res = cli.json("guest", "migrate", "112", "pve3", "--yes")
    assert code == 0 and res["ok"], res
    assert any("migration finished successfully" in line for line in res["log"])
    assert cli.guest(112)["node"] == "pve3"


def test_migrate_a_container_by_restart_states_the_downtime(cli):
    code, _out, err = cli("guest", "targets", "200")
    assert code == 0
    code, out, err = cli("guest", "migrate", "200", "pve3", stdin="y\n")
    assert code == 0, err
    assert "through the HA manager (restart, about 15 s down)" in err
    assert cli.guest(200)["node"] == "pve3"


def test_bad_targets_are_refused_before_anything_is_sent(cli, lab, state_dir):
    code, _out, err = cli("guest", "migrate", "112", "pve9", "--yes")
    assert code == 2 and "no node named 'pve9'" in err and err.count("\n") == 1
    code, _out, err = cli("guest", "migrate", "112", "pve2", "--yes")
    assert code == 2 and "already on pve2" in err
    lab.control("node-down", "pve3")
    lab.wait_until(lambda s: s["nodes"]["pve3"]["status"] == "offline")
    code, _out, err = cli("guest", "migrate", "112", "pve3", "--yes")
    assert code == 2 and "pve3 cannot take VM 112 (backup-server): offline" in err
    assert log_records(state_dir) == [] and cli.tasks(type="qmigrate") == []
    assert cli.guest(112)["node"] == "pve2"


def test_migrate_refused_for_local_resources(cli, lab):
    lab.control("local-resource", "112")
    code, opts = cli.json("guest", "targets", "112")
    assert code == 0 and opts["local_resources"] == ["hostpci0"] and "local resources" in opts["blocked"]
    code, _out, err = cli("guest", "migrate", "112", "pve1", "--yes")
    assert code == 2 and "uses local resources (hostpci0)" in err
    assert cli.guest(112)["node"] == "pve2" and cli.tasks(type="qmigrate") == []


def test_ha_guest_moves_through_the_ha_manager(cli, state_dir):
    code, res = cli.json("guest", "migrate", "110", "pve3", "--yes")
    assert code == 0 and res["ok"], res
    assert cli.guest(110)["node"] == "pve3"
    call = [r for r in log_records(state_dir) if r["kind"] == "api"][-1]
    assert call["call"] == "POST cluster/ha/resources/vm:110/migrate" and call["target"] == "vm:110"


def test_evacuate_moves_every_guest_off_the_node(cli):
    code, res = cli.json("guest", "evacuate", "pve3", "--yes")
    # jellyfin (111) has a PCI device: it stays and the evacuation says so
    assert code == 2 and [s["vmid"] for s in res["staying"]] == [111]
    assert {i["vmid"] for i in res["items"]} == {113, 123} and all(i["state"] == "done" for i in res["items"])
    rows = {g["vmid"]: g for g in cli.json("guests")[1]}
    assert rows[113]["node"] != "pve3" and rows[123]["node"] != "pve3" and rows[111]["node"] == "pve3"


def test_unknown_guest_and_bad_vmid_are_one_line_exit_2(cli):
    code, _out, err = cli("guest", "start", "999", "--yes")
    assert code == 2 and err == "labconsole: guest: no guest 999 in the cluster (labconsole guests lists them)\n"
    code, _out, err = cli("guest", "start", "abc", "--yes")
    assert code == 2 and "not a VMID" in err
    code, _out, err = cli("guest", "migrate", "112", "--yes")
    assert code == 2 and "needs a TARGET node" in err


async def test_an_action_on_a_guest_that_vanished_meanwhile_reports_pves_error(lab):
    """The guest was looked up, then moved away before the write: PVE's own error, nothing done."""
    from dataclasses import replace

    from console.config import load_config
    from console.ops import guests
    from console.sources import build_sources

    sources = build_sources(load_config(lab.config_path).cluster(None))
    try:
        g = await guests.find_guest(sources, 112)
        stale = replace(g, node="pve1")
        res = await guests.power(sources, 112, "shutdown", guest=stale)
        assert not res.ok and "Configuration file 'nodes/pve1/qemu-server/112.conf' does not exist" in res.message
        assert (await guests.find_guest(sources, 112)).status == "running"
    finally:
        await sources.get("proxmox").close()


def test_batch_runs_a_queue_with_a_result_per_guest(cli, lab):
    lab.control("local-resource", "122")
    code, rows = cli.json("guest", "migrate", "112,122,121", "pve3", "--yes")
    assert code == 2
    assert [(r["vmid"], r["state"]) for r in rows] == [(112, "done"), (122, "failed"), (121, "done")]
    assert "local resources" in rows[1]["result"]["message"]
    guests = {g["vmid"]: g["node"] for g in cli.json("guests")[1]}
    assert guests[112] == guests[121] == "pve3" and guests[122] == "pve2"
    code, _out, err = cli("guest", "shutdown", "112,998", "--yes")
    assert code == 2 and "no guest 998" in err and cli.guest(112)["status"] == "running"
