"""The pieces of `config discover` and `config check --live` that need no lab:
questions, guest matching, sudo -l parsing, privilege evaluation, known_hosts
writing, the rendered config. (End to end against the sim: tests/sim/test_config_live.py.)"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from console.config import parse_config
from console.config_discover import Asker, Discovery, Guest, run_discover, looks_like, FIREWALL_TAGS, SWARM_TAGS
from console.config_discover import _FIREWALL_NAME, _SWARM_NAME
from console.config_discover_ssh import write_known_hosts
from console.config_discover_toml import render_config
from console.config_live import (FIREWALL_SUDO_COMMANDS, MAINTENANCE_PRIVILEGES, NODE_SUDO_COMMANDS, READ_PRIVILEGES,
                                 has_privilege, missing_privileges, parse_sudo_list, sudo_missing)
from console.errors import ConsoleError
from console.pve_http import parse_endpoint

README = Path(__file__).resolve().parents[2] / "README.md"


def _asker(answers, yes=False):
    said = []
    feed = iter(answers)

    def ask(prompt):
        said.append(prompt)
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return Asker(yes=yes, ask=ask, say=said.append), said


def test_asker_defaults_eof_and_the_typed_yes():
    a, _ = _asker(["", "Y", "yes", "y"])
    assert a.text("address", "10.0.0.1") == "10.0.0.1"  # Enter takes the default
    assert a.confirm("use it?") is True
    assert a.typed_yes("pin?") is True
    assert a.typed_yes("pin?") is False  # "y" is not "yes" for a certificate
    assert a.confirm("more?") is False  # EOF is no
    yes, said = _asker([], yes=True)
    assert yes.confirm("use fw1?") is True and "yes (--yes)" in said[-1]
    assert yes.typed_yes("pin?") is False  # --yes never pins a certificate


@pytest.mark.parametrize("name,tags,swarm,firewall", [
    ("swarm1", ("swarm",), True, False),
    ("mgr-a", ("swarm-manager",), True, False),
    ("docker-m1", (), True, False),
    ("fw2", (), False, True),
    ("edge", ("Firewall",), False, True),
    ("opnsense-a", (), False, True),
    ("fwupd-mirror", (), False, False),
    ("mail", ("mail", "collab"), False, False),
])
def test_guests_that_look_like_managers_and_firewalls(name, tags, swarm, firewall):
    g = Guest(100, name, "pve1", "qemu", tags, "running")
    assert looks_like(g, SWARM_TAGS, _SWARM_NAME) is swarm
    assert looks_like(g, FIREWALL_TAGS, _FIREWALL_NAME) is firewall


SUDO_L = """\
Matching Defaults entries for bob on pve1:
    env_reset, secure_path=/usr/sbin\\:/usr/bin\\:/sbin\\:/bin

User bob may run the following commands on pve1:
    (root) NOPASSWD: /usr/sbin/ha-manager, /usr/bin/apt-get, /usr/bin/ceph
    (root) NOPASSWD: /usr/sbin/proxmox-boot-tool kernel *
    (ALL : ALL) /usr/sbin/reboot
"""


def test_sudo_list_parsing_names_what_is_not_allowed_without_a_password():
    rules = parse_sudo_list(SUDO_L)
    assert (True, "/usr/sbin/proxmox-boot-tool kernel *") in rules and (False, "/usr/sbin/reboot") in rules
    assert sudo_missing(rules, NODE_SUDO_COMMANDS) == ["reboot", "zfs", "sh"]  # reboot: listed, but needs a password
    assert sudo_missing(parse_sudo_list("User a may run the following commands on h:\n    (ALL) NOPASSWD: ALL\n"),
                        NODE_SUDO_COMMANDS + FIREWALL_SUDO_COMMANDS) == []
    assert sudo_missing(parse_sudo_list("sudo: a password is required\n"), ("ceph",)) == ["ceph"]


def test_privileges_propagate_from_the_nearest_listed_path():
    perms = {"/": {"Sys.Audit": 1, "VM.Audit": 0}, "/vms": {"VM.Audit": 1}}
    assert has_privilege(perms, "/nodes", "Sys.Audit")  # propagated from /
    assert has_privilege(perms, "/vms", "VM.Audit")
    assert not has_privilege(perms, "/storage", "VM.Audit")  # on / but not propagated
    assert not has_privilege(perms, "/", "Sys.Modify")
    missing = missing_privileges(perms, READ_PRIVILEGES)
    assert [(p, v) for p, v, _ in missing] == [("/storage", "Datastore.Audit")]
    assert not has_privilege("not a map", "/", "Sys.Audit")


def test_known_hosts_appends_once_and_refuses_a_changed_key(tmp_path):
    kh = tmp_path / "sub" / "known_hosts"
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne"
    assert write_known_hosts(kh, {("10.0.0.1", 22): key, ("127.0.0.1", 2222): key}) == 2
    assert kh.read_text() == f"10.0.0.1 {key}\n[127.0.0.1]:2222 {key}\n"
    assert write_known_hosts(kh, {("10.0.0.1", 22): key}) == 0
    with pytest.raises(ConsoleError, match=r"different ssh-ed25519 key for \[127.0.0.1\]:2222"):
        write_known_hosts(kh, {("127.0.0.1", 2222): "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther"})


def test_endpoint_parsing():
    assert parse_endpoint("pve1").url == "https://pve1:8006"
    assert parse_endpoint("https://[::1]:9006").url == "https://[::1]:9006"
    with pytest.raises(ConsoleError, match="expected https://HOST"):
        parse_endpoint("http://pve1:8006")


def _args(**kw):
    base = dict(ssh_user=None, ssh_key=None, swarm_manager=None, traefik_url=None, out=None, force=False, yes=True,
                config=None)
    return argparse.Namespace(**{**base, **kw})


def test_the_rendered_config_loads_with_every_layer_and_without_optional_ones(tmp_path):
    d = Discovery("https://192.0.2.11:8006", ":".join(["AB"] * 32), "labconsole@pve!console", tmp_path / "token",
                  version="8.2.4", cluster_name="home", nodes=[("pve1", "192.0.2.11"), ("pve2", "192.0.2.12")])
    d.firewalls = [Guest(101, "fw1", "pve1", "qemu", ("firewall",), "running")]
    d.managers = [Guest(121, "swarm1", "pve1", "qemu", ("swarm",), "running")]
    d.addresses = {"pve1": ("192.0.2.11", 22), "fw1": ("fw1", 2222)}
    d.ceph = True
    d.notes = ["Ceph: HTTP 403 Permission check failed (/, Sys.Audit)"]
    text = render_config(d, _args(ssh_user="ops"), tmp_path / "known_hosts")
    c = parse_config(text, tmp_path / "config.toml").cluster()
    assert c.proxmox.tls.fingerprint == "ab" * 32 and c.ssh.user == "ops"
    assert c.swarm.managers == ("ssh://swarm1",) and c.swarm.node_vms == (("swarm1", 121),)
    assert c.ssh.host("fw1").port == 2222 and c.vrrp.track_file == "/etc/keepalived/track"
    assert "# NOT READ: Ceph: HTTP 403 Permission check failed (/, Sys.Audit)" in text
    bare = Discovery("https://192.0.2.11:8006", ":".join(["AB"] * 32), "a@pam!b", tmp_path / "token")
    c = parse_config(render_config(bare, _args(), tmp_path / "kh"), tmp_path / "c.toml").cluster()
    assert c.ceph is None and c.swarm is None and c.vrrp is None and c.traefik is None


def test_discover_never_overwrites_an_existing_config(tmp_path, capsys):
    out = tmp_path / "config.toml"
    out.write_text("# mine\n")
    code = run_discover(_args(out=str(out), url="https://192.0.2.1:8006", token_id=None, token_secret_file=None,
                              accept_fingerprint=None, known_hosts=None, cluster_name=None))
    assert code == 2 and "already exists" in capsys.readouterr().err and out.read_text() == "# mine\n"


def test_readme_lists_every_privilege_and_sudo_command_the_console_checks():
    text = README.read_text()
    section = text[text.index("## Connect to your cluster"):]
    for _path, priv, _why in READ_PRIVILEGES + MAINTENANCE_PRIVILEGES:
        assert priv in section
    for cmd in NODE_SUDO_COMMANDS + FIREWALL_SUDO_COMMANDS:
        assert cmd in section
    assert "track_file" in section and "config discover" in section and "check --live" in section


def test_config_check_exit_codes_and_json(tmp_path, capsys):
    from console.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters.home.proxmox]\nendpoints = ['http://x']\n")
    assert main(["config", "check", "--live", "--config", str(bad)]) == 2  # invalid: nothing is contacted
    assert "is not a valid URL" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text("[clusters.home]\ncolor = 'red'\n")
    assert main(["config", "check", "--json", "--config", str(good)]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["clusters"] == {"home": {"layers": [], "read_only": False}}


class PermissionsOnly:
    """Answers /access/permissions with a fixed map and /cluster/status with 200 (the sim covers the HTTP path)."""

    def __init__(self, perms):
        self.perms = perms

    def get(self, path, **params):
        return self.perms if path == "access/permissions" else []


def test_maintenance_privileges_are_only_required_when_the_cluster_may_write():
    from console.config_live import _privileges

    audit = {"/": {"Sys.Audit": 1, "VM.Audit": 1, "Datastore.Audit": 1}}
    ro = _privileges(PermissionsOnly(audit), "a@pve!t", read_only=True)
    assert [r.ok for r in ro] == [True]
    rw = _privileges(PermissionsOnly(audit), "a@pve!t", read_only=False)
    missing = [r.text for r in rw if not r.ok]
    assert "maintenance: token a@pve!t lacks Sys.PowerMgmt on /nodes (node reboot)" in missing
    assert len(missing) == len(MAINTENANCE_PRIVILEGES)
