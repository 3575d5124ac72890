"""console.config: the example loads; every kind of bad config is reported at once, with key paths and lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.config import ConfigError, Problem, check_references, dump_config, load_config, write_starter
from console.config_lines import key_lines, line_of
from console.errors import ConsoleError

REPO = Path(__file__).resolve().parents[2]
TOKEN = "root@pam!labconsole"

GOOD = """\
default_cluster = "home"

[clusters.home]
interval = 3.0

[clusters.home.proxmox]
endpoints = ["https://10.0.0.1:8006"]
token_id = "root@pam!labconsole"
token_secret_file = "secrets/home.token"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.problems


def by_key(problems: list[Problem]) -> dict[str, Problem]:
    return {p.key: p for p in problems}


def test_example_config_loads_with_every_layer():
    config = load_config(REPO / "config.example.toml")
    assert config.default_cluster == "home"
    assert config.log_level == "info"
    assert [c.name for c in config.clusters] == ["home", "lab"]
    home = config.cluster()
    assert home.name == "home" and home.color == "green" and not home.read_only
    assert home.proxmox.endpoints == ("https://192.0.2.11:8006", "https://192.0.2.12:8006", "https://192.0.2.13:8006")
    assert home.proxmox.token_id == TOKEN
    assert home.proxmox.token_secret.file == Path.home() / ".config/labconsole/home.token"
    assert home.proxmox.tls.verify is True and home.proxmox.tls.fingerprint is None
    assert home.ssh.known_hosts == Path.home() / ".ssh/known_hosts"
    assert home.ssh.host("fw2").address == "192.0.2.22"
    assert home.ssh.host("swarm1").address == "192.0.2.41"
    assert home.ssh.host("pve9").address == "pve9"  # no override: the alias itself
    assert home.ceph.via == "api" and home.ceph.ssh_hosts == ("pve1", "pve2", "pve3")
    assert home.swarm.managers == ("ssh://swarm1", "ssh://swarm2", "ssh://swarm3")
    assert home.traefik.url == "http://192.0.2.30:8080" and home.traefik.password is None
    assert [f.name for f in home.vrrp.firewalls] == ["fw1", "fw2"]
    assert home.vrrp.firewalls[0].vmid == 101 and home.vrrp.preferred_master == "fw1"
    assert home.maintenance.reboot_timeout == 600.0 and home.maintenance.root_dataset == "auto"
    lab = config.cluster("lab")
    assert lab.read_only and lab.color == "#d75f00"
    assert lab.proxmox.token_secret.env == "LABCONSOLE_LAB_TOKEN"
    assert lab.ceph is None and lab.swarm is None and lab.traefik is None and lab.vrrp is None


def test_relative_paths_resolve_against_the_config_dir_and_tilde_expands(tmp_path):
    text = GOOD + '\n[clusters.home.ssh]\nknown_hosts = "~/kh"\nkeys = ["keys/id", "/abs/id"]\n'
    config = load_config(write(tmp_path, text))
    home = config.cluster()
    assert home.proxmox.token_secret.file == tmp_path / "secrets/home.token"
    assert home.ssh.known_hosts == Path(os.path.expanduser("~/kh"))
    assert home.ssh.keys == (tmp_path / "keys/id", Path("/abs/id"))
    assert config.path == tmp_path / "config.toml"


def test_layer_timing_falls_back_to_the_cluster(tmp_path):
    text = GOOD + '\n[clusters.home.ceph]\nvia = "api"\n[clusters.home.traefik]\nurl = "http://t:8080"\ninterval = 7\n'
    home = load_config(write(tmp_path, text)).cluster()
    assert home.interval == 3.0 and home.proxmox.interval == 3.0 and home.ceph.interval == 3.0
    assert home.traefik.interval == 7.0


def test_fingerprint_is_normalised(tmp_path):
    fp = ":".join(["AB"] * 32)
    home = load_config(write(tmp_path, GOOD + f'fingerprint = "{fp}"\n')).cluster()
    assert home.proxmox.tls.fingerprint == "ab" * 32


def test_inline_secret_is_refused_and_never_echoed(tmp_path):
    text = GOOD.replace('token_secret_file = "secrets/home.token"', 'token_secret = "s3cr3t-value"')
    text += '\n[clusters.home.traefik]\nurl = "http://t"\nusername = "u"\npassword = "pw-value"\n'
    problems = problems_of(tmp_path, text)
    keys = by_key(problems)
    inline = keys["clusters.home.proxmox.token_secret"]
    assert "token_secret_file" in inline.message and "token_secret_env" in inline.message
    assert inline.line == 9
    assert "password_file" in keys["clusters.home.traefik.password"].message
    message = str(ConfigError(problems))
    assert "s3cr3t-value" not in message and "pw-value" not in message


def test_both_or_neither_secret_reference(tmp_path):
    both = GOOD + 'token_secret_env = "HOME_TOKEN"\n'
    assert "only one" in by_key(problems_of(tmp_path, both))["clusters.home.proxmox.token_secret_env"].message
    neither = GOOD.replace('token_secret_file = "secrets/home.token"\n', "")
    problem = by_key(problems_of(tmp_path, neither))["clusters.home.proxmox.token_secret"]
    assert "token_secret_file" in problem.message and problem.line == 6  # the [clusters.home.proxmox] header


def test_every_problem_is_reported_at_once_with_key_paths_and_lines(tmp_path):
    text = """\
default_cluster = "prod"
colour = "red"

[clusters.home]
read_only = "no"

[clusters.home.proxmox]
endpoints = [
    "https://ok:8006",
    "http://plain:8006",
]
token_id = "root-without-realm"
token_secret_env = "HOME TOKEN"
fingerprint = "12:34"
timeout = 0

[clusters.home.ceph]
via = "rados"

[clusters.home.swarm]
managers = ["docker://x"]

[clusters.home.vrrp]
preferred_master = "fw3"
[[clusters.home.vrrp.firewalls]]
name = "fw1"
[[clusters.home.vrrp.firewalls]]
vmid = "101"
"""
    problems = problems_of(tmp_path, text)
    found = {p.key: p.line for p in problems}
    assert found == {
        "default_cluster": 1,
        "colour": 2,
        "clusters.home.read_only": 5,
        "clusters.home.proxmox.endpoints[1]": 10,
        "clusters.home.proxmox.token_id": 12,
        "clusters.home.proxmox.token_secret_env": 13,
        "clusters.home.proxmox.fingerprint": 14,
        "clusters.home.proxmox.timeout": 15,
        "clusters.home.ceph.via": 18,
        "clusters.home.swarm.managers[0]": 21,
        "clusters.home.vrrp.firewalls[1].name": 27,  # the [[...]] header: the key is absent
        "clusters.home.vrrp.firewalls[1].vmid": 28,
        "clusters.home.vrrp.preferred_master": 24,
    }
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    messages = {p.key: p.message for p in problems}
    assert "no [clusters.prod]" in messages["default_cluster"]
    assert "unknown key" in messages["colour"]
    assert "true or false" in messages["clusters.home.read_only"]
    assert "https://" in messages["clusters.home.proxmox.endpoints[1]"]
    assert "64 hex digits" in messages["clusters.home.proxmox.fingerprint"]
    assert "api, ssh" in messages["clusters.home.ceph.via"]
    assert "missing" in messages["clusters.home.vrrp.firewalls[1].name"]
    rendered = str(ConfigError(problems, tmp_path / "config.toml"))
    assert f"{len(problems)} problems" in rendered
    assert "line 10: clusters.home.proxmox.endpoints[1]:" in rendered


def test_missing_required_keys_and_types(tmp_path):
    text = '[clusters.home.proxmox]\nendpoints = "https://x:8006"\n\n[clusters.home.traefik]\n'
    keys = by_key(problems_of(tmp_path, text))
    assert "must be an array, not a string" in keys["clusters.home.proxmox.endpoints"].message
    assert keys["clusters.home.proxmox.token_id"].message == "missing (required)"
    assert keys["clusters.home.traefik.url"].line == 4


def test_no_clusters_at_all(tmp_path):
    keys = by_key(problems_of(tmp_path, 'default_cluster = "x"\n'))
    assert keys["clusters"].message == "missing (required)"


def test_unknown_key_suggests_the_close_one(tmp_path):
    text = GOOD + '\n[clusters.home.ssh.hosts.pve1]\nadress = "10.0.0.1"\n'
    problem = by_key(problems_of(tmp_path, text))["clusters.home.ssh.hosts.pve1.adress"]
    assert "did you mean 'address'" in problem.message and problem.line == 12


def test_ceph_via_api_needs_proxmox_and_via_ssh_needs_hosts(tmp_path):
    keys = by_key(problems_of(tmp_path, '[clusters.a.ceph]\nvia = "api"\n[clusters.b.ceph]\nvia = "ssh"\n'))
    assert "Proxmox API" in keys["clusters.a.ceph.via"].message
    assert "ssh_hosts" in keys["clusters.b.ceph.ssh_hosts"].message


def test_a_cluster_with_only_ssh_ceph_is_fine(tmp_path):
    config = load_config(write(tmp_path, '[clusters.a.ceph]\nvia = "ssh"\nssh_hosts = ["n1"]\n'))
    assert config.cluster().proxmox is None and config.cluster().ceph.ssh_hosts == ("n1",)


def test_swarm_managers_resolve_relative_unix_sockets(tmp_path):
    text = GOOD + '\n[clusters.home.swarm]\nmanagers = ["unix://docker.sock", "unix:///run/d.sock", "ssh://swarm1"]\n'
    swarm = load_config(write(tmp_path, text)).cluster().swarm
    assert swarm.managers == (f"unix://{tmp_path}/docker.sock", "unix:///run/d.sock", "ssh://swarm1")


def test_tcp_manager_requires_tls_files(tmp_path):
    text = GOOD + '\n[clusters.home.swarm]\nmanagers = ["tcp://10.0.0.5:2376"]\n'
    keys = by_key(problems_of(tmp_path, text))
    assert {"clusters.home.swarm.tls_ca", "clusters.home.swarm.tls_cert", "clusters.home.swarm.tls_key"} <= set(keys)


def test_syntax_error_has_a_line(tmp_path):
    problems = problems_of(tmp_path, 'default_cluster = "home"\n[clusters.home\n')
    assert len(problems) == 1 and problems[0].line == 2 and "not valid TOML" in problems[0].message


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert "labconsole config init" in str(info.value)


def test_env_var_overrides_default_path(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD, "elsewhere.toml")
    monkeypatch.setenv("LABCONSOLE_CONFIG", str(path))
    assert load_config().path == path


def test_check_references_lists_missing_files_and_unset_env(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_TOKEN_UNSET", raising=False)
    text = GOOD + '\n[clusters.lab.proxmox]\nendpoints = ["https://h:8006"]\ntoken_id = "a@pve!b"\n' \
                  'token_secret_env = "LAB_TOKEN_UNSET"\n'
    config = load_config(write(tmp_path, text))
    found = {p.key: p.line for p in check_references(config)}
    assert found == {"clusters.home.proxmox.token_secret_file": 9, "clusters.lab.proxmox.token_secret_env": 14}
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets/home.token").write_text("x\n")
    monkeypatch.setenv("LAB_TOKEN_UNSET", "set")
    assert check_references(config) == []


def test_starter_is_valid_and_never_overwritten(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    write_starter(path)
    assert load_config(path).cluster().proxmox.token_id == TOKEN
    path.write_text("# mine\n")
    with pytest.raises(ConsoleError, match="already exists"):
        write_starter(path)
    assert path.read_text() == "# mine\n"


def test_dump_config_round_trips(tmp_path):
    data = {"default_cluster": "sim", "clusters": {"sim": {"proxmox": {
        "endpoints": ["https://127.0.0.1:8006"], "token_id": "root@pam!sim", "token_secret_file": "token"}}}}
    path = dump_config(data, tmp_path / "config.toml")
    assert load_config(path).cluster().proxmox.token_secret.file == tmp_path / "token"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left behind


def test_key_lines_of_nested_arrays_and_tables():
    text = 'a = 1\n[t]\nx = [\n  "one", # c\n  "two",\n]\ny = """\nz = 2\n"""\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n'
    lines = key_lines(text)
    assert lines["a"] == 1 and lines["t"] == 2 and lines["t.x"] == 3
    assert lines["t.x[0]"] == 4 and lines["t.x[1]"] == 5
    assert "t.z" not in lines and lines["t.y"] == 7  # inside a multi-line string: not a key
    assert lines["arr[0].k"] == 11 and lines["arr[1].k"] == 13
    assert line_of(lines, "arr[1].missing") == 12 and line_of(lines, "t.x[5]") == 3
