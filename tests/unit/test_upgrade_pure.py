"""console/upgrade without a cluster: what apt prints read into facts, the [upgrade] config,
the snapshot expiry, the inventory's rows and its hook for the Swarm services."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.config import ConfigError, load_config
from console.upgrade import apt_text as A
from console.upgrade import inventory as I
from console.upgrade.cleanup import LeftSnapshot, expiry
from console.upgrade.guest_access import _agent_result, vmid_of_label

SIMULATE = """\
Reading package lists...
Inst libssl3 [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.8/stable-updates [all])
Inst linux-image-amd64 [6.1.115-1] (6.1.119-1 Debian:12.8/stable [amd64])
Inst newpkg (1.0-1 Debian:12.8/stable [amd64])
Inst evil\x1b[31m [1] (2\x07 Debian:12/stable-security [amd64])
Conf libssl3 (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
"""


def test_simulate_output_gives_names_versions_and_security():
    pk = A.parse_simulate(SIMULATE)
    assert [(p.name, p.old, p.new, p.security) for p in pk[:4]] == [
        ("libssl3", "3.0.14-1~deb12u2", "3.0.15-1~deb12u1", True),
        ("tzdata", "2024a-0+deb12u1", "2024b-0+deb12u1", False),
        ("linux-image-amd64", "6.1.115-1", "6.1.119-1", False),
        ("newpkg", "", "1.0-1", False)]
    assert "\x1b" not in pk[4].name and "\x07" not in pk[4].new  # inert where it enters
    assert A.needs_reboot(pk) and not A.needs_reboot(pk[:2])


def test_os_release_free_space_and_sections():
    rel = A.os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    assert A.is_debian(rel) and A.os_name(rel) == "Debian GNU/Linux 12 (bookworm)"
    assert A.is_debian(A.os_release("ID=raspbian\nID_LIKE=debian\n"))
    assert not A.is_debian(A.os_release("ID=alpine\nNAME=Alpine\n"))
    assert A.df_free_kb("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 40 60 40% /") == 60
    assert A.df_free_kb("garbage") is None
    assert A.sections(f"a{A.MARK}\nb\n{A.MARK}c", 4) == ["a", "b", "c", ""]
    assert A.restart_asked("reboot-required\n") and A.restart_asked("NEEDRESTART-VER: 3.6\nNEEDRESTART-KSTA: 3\n")
    assert not A.restart_asked("NEEDRESTART-KSTA: 1\n") and not A.restart_asked("")


def test_agent_output_lines_and_exit_status_survive_the_inert_boundary():
    text = "line one\u241eline two\u241e@@labconsole-rc=100\u241e"  # what inert_tree leaves of RS
    r = _agent_result({"exited": 1, "exitcode": 0, "out-data": text})
    assert (r.exit_status, r.stdout) == (100, "line one\nline two\n")
    assert _agent_result({"exited": 1, "out-data": "no marker"}).exit_status == 255
    assert vmid_of_label("200/mail") == 200
    with pytest.raises(Exception, match="not a guest"):
        vmid_of_label("firewalls")


def test_snapshot_expiry_is_read_from_its_description():
    t = expiry("labconsole upgrade run 20261201-1; remove after 2026-12-04T18:30:00Z")
    assert t == 1796409000.0
    assert expiry("a snapshot someone took") is None
    s = LeftSnapshot(200, "mail", "labconsole-x", t, run_finished=True)
    assert s.due(t + 1) and not s.due(t - 1)
    assert not LeftSnapshot(200, "mail", "labconsole-x", t, run_finished=False).due(t + 1)


CONFIG = """\
[clusters.home.proxmox]
endpoints = ["https://10.0.0.1:8006"]
token_id = "root@pam!labconsole"
token_secret_file = "secret"

[clusters.home.upgrade]
snapshot_grace_hours = 24
{extra}
"""


def test_upgrade_config_and_its_mistakes(tmp_path: Path):
    good = CONFIG.format(extra='[[clusters.home.upgrade.guests]]\nguest = "mail"\ntcp = ["10.0.0.5:25"]\n'
                               'http = ["https://mail.example/"]\nunits = ["postfix"]\n')
    (tmp_path / "c.toml").write_text(good)
    up = load_config(tmp_path / "c.toml").cluster(None).upgrade
    assert up.snapshot_grace_hours == 24 and up.probe_for(200, "mail").units == ("postfix",)
    assert up.probe_for(201, "db") is None
    bad = CONFIG.format(extra='[[clusters.home.upgrade.guests]]\nguest = "mail"\ntcp = ["nohost"]\n'
                              'http = ["ftp://x"]\nwhat = 1\n[[clusters.home.upgrade.guests]]\nguest = "mail"\n')
    (tmp_path / "b.toml").write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "b.toml")
    text = str(info.value)
    for part in ("upgrade.guests[0].tcp[0]", "'nohost' is not host:port", "upgrade.guests[0].http[0]",
                 "upgrade.guests[0].what", "guest 'mail' is listed twice"):
        assert part in text, text


def test_rows_read_as_lines_and_the_service_hook_adds_its_rows(monkeypatch):
    rows = [I.UpdateRow("node", "pve1", where="pve1", pending=2, security=1, reboot=True),
            I.UpdateRow("vm", "ha", 110, "pve1", inspectable=False, note="not inspectable: not Debian (HAOS)"),
            I.UpdateRow("ct", "mail", 200, "pve1", pending=0)]
    assert rows[0].line() == "node     pve1: 2 pending, 1 security; reboot needed"
    assert rows[1].line() == "vm       ha (110) on pve1: not inspectable: not Debian (HAOS)"
    assert rows[2].line() == "ct       mail (200) on pve1: up to date"
    assert I.text(rows).splitlines()[-1] == "2 updates pending in 1 of 3 items; 1 not inspectable"

    class Pve:
        async def fetch(self):
            from console.model import ProxmoxState

            return ProxmoxState(cluster_name="c", quorate=True, votes=1, expected_votes=1, nodes=(), guests=())

    class Sources:
        ssh = None

        def get(self, name):
            return Pve() if name == "proxmox" else None

    async def services(sources, cluster):
        return [I.UpdateRow("service", "whoami", pending=1, via="registry")]

    monkeypatch.setattr(I, "service_updates", services)
    got = asyncio.run(I.inventory(Sources(), None))
    assert [(r.kind, r.name) for r in got] == [("service", "whoami")]


async def test_tcp_and_http_probes_say_what_fails():
    from console.upgrade.probes import http_problem, tcp_problem

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await tcp_problem(f"127.0.0.1:{port}", 2.0) is None
    finally:
        server.close()
        await server.wait_closed()
    problem = await tcp_problem(f"127.0.0.1:{port}", 2.0)
    assert problem is not None and problem.startswith(f"tcp 127.0.0.1:{port}: ")
    problem = await http_problem(f"http://127.0.0.1:{port}/", 2.0)
    assert problem is not None and problem.startswith(f"http http://127.0.0.1:{port}/: ConnectionError")
