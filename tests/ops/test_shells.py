"""Shells: the ssh argv (pure), target resolution against the sim, and a real
interactive session: the system ssh client in a pty against the sim's SSH servers
(a node's login shell, `pct enter`, `qm terminal`, `docker exec -it` on a swarm VM),
prompt seen, `exit` typed."""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from console.config import load_config
from console.config_model import SshConfig, SshHost
from console.ops import shells

needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="no system ssh client on this machine")


def test_ssh_argv_is_strict_and_uses_the_config():
    cfg = SshConfig(user="admin", known_hosts=Path("/k/known"), keys=(Path("/k/id"),), agent=False, port=2222,
                    hosts=(SshHost("pve1", "10.0.0.1", 22, "root", (Path("/k/root"),)),))
    argv = shells.ssh_argv(cfg, "pve1", "pct enter 105")
    assert argv[:4] == ("ssh", "-F", "none", "-t")
    assert "StrictHostKeyChecking=yes" in argv and "UserKnownHostsFile=/k/known" in argv
    assert argv[argv.index("-i") + 1] == "/k/root" and argv[argv.index("-p") + 1] == "22"
    assert argv[-2:] == ("root@10.0.0.1", "pct enter 105") and argv[-3] == "--"
    other = shells.ssh_argv(cfg, "fw9")  # no per-host entry: the defaults
    assert other[-1] == "admin@fw9" and other[other.index("-p") + 1] == "2222" and "IdentityAgent=none" in other
    vm = shells.guest_shell(cfg, 110, "qemu", "pve1", "homeassistant")
    assert vm.remote == "qm terminal 110" and vm.host == "pve1"
    own = shells.guest_shell(SshConfig(hosts=(SshHost("homeassistant", "10.0.0.9", 22, "root", ()),)),
                             110, "qemu", "pve1", "homeassistant")
    assert own.remote is None and own.argv[-1] == "root@10.0.0.9"
    assert shells.guest_shell(cfg, 105, "lxc", "pve2").remote == "sudo pct enter 105"  # pve2: user admin
    assert shells.guest_shell(cfg, 105, "lxc", "pve1").remote == "pct enter 105"  # pve1: root
    with pytest.raises(Exception, match="no container"):
        shells.task_shell(cfg, "web.1", "swarm1", "")
    assert shells.task_shell(cfg, "web.1", "swarm1", "ab" * 32).remote == f"docker exec -it {'ab' * 32} sh"


def test_resolve_targets_and_read_only(lab, cli):
    code, out, err = cli("shell", "200", "--print")
    assert code == 0 and out.strip().endswith("'pct enter 200'")
    code, out, err = cli("shell", "pve2", "--print")
    assert code == 0 and "root@127.0.0.1" in out and "StrictHostKeyChecking=yes" in out
    code, out, err = cli("shell", "whoami.1", "--print")
    assert code == 0 and "docker exec -it" in out and "root@127.0.0.1" in out  # the sim's SSH on the swarm VM
    code, out, err = cli("shell", "113", "--print")
    assert code == 2 and "is stopped" in err
    code, out, err = cli("shell", "nosuch", "--print")
    assert code == 2 and "no node, guest or swarm task 'nosuch'" in err
    code, out, err = cli("--read-only", "shell", "pve1", "--print")
    assert code == 2 and "(read-only mode)" in err


def _session(argv, prompt: bytes, send: bytes = b"exit\r") -> tuple[int, bytes]:
    master, slave = os.openpty()
    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    buf = b""

    def read_until(token: bytes, limit: float = 20.0) -> bool:
        nonlocal buf
        end = time.monotonic() + limit
        start = len(buf)
        while token not in buf[start:] and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    buf += os.read(master, 4096)
                except OSError:
                    break
        return token in buf[start:]

    try:
        assert read_until(prompt), buf
        os.write(master, b"hostname\r")
        assert read_until(prompt), buf
        os.write(master, send)
        return proc.wait(20), buf
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


@needs_ssh
def test_interactive_shells_through_the_system_ssh_client(lab):
    cluster = load_config(lab.config_path).cluster(None)

    async def plans():
        from console.sources import build_sources

        sources = build_sources(cluster)
        try:
            return [await shells.resolve(sources, t) for t in ("pve1", "200", "110", "whoami.1")]
        finally:
            await sources.get("proxmox").close()
            await sources.close()

    node, ct, vm, task = asyncio.run(plans())
    code, out = _session(node.argv, b"root@pve1:~# ")
    assert code == 0 and b"pve1" in out
    code, out = _session(ct.argv, b"root@mail:~# ")
    assert code == 0
    code, out = _session(vm.argv, b"root@homeassistant:~# ", send=b"\x0f")  # ctrl+o leaves the serial console
    assert code == 0 and b"starting serial terminal on interface serial0" in out
    code, out = _session(task.argv, b"/ # ")  # docker exec -it into the task's container, on its swarm VM
    assert code == 0


@needs_ssh
def test_an_unknown_host_key_is_refused(lab, tmp_path):
    cluster = load_config(lab.config_path).cluster(None)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    from dataclasses import replace

    argv = shells.ssh_argv(replace(cluster.ssh, known_hosts=empty), "pve1", tty=False) + ("true",)
    argv = tuple(a for a in argv if a != "-t")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert proc.returncode == 255 and "Host key verification failed" in proc.stderr
