"""asyncssh connection pool: one connection per host, reused, strict host keys.

Decisions worth knowing:
- Host keys are checked against `SshConfig.known_hosts` (or ~/.ssh/known_hosts
  when unset) and never auto-accepted. An unknown or changed key raises a
  ConsoleError naming host:port and the SHA256 fingerprint the server showed.
- ~/.ssh/config is NOT read (asyncssh `config=None`): address, port, user and
  keys come only from the labconsole config, so a personal ssh_config (User,
  ProxyJump, IdentityFile...) cannot silently change where the console goes.
- Keys: the configured key files, plus the agent when `agent = true`. With no
  key files configured, asyncssh's defaults (~/.ssh/id_*) are tried as well.
- A connection that dropped is re-opened once, transparently, per call.
- Commands that need root (HA maintenance, apt, ceph, kernels, reboot, ZFS,
  keepalived) are run with `privileged=True`: as root they run as they are; as
  another user through `sudo -n` (never a password prompt), a command with shell
  syntax as `sudo -n sh -c '...'`. A refusing sudo is reported as such.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncssh

from console.config_model import SshConfig, SshHost
from console.errors import ConsoleError
from console.ssh_batch import (
    SshResult,
    batch_script,
    command_failed,
    parallel_script,
    short,
    split_batch,
    without_wrapper,
)
from console.ssh_sudo import as_root, sudo_refusal

log = logging.getLogger(__name__)


class _StrictClient(asyncssh.SSHClient):
    """Records the key a server presented when known_hosts did not trust it."""

    def __init__(self) -> None:
        self.rejected_key: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host, addr, port, key) -> bool:
        self.rejected_key = key
        return False


class _Conn:
    def __init__(self, conn: asyncssh.SSHClientConnection, client: _StrictClient):
        self.conn = conn
        self.client = client
        self.batch_ok: bool | None = None  # None = not tried yet
        self.forwards: dict[str, tuple[str, asyncssh.SSHListener]] = {}

    @property
    def closed(self) -> bool:
        return self.conn.is_closed()


_RETRYABLE = (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.ChannelOpenError,
              BrokenPipeError, ConnectionResetError)


class SshPool:
    def __init__(self, cfg: SshConfig):
        self.cfg = cfg
        self._conns: dict[str, _Conn] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._sockdir: str | None = None

    # ------------------------------------------------------------------ connect

    @property
    def known_hosts_path(self) -> Path:
        return self.cfg.known_hosts or Path("~/.ssh/known_hosts").expanduser()

    def _known_hosts(self, alias: str, host: SshHost) -> asyncssh.SSHKnownHosts:
        path = self.known_hosts_path
        try:
            return asyncssh.read_known_hosts(str(path))
        except FileNotFoundError:
            raise ConsoleError(f"ssh {alias}", f"known_hosts file {path} does not exist",
                               f"create it with the host keys of your hosts (ssh-keyscan -p {host.port} "
                               f"{host.address}, then verify the fingerprints) or set ssh.known_hosts") from None
        except (OSError, ValueError) as exc:
            raise ConsoleError(f"ssh {alias}", f"cannot read known_hosts file {path}: {exc}",
                               "fix or regenerate the file") from None

    def _client_keys(self, alias: str, host: SshHost):
        keys = []
        for path in host.keys:
            try:
                keys.append(asyncssh.read_private_key(str(path)))
            except FileNotFoundError:
                raise ConsoleError(f"ssh {alias}", f"private key {path} does not exist",
                                   "fix ssh.keys in the config") from None
            except (asyncssh.KeyImportError, OSError) as exc:
                raise ConsoleError(f"ssh {alias}", f"cannot load private key {path}: {exc}",
                                   "passphrase-protected keys must be loaded into the agent instead") from None
        return keys or ()

    async def _open(self, alias: str) -> _Conn:
        host = self.cfg.host(alias)
        where = f"{host.address}:{host.port}"
        known = self._known_hosts(alias, host)
        client = _StrictClient()
        agent = () if self.cfg.agent else None
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):
                conn, _ = await asyncssh.create_connection(
                    lambda: client, host.address, port=host.port, username=host.user,
                    known_hosts=known, client_keys=self._client_keys(alias, host), agent_path=agent,
                    config=None, connect_timeout=None,  # ours, above: asyncssh's is a wait_for
                    keepalive_interval=30, keepalive_count_max=3,
                )
        except asyncssh.HostKeyNotVerifiable:
            raise self._host_key_error(alias, host, known, client.rejected_key) from None
        except asyncssh.PermissionDenied:
            raise ConsoleError(f"ssh {alias}", f"{host.user}@{where} refused our keys",
                               "check ssh.keys / the agent and the host's authorized_keys") from None
        except TimeoutError:
            raise ConsoleError(f"ssh {alias}", f"no SSH answer from {where} within {self.cfg.connect_timeout:g} s",
                               "check that the host is up and the address/port are right") from None
        except socket.gaierror as exc:
            raise ConsoleError(f"ssh {alias}", f"cannot resolve {host.address}: {exc.strerror}",
                               "check the host's address in ssh.hosts") from None
        except ConnectionRefusedError:
            raise ConsoleError(f"ssh {alias}", f"connection to {where} refused",
                               "check that sshd runs there and the port is right") from None
        except OSError as exc:
            raise ConsoleError(f"ssh {alias}", f"cannot connect to {where}: {exc.strerror or exc}",
                               "check the network path to the host") from None
        except asyncssh.Error as exc:
            raise ConsoleError(f"ssh {alias}", f"SSH to {where} failed: {exc.reason}",
                               "check the host's sshd log") from None
        log.debug("ssh %s: connected to %s", alias, where)
        return _Conn(conn, client)

    def _host_key_error(self, alias, host: SshHost, known, key) -> ConsoleError:
        where = f"{host.address}:{host.port}"
        fp = key.get_fingerprint("sha256") if key is not None else "(no key presented)"
        kind = f"{key.get_algorithm()} " if key is not None else ""
        try:
            trusted = known.match(host.address, "", host.port)[0]
        except Exception:  # noqa: BLE001 - only used to word the message
            trusted = []
        path = self.known_hosts_path
        if trusted:
            return ConsoleError(f"ssh {alias}",
                                f"host key of {where} CHANGED: it presented {kind}{fp}, which does not match {path}",
                                "a reinstalled host or an attack: verify the new key out of band before replacing it")
        return ConsoleError(f"ssh {alias}",
                            f"host {where} is not in {path}: it presented {kind}{fp}",
                            f"verify that fingerprint on the host, then add it "
                            f"(ssh-keyscan -p {host.port} {host.address} >> {path}); keys are never auto-accepted")

    async def _get(self, alias: str) -> _Conn:
        lock = self._locks.setdefault(alias, asyncio.Lock())
        async with lock:
            c = self._conns.get(alias)
            if c is None or c.closed:
                c = await self._open(alias)
                self._conns[alias] = c
            return c

    def _drop(self, alias: str, c: _Conn) -> None:
        if self._conns.get(alias) is c:
            del self._conns[alias]
        c.conn.close()

    async def _with_conn(self, alias: str, op):
        """Run `op(conn, started)`. If the connection turns out dead before the
        command started (op calls started.set() once its channel is open), drop
        it, reconnect and try once more; a command that may have run is never
        re-run: its failure is reported."""
        for attempt in (1, 2):
            c = await self._get(alias)
            started = asyncio.Event()
            try:
                return await op(c, started)
            except _RETRYABLE as exc:
                self._drop(alias, c)
                host = self.cfg.host(alias)
                if attempt == 2 or started.is_set():
                    raise ConsoleError(f"ssh {alias}", f"connection to {host.address}:{host.port} lost: {exc}",
                                       "check the host and its sshd; the command may or may not have run") from None
                log.info("ssh %s: connection lost (%s), reconnecting", alias, exc)

    # --------------------------------------------------------------- commands

    def needs_sudo(self, alias: str) -> bool:
        return self.cfg.host(alias).user != "root"

    def _privileged(self, alias: str, command: str, privileged: bool) -> str:
        return as_root(command) if privileged and self.needs_sudo(alias) else command

    def _sudo_refused(self, alias: str, shown: str, result: SshResult) -> ConsoleError | None:
        return sudo_refusal(alias, self.cfg.host(alias).user, shown, result.exit_status, result.stderr)

    async def run(self, alias: str, command: str, timeout: float | None = None,
                  check: bool = False, input: str | None = None, shown: str | None = None,
                  privileged: bool = False) -> SshResult:
        """Run `command` (as root when privileged); errors name it as `shown` (run_many's
        batch script is never shown). A sudo that refuses raises, naming the user."""
        shown = command if shown is None else shown
        command = self._privileged(alias, command, privileged)

        async def op(c: _Conn, started: asyncio.Event) -> SshResult:
            proc = await c.conn.create_process(command, input=input)
            started.set()
            try:  # asyncio.timeout, not wait(timeout=): asyncssh's wait_for may drop a cancel (Python 3.11)
                async with asyncio.timeout(timeout):
                    r = await proc.wait(check=False)
            except TimeoutError:
                _stop(proc)
                raise ConsoleError(f"ssh {alias}", f"`{short(shown)}` did not finish within {timeout:g} s",
                                   "the host may be overloaded or the command hung") from None
            if r.exit_status is None and r.exit_signal is None:  # channel closed under us
                self._drop(alias, c)
                host = self.cfg.host(alias)
                raise ConsoleError(f"ssh {alias}", f"connection to {host.address}:{host.port} lost while "
                                   f"`{short(shown)}` ran", "check the host; the command may or may not have run")
            return SshResult(_exit(r.exit_status, r.exit_signal), _text(r.stdout), _text(r.stderr))

        result = await self._with_conn(alias, op)
        if privileged and self.needs_sudo(alias):
            refused = self._sudo_refused(alias, shown, result)
            if refused is not None:
                raise refused
        if check and result.exit_status != 0:
            raise command_failed(alias, shown, result)
        return result

    async def run_many(self, alias: str, commands: list[str], timeout: float | None = None,
                       parallel: bool = False, privileged: bool | Sequence[bool] = False) -> list[SshResult]:
        """Run several commands in one session (one round trip) when the remote
        side has a POSIX shell; otherwise as parallel channels on the connection.
        parallel=True runs them concurrently on the host (for slow commands
        such as the ceph CLI); outputs and exit codes still come back per command.
        Meant for reads: on a host whose shell cannot run the batch script the
        commands are sent again one per channel, so keep writes to run().
        privileged=True runs every one of them as root (see run); a list of flags, those
        it marks."""
        if not commands:
            return []
        flags = [privileged] * len(commands) if isinstance(privileged, bool) else list(privileged)
        if len(commands) == 1:
            return [await self.run(alias, commands[0], timeout=timeout, privileged=flags[0])]
        shown_all = " ; ".join(commands)
        sudo = any(flags) and self.needs_sudo(alias)
        commands = [self._privileged(alias, cmd, flag) for cmd, flag in zip(commands, flags, strict=False)]
        c = await self._get(alias)
        if c.batch_ok is not False:
            marker = f"__labconsole_{secrets.token_hex(6)}__"
            script = (parallel_script if parallel else batch_script)(commands, marker)
            r = await self.run(alias, script, timeout=timeout, shown=shown_all)
            parsed = split_batch(r, marker, len(commands))
            if parsed is not None:
                c.batch_ok = True
                refused = next((e for e in (self._sudo_refused(alias, shown_all, p) for p in parsed) if e), None)
                if sudo and refused is not None:
                    raise refused
                return parsed
            if c.batch_ok is True:  # worked before: a real failure, not a shell limitation
                said = without_wrapper(r.stderr, marker) or without_wrapper(r.stdout, marker)
                raise ConsoleError(f"ssh {alias}", f"`{short(' ; '.join(commands))}` returned incomplete output "
                                   f"(exit {r.exit_status})" + (f": {short(said)}" if said else ""),
                                   "check the host's shell and load")
            c.batch_ok = False
            log.debug("ssh %s: no shell batching, falling back to parallel channels", alias)
        results = list(await asyncio.gather(*(self.run(alias, cmd, timeout=timeout) for cmd in commands)))
        refused = next((e for e in (self._sudo_refused(alias, shown_all, r) for r in results) if e), None)
        if sudo and refused is not None:
            raise refused
        return results

    async def stream(self, alias: str, command: str, on_line: Callable[[str], None],
                     timeout: float | None = None, privileged: bool = False) -> int:
        """Run `command` (as root when privileged), calling on_line for every line of
        stdout and of stderr (each line whole; the two streams interleave by arrival);
        return its exit status. A sudo that refuses raises, naming the user."""
        shown = command
        command = self._privileged(alias, command, privileged)
        said: list[str] = []

        def line_seen(line: str) -> None:
            if len(said) < 3 and line.startswith("sudo: "):
                said.append(line)
            on_line(line)

        code = await self._with_conn(alias, lambda c, started: self._stream_op(c, started, alias, command, shown,
                                                                               line_seen, timeout))
        if privileged and self.needs_sudo(alias):
            refused = self._sudo_refused(alias, shown, SshResult(code, "", "\n".join(said)))
            if refused is not None:
                raise refused
        return code

    async def _stream_op(self, c: _Conn, started: asyncio.Event, alias: str, command: str, shown: str,
                         on_line: Callable[[str], None], timeout: float | None) -> int:
        proc = await c.conn.create_process(command)
        started.set()

        async def lines_of(stream) -> None:
            # readline until "" (EOF): asyncssh's async-for can also yield "" at EOF.
            # Each stream separately, so lines stay whole.
            while line := await stream.readline():
                on_line(line.rstrip("\n"))

        async def pump() -> int:
            await asyncio.gather(lines_of(proc.stdout), lines_of(proc.stderr))
            done = await proc.wait(check=False)
            return _exit(done.exit_status, done.exit_signal)

        try:
            async with asyncio.timeout(timeout):  # None: no limit
                return await pump()
        except TimeoutError:
            _stop(proc)
            raise ConsoleError(f"ssh {alias}", f"`{short(shown)}` did not finish within {timeout:g} s",
                               "it may still be running on the host; check there") from None
        except asyncio.CancelledError:
            _stop(proc)
            raise

    async def forward_unix(self, alias: str, remote_path: str) -> str:
        """A local unix socket forwarded to `remote_path` on the host (for the docker SDK).
        Reused while the connection lives; re-created after a reconnect."""
        async def op(c: _Conn, started: asyncio.Event) -> str:
            existing = c.forwards.get(remote_path)
            if existing is not None:
                return existing[0]
            if self._sockdir is None:
                self._sockdir = tempfile.mkdtemp(prefix="labconsole-ssh-")
            local = os.path.join(self._sockdir, f"{alias}-{secrets.token_hex(4)}.sock")
            try:
                listener = await c.conn.forward_local_path(local, remote_path)
            except asyncssh.ChannelListenError as exc:
                raise ConsoleError(f"ssh {alias}", f"cannot forward to {remote_path}: {exc}",
                                   "check that the socket exists and the user may use it") from None
            c.forwards[remote_path] = (local, listener)
            return local
        return await self._with_conn(alias, op)

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        for c in conns:
            for _, listener in c.forwards.values():
                listener.close()
            c.conn.close()
        for c in conns:
            try:
                async with asyncio.timeout(2):
                    await c.conn.wait_closed()
            except (TimeoutError, Exception):  # noqa: BLE001 - closing is best effort
                pass
        if self._sockdir:
            for name in os.listdir(self._sockdir):
                try:
                    os.unlink(os.path.join(self._sockdir, name))
                except OSError:
                    pass
            try:
                os.rmdir(self._sockdir)
            except OSError:
                pass
            self._sockdir = None


# ------------------------------------------------------------------- helpers


def _stop(proc: asyncssh.SSHClientProcess) -> None:
    """Ask the remote command to stop (SIGTERM, where sshd supports it) and
    close our end of the channel without waiting for it."""
    try:
        proc.send_signal("TERM")
    except (OSError, asyncssh.Error):
        pass
    proc.close()


def _exit(status: int | None, signal: tuple | None) -> int:
    if status is not None and status >= 0:
        return status
    return 255 if signal else -1


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
