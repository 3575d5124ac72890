"""SshPool against a real OpenSSH sshd on loopback (own host key, own client key).

The sshd is started here from /usr/sbin/sshd with a throw-away config and
stopped by its PID at the end of the module. Under CI=true a missing sshd fails.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from console.config_model import CephConfig, SshConfig, SshHost
from console.errors import ConsoleError
from console.sources.ceph import CephSource
from console.ssh import SshPool, SshResult

pytestmark = pytest.mark.realdaemon
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_key(path: Path, key: asyncssh.SSHKey) -> None:
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if not os.path.exists(SSHD):
        msg = f"OpenSSH server not installed ({SSHD} missing; apt-get install openssh-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    d = tmp_path_factory.mktemp("sshd")
    host_key, client_key, other_key = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(3))
    _write_key(d / "host_key", host_key)
    _write_key(d / "client_key", client_key)
    _write_key(d / "stranger_key", other_key)
    (d / "authorized_keys").write_bytes(client_key.export_public_key())
    port = _free_port()
    host_pub = host_key.export_public_key().decode().split()[:2]
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_pub)}\n")
    other_pub = other_key.export_public_key().decode().split()[:2]
    (d / "known_hosts_changed").write_text(f"[127.0.0.1]:{port} {' '.join(other_pub)}\n")
    (d / "known_hosts_empty").write_text("")
    os.makedirs("/run/sshd", exist_ok=True)
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {getpass.getuser()}
UsePAM no
SetEnv PATH={d}/bin:/usr/sbin:/usr/bin:/sbin:/bin
""")
    (d / "bin").mkdir()
    fake_ceph = d / "bin" / "ceph"  # a broken ceph CLI: answers, but not with JSON
    fake_ceph.write_text("#!/bin/sh\necho 'Error initializing cluster client: ObjectNotFound'\nexit 0\n")
    fake_ceph.chmod(0o755)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=open(d / "sshd.log", "w"))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        else:
            pass
        if proc.poll() is not None:
            msg = f"sshd exited at start: {(d / 'sshd.log').read_text()[-500:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(msg)
            pytest.skip(msg)
        yield {"dir": d, "port": port, "fingerprint": host_key.get_fingerprint("sha256")}
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pool(sshd, known_hosts: str = "known_hosts", key: str = "client_key", port: int | None = None) -> SshPool:
    d = sshd["dir"]
    host = SshHost("box", "127.0.0.1", port or sshd["port"], getpass.getuser(), (d / key,))
    return SshPool(SshConfig(known_hosts=d / known_hosts, agent=False, connect_timeout=5, hosts=(host,)))


async def test_run_exit_status_stdout_stderr_and_input(sshd):
    pool = _pool(sshd)
    try:
        r = await pool.run("box", "echo hello; echo oops >&2; exit 3")
        assert r == SshResult(3, "hello\n", "oops\n")
        assert (await pool.run("box", "cat", input="from stdin")).stdout == "from stdin"
        with pytest.raises(ConsoleError) as err:
            await pool.run("box", "echo broken >&2; exit 5", check=True)
        assert err.value.title == "ssh box" and "exited 5" in str(err.value) and "broken" in str(err.value)
    finally:
        await pool.close()


async def test_connection_is_reused_and_reopened_after_a_drop(sshd):
    pool = _pool(sshd)
    try:
        pid1 = (await pool.run("box", "echo $PPID")).stdout
        first = pool._conns["box"].conn
        pid2 = (await pool.run("box", "echo $PPID")).stdout
        assert pool._conns["box"].conn is first  # same connection for the second command
        assert pid1 and pid2
        first.abort()  # the network drops it
        await asyncio.sleep(0.05)
        r = await pool.run("box", "echo back")
        assert r.stdout == "back\n"
        assert pool._conns["box"].conn is not first
        killer = pool._conns["box"].conn
        task = asyncio.ensure_future(pool.run("box", "sleep 5; echo never"))
        await asyncio.sleep(0.3)
        killer.abort()  # dropped while the command runs: reported, never re-run
        with pytest.raises(ConsoleError, match="may or may not have run"):
            await task
    finally:
        await pool.close()


@pytest.mark.parametrize("parallel", [False, True])
async def test_run_many_splits_outputs_and_exit_codes(sshd, parallel):
    pool = _pool(sshd)
    try:
        cmds = ["echo a; echo b", "exit 4", "printf 'no newline'", "echo to-err >&2; echo out", "exit 0", "read x; echo got:$x"]
        rs = await pool.run_many("box", cmds, parallel=parallel)
        assert [r.exit_status for r in rs] == [0, 4, 0, 0, 0, 0]  # read x sees EOF, does not hang
        assert [r.stdout for r in rs] == ["a\nb\n", "", "no newline", "out\n", "", "got:\n"]
        assert rs[3].stderr == "to-err\n" and rs[0].stderr == ""
        assert pool._conns["box"].batch_ok is True
    finally:
        await pool.close()


async def test_stream_lines_and_timeout(sshd):
    pool = _pool(sshd)
    lines: list[str] = []
    try:
        rc = await pool.stream("box", "for i in 1 2 3; do echo line$i; done; echo; echo warn >&2; exit 2",
                               lines.append, timeout=30)
        assert rc == 2
        # stdout keeps its order; stderr arrives on its own channel stream, so
        # where "warn" lands among them is up to sshd's buffering
        assert [x for x in lines if x != "warn"] == ["line1", "line2", "line3", ""] and "warn" in lines
        with pytest.raises(ConsoleError, match="did not finish within 0.5 s"):
            await pool.run("box", "sleep 10", timeout=0.5)
        # 2 s, not 0.5: on a loaded machine opening the channel alone can take longer than 0.5 s
        with pytest.raises(ConsoleError, match="did not finish within 2 s"):
            await pool.stream("box", "echo first; sleep 10", lines.append, timeout=2.0)
        assert lines[-1] == "first"
        lines.clear()
        assert (await pool.run("box", "echo still-usable")).stdout == "still-usable\n"
    finally:
        await pool.close()


async def test_forward_unix_reaches_the_remote_socket(sshd, tmp_path):
    remote = str(tmp_path / "echo.sock")

    async def echo(reader, writer):
        writer.write(b"echo:" + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(echo, path=remote)
    pool = _pool(sshd)
    try:
        local = await pool.forward_unix("box", remote)
        assert local != remote and await pool.forward_unix("box", remote) == local
        reader, writer = await asyncio.open_unix_connection(local)
        writer.write(b"ping\n")
        await writer.drain()
        assert await reader.readline() == b"echo:ping\n"
        writer.close()
    finally:
        await pool.close()
        server.close()
    assert not os.path.exists(local)


async def test_changed_host_key_names_host_and_presented_fingerprint(sshd):
    pool = _pool(sshd, known_hosts="known_hosts_changed")
    with pytest.raises(ConsoleError) as err:
        await pool.run("box", "true")
    text = str(err.value)
    assert f"127.0.0.1:{sshd['port']}" in text and sshd["fingerprint"] in text and "CHANGED" in text
    assert err.value.title == "ssh box"
    await pool.close()


async def test_unknown_host_is_never_accepted(sshd):
    pool = _pool(sshd, known_hosts="known_hosts_empty")
    with pytest.raises(ConsoleError) as err:
        await pool.run("box", "true")
    text = str(err.value)
    assert "is not in" in text and sshd["fingerprint"] in text and f"127.0.0.1:{sshd['port']}" in text
    assert "box" not in pool._conns
    await pool.close()


async def test_missing_known_hosts_wrong_key_and_refused_port(sshd):
    with pytest.raises(ConsoleError, match="does not exist"):
        await _pool(sshd, known_hosts="nope").run("box", "true")
    with pytest.raises(ConsoleError, match="refused our keys"):
        await _pool(sshd, key="stranger_key").run("box", "true")
    with pytest.raises(ConsoleError, match="private key .* does not exist"):
        await _pool(sshd, key="missing_key").run("box", "true")
    with pytest.raises(ConsoleError, match="refused") as err:
        await _pool(sshd, port=_free_port()).run("box", "true")
    assert err.value.hint and "sshd" in err.value.hint


def test_default_known_hosts_is_the_users_file():
    pool = SshPool(SshConfig(known_hosts=None))
    assert pool.known_hosts_path == Path("~/.ssh/known_hosts").expanduser()


async def test_ceph_source_reports_output_that_is_not_json(sshd):
    pool = _pool(sshd)
    src = CephSource(CephConfig(via="ssh", ssh_hosts=("box",)), None, pool)
    try:
        with pytest.raises(ConsoleError) as err:
            await src.fetch()
        text = str(err.value)
        assert "ceph status" in text and "not JSON" in text and "on box" in text
        assert "ObjectNotFound" in text  # what the CLI said, to act on
    finally:
        await pool.close()


async def test_errors_of_batched_commands_never_show_the_wrapper_script(sshd):
    pool = _pool(sshd)
    wrapper_bits = ("__rc", "__labconsole_", "</dev/null", "printf '\\n", "$__d", "__p0")
    try:
        await pool.run_many("box", ["true", "true"])  # the host batches
        with pytest.raises(ConsoleError) as err:
            await pool.run_many("box", ["sleep 10", "echo x"], timeout=0.5)
        text = str(err.value)
        assert "`sleep 10 ; echo x` did not finish within 0.5 s" in text
        assert not any(bit in text for bit in wrapper_bits), text
        with pytest.raises(ConsoleError) as err:  # a syntax error breaks the whole batch script
            await pool.run_many("box", ["echo ok", "echo )"])
        text = str(err.value)
        assert "`echo ok ; echo )` returned incomplete output" in text
        assert not any(bit in text for bit in wrapper_bits), text
    finally:
        await pool.close()
