"""`labconsole config discover` and `config check --live` against the simulated lab.

Discover runs as the user would run it: the CLI in a subprocess, once with
flags only and once answering its questions on stdin; the config it writes
must load, pass `config check`, and `check --live` must find everything
working. Then the failures check --live must name: a token without Sys.Audit
(the sim started with --token-lacks), an unknown host key, a refused key.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import asyncssh
import pytest

from tests.simlab import REPO_ROOT, SimLab

CLI = [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())"]


def labconsole(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=timeout,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def _sim_cluster(lab: SimLab) -> dict:
    cfg = tomllib.loads(lab.config_path.read_text())
    return cfg["clusters"][cfg["default_cluster"]]


def _discover_flags(lab: SimLab, out: Path) -> list[str]:
    c = _sim_cluster(lab)
    args = ["config", "discover", "--url", c["proxmox"]["endpoints"][0], "--token-id", c["proxmox"]["token_id"],
            "--token-secret-file", c["proxmox"]["token_secret_file"], "--out", str(out), "--ssh-key",
            c["ssh"]["keys"][0]]
    for name, port in lab.info["ports"]["ssh"].items():
        args += ["--ssh-address", f"{name}=127.0.0.1:{port}"]
    for sock in lab.info["docker_sockets"].values():
        args += ["--swarm-manager", f"unix://{sock}"]
    return args + ["--traefik-url", f"http://127.0.0.1:{lab.info['ports']['traefik']}"]


@pytest.fixture(scope="module")
def lab():
    with SimLab("seed", speed=10.0) as lab:
        yield lab


def test_discover_with_flags_writes_a_pinned_config_that_checks_live(lab, tmp_path):
    out = tmp_path / "cfg" / "config.toml"
    fingerprint = _sim_cluster(lab)["proxmox"]["fingerprint"]
    started = time.monotonic()
    r = labconsole(*_discover_flags(lab, out), "--accept-fingerprint", fingerprint, "--yes")
    print(f"\nconfig discover on the sim (flags): {time.monotonic() - started:.2f} s wall, exit {r.returncode}")
    assert r.returncode == 0, r.stderr
    assert fingerprint in r.stdout and "matches --accept-fingerprint: pinned" in r.stdout
    cfg = tomllib.loads(out.read_text())
    demo = cfg["clusters"]["demo"]
    assert demo["proxmox"]["fingerprint"] == fingerprint
    assert [f["name"] for f in demo["vrrp"]["firewalls"]] == ["fw1", "fw2"]
    assert demo["swarm"]["node_vms"] == {"swarm1": 121, "swarm2": 122, "swarm3": 123}
    assert demo["ceph"]["via"] == "api"
    known = (out.parent / "known_hosts").read_text().splitlines()
    assert len(known) == 5 and all(line.startswith("[127.0.0.1]:") for line in known)
    assert "token_secret" not in out.read_text().replace("token_secret_file", "")  # no secret inline

    assert labconsole("config", "check", "--config", str(out)).returncode == 0
    live = labconsole("config", "check", "--live", "--json", "--config", str(out))
    report = json.loads(live.stdout)
    assert live.returncode == 0, [r for r in report["clusters"]["demo"] if not r["ok"]]
    layers = {r["layer"] for r in report["clusters"]["demo"]}
    assert layers == {"proxmox", "ssh", "ceph", "swarm", "vrrp", "traefik"}

    again = labconsole(*_discover_flags(lab, out), "--accept-fingerprint", fingerprint, "--yes")
    assert again.returncode == 2 and "already exists" in again.stderr  # never overwritten without --force


def test_discover_interactively_answers_on_stdin(lab, tmp_path):
    out = tmp_path / "config.toml"
    c = _sim_cluster(lab)
    ports = lab.info["ports"]["ssh"]
    answers = [
        c["proxmox"]["endpoints"][0], c["proxmox"]["token_id"], c["proxmox"]["token_secret_file"],
        "yes",  # pin the certificate
        "y", "y", "n",  # swarm1, swarm2 yes; swarm3 no
        "y", "",  # fw1 yes; fw2: Enter is no
        f"127.0.0.1:{ports['pve1']}", f"127.0.0.1:{ports['pve2']}", f"127.0.0.1:{ports['pve3']}",
        f"127.0.0.1:{ports['fw1']}",
        "127.0.0.1:1", "127.0.0.1:1",  # swarm1, swarm2: no sshd there in the sim (connection refused)
        "y", "y", "n", "y",  # host keys: pve1, pve2 trusted, pve3 not, fw1 trusted
    ]
    started = time.monotonic()
    r = labconsole("config", "discover", "--out", str(out), stdin="\n".join(answers) + "\n")
    print(f"\nconfig discover on the sim (interactive): {time.monotonic() - started:.2f} s wall, exit {r.returncode}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(type yes)" in r.stdout and "connection refused" in r.stdout
    demo = tomllib.loads(out.read_text())["clusters"]["demo"]
    assert demo["swarm"]["managers"] == ["ssh://swarm1", "ssh://swarm2"]
    assert [f["name"] for f in demo["vrrp"]["firewalls"]] == ["fw1"]
    assert demo["ssh"]["hosts"]["pve2"] == {"address": "127.0.0.1", "port": ports["pve2"]}
    known = (tmp_path / "known_hosts").read_text()
    assert f"[127.0.0.1]:{ports['pve1']} " in known and f"[127.0.0.1]:{ports['pve3']} " not in known
    assert "# NOT READ: no host key for swarm1" in out.read_text()
    assert labconsole("config", "check", "--config", str(out)).returncode == 0


def test_discover_does_not_pin_a_certificate_that_was_not_confirmed(lab, tmp_path):
    out = tmp_path / "config.toml"
    wrong = ":".join(["AB"] * 32)
    r = labconsole(*_discover_flags(lab, out), "--accept-fingerprint", wrong, "--yes")
    assert r.returncode == 1 and "does not match --accept-fingerprint" in r.stderr and not out.exists()
    r = labconsole(*_discover_flags(lab, out), "--yes", stdin="y\n")  # --yes does not pin; only a typed "yes"
    assert r.returncode == 1 and "certificate not confirmed" in r.stderr and not out.exists()


def _with_ssh(lab: SimLab, tmp_path: Path, **ssh) -> Path:
    import tomli_w

    cfg = tomllib.loads(lab.config_path.read_text())
    cfg["clusters"]["demo"]["ssh"].update({k: str(v) if isinstance(v, Path) else v for k, v in ssh.items()})
    out = tmp_path / "config.toml"
    out.write_text(tomli_w.dumps(cfg))
    return out


def test_check_live_names_an_unknown_host_key_and_a_refused_key(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    r = labconsole("config", "check", "--live", "--config", str(_with_ssh(lab, tmp_path, known_hosts=empty)))
    assert r.returncode == 1
    fp = asyncssh.read_private_key(str(lab.dir / "ssh_host_ed25519_key")).get_fingerprint("sha256")
    assert f"127.0.0.1:{lab.info['ports']['ssh']['pve1']} is not in {empty}: it presented ssh-ed25519 {fp}" in r.stdout

    stranger = tmp_path / "id_other"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    stranger.chmod(0o600)
    r = labconsole("config", "check", "--live", "--config", str(_with_ssh(lab, tmp_path, keys=[str(stranger)])))
    assert r.returncode == 1 and "root@127.0.0.1" in r.stdout and "refused our keys" in r.stdout


def test_check_live_names_the_privilege_a_token_lacks():
    with SimLab("seed", speed=10.0, extra_args=("--token-lacks", "Sys.Audit")) as lab:
        r = labconsole("config", "check", "--live", "--config", str(lab.config_path))
        assert r.returncode == 1
        assert "token root@pam!labconsole lacks Sys.Audit on / (cluster status, HA and Ceph)" in r.stdout
        assert "refused: Permission check failed (/, Sys.Audit)" in r.stdout
        assert "maintenance: has Sys.Modify, Sys.PowerMgmt, VM.Migrate, VM.PowerMgmt" in r.stdout
        report = json.loads(labconsole("config", "check", "--live", "--json", "--config", str(lab.config_path)).stdout)
        missing = [x["text"] for x in report["clusters"]["demo"] if not x["ok"] and x["layer"] == "proxmox"]
        assert any("lacks Sys.Audit on /nodes" in t for t in missing)


def test_discover_with_a_wrong_secret_says_so_without_showing_it(lab, tmp_path):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("0b3c3e5e-not-the-secret\n")
    args = _discover_flags(lab, tmp_path / "config.toml")
    args[args.index("--token-secret-file") + 1] = str(wrong)
    r = labconsole(*args, "--accept-fingerprint", _sim_cluster(lab)["proxmox"]["fingerprint"], "--yes")
    assert r.returncode == 1 and "HTTP 401 authentication failure" in r.stderr
    assert "not-the-secret" not in r.stdout + r.stderr and not (tmp_path / "config.toml").exists()
