"""`python -m console.sim` as a process: start, ready, config, control CLI, stop, parent death, loopback only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.simlab import REPO_ROOT, SimLab, SimLabError

EXAMPLE = REPO_ROOT / "config.example.toml"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def keys_of(table: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in table.items():
        path = f"{prefix}.{k}" if prefix else k
        out.add(path)
        if isinstance(v, dict):
            out |= keys_of(v, path)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                out |= keys_of(item, path + "[]")
    return out


def normalise(keys: set[str], cluster: str, hosts: list[str]) -> set[str]:
    out = set()
    for k in keys:
        k = k.replace(f"clusters.{cluster}", "clusters.C")
        for h in hosts:
            k = k.replace(f"ssh.hosts.{h}", "ssh.hosts.H")
        out.add(k)
    return out


def test_start_writes_config_files_and_stops_cleanly():
    lab = SimLab("seed", speed=10.0).start()
    try:
        d = lab.dir
        for name in ("config.toml", "sim.json", "ready", "token", "known_hosts", "id_ed25519", "pve-cert.pem"):
            assert (d / name).is_file(), name
        assert oct((d / "token").stat().st_mode & 0o777) == "0o600"
        info = json.loads((d / "sim.json").read_text())
        assert info["pid"] == lab.pid and info["control_url"].startswith("http://127.0.0.1:")
        cfg = tomllib.loads(lab.config_path.read_text())
        assert cfg["default_cluster"] == "demo"
        demo = cfg["clusters"]["demo"]
        pve = demo["proxmox"]
        assert pve["verify_tls"] is True and len(pve["fingerprint"].split(":")) == 32
        assert all(e.startswith("https://127.0.0.1:") for e in pve["endpoints"]) and len(pve["endpoints"]) == 3
        assert Path(pve["token_secret_file"]).read_text().strip()
        assert pve["token_id"] == "root@pam!labconsole"
        # the secret is referenced, never inline
        assert Path(pve["token_secret_file"]).read_text().strip() not in lab.config_path.read_text()
        if "swarm" in demo:
            for m in demo["swarm"]["managers"]:
                assert m.startswith("unix://") and Path(m[7:]).is_socket()
        if demo["ssh"].get("hosts"):
            # swarm VMs: h-operate2
            assert set(demo["ssh"]["hosts"]) == {"pve1", "pve2", "pve3", "fw1", "fw2", "swarm1", "swarm2", "swarm3"}
            known = (d / "known_hosts").read_text().splitlines()
            assert {f"[127.0.0.1]:{h['port']}"
                    for h in demo["ssh"]["hosts"].values()} == {line.split()[0] for line in known}
            assert demo["vrrp"]["dump"] == "ka-state" and demo["vrrp"]["preferred_master"] == "fw1"
        # every key the sim writes is a key of config.example.toml
        example = tomllib.loads(EXAMPLE.read_text())
        allowed = normalise(keys_of(example), "home", ["pve1", "pve2", "pve3", "fw1", "fw2"])
        allowed |= {k.replace("clusters.lab", "clusters.C") for k in keys_of(example)}
        allowed |= {"clusters.C.proxmox.fingerprint", "clusters.C.swarm.node_vms", "clusters.C.swarm.node_vms.swarm1",
                    "clusters.C.swarm.node_vms.swarm2",
                    # commented-out keys of the example
                    "clusters.C.swarm.node_vms.swarm3", "clusters.C.ssh.hosts.H.port",
                    "clusters.C.swarm.registry_mirrors", "clusters.C.swarm.registry_mirrors.docker.io"}
        written = normalise(keys_of(cfg), "demo", ["pve1", "pve2", "pve3", "fw1", "fw2", "swarm1", "swarm2", "swarm3"])
        assert written - allowed == set()
        state = lab.state()
        assert state["ceph"]["health"] == "HEALTH_OK" and state["vrrp"]["vip_holder"] == ["fw1"]
        pid = lab.pid
    finally:
        code = lab.stop()
    assert code == 0
    assert wait_gone(pid)
    assert not lab.dir.exists()  # SimLab removes the directory it created


def test_config_loads_with_the_console_loader():
    config_mod = pytest.importorskip("console.config", reason="console/config.py not present")
    with SimLab("seed", speed=10.0) as lab:
        config = config_mod.load_config(lab.config_path)
        cluster = config.cluster()
        assert cluster.name == "demo" and cluster.proxmox is not None
        assert cluster.proxmox.tls.verify and cluster.proxmox.tls.fingerprint
        assert cluster.proxmox.token_secret.read()


def test_control_api_and_cli(seed_sim):
    lab = seed_sim
    try:
        lab.control("osd-down", "osd.2")
        state = lab.wait_until(lambda s: "OSD_DOWN" in s["ceph"]["checks"], timeout=30)
        assert state["faults"]["osd_down"] == [2]
        with pytest.raises(SimLabError, match="unknown fault kind"):
            lab.control("meteor")
        out = subprocess.run([sys.executable, "-m", "console.sim", "state", "--dir", str(lab.dir)], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and json.loads(out.stdout)["faults"]["osd_down"] == [2]
        out = subprocess.run([sys.executable, "-m", "console.sim", "clear", "--dir", str(lab.dir), "osd-down"],
                             cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0
        assert json.loads(out.stdout)["faults"]["osd_down"] == []
        out = subprocess.run([sys.executable, "-m", "console.sim", "fault", "--dir", str(lab.dir), "node-down", "pve7"],
                             cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 1 and "pve7" in out.stderr and "Traceback" not in out.stderr
        av = lab.availability()
        assert {"guests", "services", "vip_absent", "vip_longest_gap"} <= set(av)
        lab.reset_availability()
        assert lab.availability()["guest_seconds_total"] < 1.0
    finally:
        lab.clear()


def test_control_cli_without_a_sim(tmp_path):
    out = subprocess.run([sys.executable, "-m", "console.sim", "state", "--dir", str(tmp_path)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "no running sim" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_refuses_non_loopback(tmp_path, host):
    out = subprocess.run([sys.executable, "-m", "console.sim", "--dir", str(tmp_path), "--host", host], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "loopback only" in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing bound


PARENT = """
import os, subprocess, sys, time
d, mode, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
err = subprocess.PIPE if mode == "pipe" else open(os.path.join(os.path.dirname(d), "err"), "wb")
p = subprocess.Popen([sys.executable, "-m", "console.sim", "--dir", d, "--speed", "5",
                      "--parent-pid", str(os.getpid()), *extra],
                     stderr=err)
print(p.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("stderr_mode,remove_dir", [("file", False), ("pipe", False), ("file", True)])
def test_exits_when_parent_dies(tmp_path, stderr_mode, remove_dir):
    # the parent (like a console) is SIGKILLed: the sim notices and exits; with a pipe as its
    # stderr the pipe has no reader any more, which must not keep it alive either
    lab_dir = tmp_path / "lab"
    extra = ["--remove-dir-on-exit"] if remove_dir else []
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(lab_dir), stderr_mode, *extra], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    sim_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 30
    while not (lab_dir / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert (lab_dir / "ready").exists(), "the sim did not get ready"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        gone = wait_gone(sim_pid, timeout=15)
        assert gone, "the sim outlived its parent"
        if remove_dir:
            assert not lab_dir.exists(), "--remove-dir-on-exit left the dir behind"
        else:
            assert (lab_dir / "config.toml").exists()  # without the flag the dir is the caller's to remove
            assert not list(lab_dir.glob("*.sock"))  # sockets removed on the way out
    finally:
        if pid_alive(sim_pid):
            os.kill(sim_pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def test_remove_dir_on_exit_needs_a_parent_pid(tmp_path):
    out = subprocess.run([sys.executable, "-m", "console.sim", "--dir", str(tmp_path / "lab"), "--remove-dir-on-exit"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--parent-pid" in out.stderr and not (tmp_path / "lab").exists()


def test_sigint_stops_and_removes_sockets(tmp_path):
    lab = SimLab("seed", speed=5.0, directory=tmp_path).start()
    lab.process.send_signal(signal.SIGINT)
    assert lab.process.wait(timeout=15) == 0
    assert not (tmp_path / "ready").exists() and not list(tmp_path.glob("*.sock"))
    lab.stop()


def test_large_scenario_starts():
    with SimLab("large", speed=5.0) as lab:
        state = lab.state()
        assert len(state["nodes"]) >= 16 and state["guests"]["total"] >= 2000
        assert state["ceph"]["osds"] >= 96 and state["swarm"]["services"] >= 300
