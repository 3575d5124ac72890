"""A fake SSH host (asyncssh, loopback) that answers like a Ceph node or a firewall, or faults.

Commands run in a real /bin/sh, so the console's batched and parallel scripts
(markers, subshells, `wait`) work as on a real host; only the tools the
console reads (`ceph`, the keepalived dump helper, `ip`) are fakes on PATH
that print answers prepared beforehand from the sim's real ones (`Answers`).

Served per fault kind of the host's layer (FaultState):
  None / pass  the sim's real answers
  error        the tools exit 1 with what the real tool prints on stderr
  malformed    the real answers mutated (hostile_json), exit 0
  slow         the command never finishes (SLOW_SECONDS)
  auth         every client key is refused
A changed host key is a second FakeSshHost with another host key (`host_key`);
refused connections are a closed port in the config.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from pathlib import Path

import asyncssh

from tests.faults.fault_state import FaultState
from tests.faults.hostile_json import VARIANTS, mutate

SLOW_SECONDS = 20.0
FAIL_STDERR = {
    "ceph": "2026-12-01T10:00:00.000+0000 7f3a -1 auth: unable to find a keyring on "
            "/etc/ceph/ceph.client.admin.keyring: (13) Permission denied\n"
            "[errno 13] RADOS permission denied (error connecting to the cluster)\n",
    "ka-state": "ka-state: cannot read /run/keepalived.pid: Permission denied\n",
}

_TOOL = """#!/bin/sh
if [ $# -gt 0 ]; then cmd="$(basename "$0") $*"; else cmd=$(basename "$0"); fi
key=$(printf '%s' "$cmd" | tr -c 'A-Za-z0-9_.-' '_')
d="$LABFAULT_ANSWERS"
if [ ! -f "$d/$key.rc" ]; then
    echo "$(basename "$0"): no prepared answer for: $*" >&2
    exit 127
fi
cat "$d/$key.out"
cat "$d/$key.err" >&2
exit "$(cat "$d/$key.rc")"
"""


def answer_key(command: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", command.strip())


class Answers:
    """answers/<identity>/<mode>/<key>.{out,err,rc} plus the fake tools in bin/.

    `real` maps each command to the sim's (exit, stdout, stderr); `faulted` names
    the commands whose answers the faults change (the rest stay real in every mode)."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)

    def add_tool(self, name: str) -> None:
        path = self.bin / name
        path.write_text(_TOOL)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def prepare(self, identity: str, real: dict[str, tuple[int, str, str]], faulted: set[str]) -> None:
        for command in real:
            self.add_tool(command.split()[0])
        for mode in ("real", "fail", *VARIANTS):
            d = self.dir(identity, mode)
            d.mkdir(parents=True, exist_ok=True)
            for command, answer in real.items():
                rc, out, err = self._answer(mode, command, answer) if command in faulted else answer
                key = answer_key(command)
                (d / f"{key}.out").write_text(out)
                (d / f"{key}.err").write_text(err)
                (d / f"{key}.rc").write_text(f"{rc}\n")

    @staticmethod
    def _answer(mode: str, command: str, real: tuple[int, str, str]) -> tuple[int, str, str]:
        if mode == "real":
            return real
        if mode == "fail":
            tool = command.split()[0]
            return 1, "", FAIL_STDERR.get(tool, f"{tool}: failed\n")
        return 0, mutate(real[1].encode(), mode).decode(), ""

    def dir(self, identity: str, mode: str) -> Path:
        return self.root / identity / mode


class _Server(asyncssh.SSHServer):
    def __init__(self, host: "FakeSshHost"):
        self.host = host

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.host.fault() == "auth":
            return False
        return key.public_data == self.host.client_key.public_data


class FakeSshHost:
    def __init__(self, state: FaultState, layer: str, identity: str, answers: Answers,
                 host_key: Path | asyncssh.SSHKey, client_key: asyncssh.SSHKey):
        self.state = state
        self.layer = layer
        self.identity = identity
        self.answers = answers
        self.host_key = host_key
        self.client_key = client_key
        self.commands = 0
        self._acceptor: asyncssh.SSHAcceptor | None = None

    def fault(self) -> str | None:
        return self.state.for_layer(self.layer)

    async def start(self) -> int:
        key = self.host_key if isinstance(self.host_key, asyncssh.SSHKey) else str(self.host_key)
        self._acceptor = await asyncssh.create_server(
            lambda: _Server(self), "127.0.0.1", 0, server_host_keys=[key], process_factory=self._process,
            encoding="utf-8", allow_scp=False, agent_forwarding=False, x11_forwarding=False, line_editor=False,
            keepalive_interval=0)
        return self._acceptor.get_port()

    async def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        self.commands += 1
        kind = self.fault()
        try:
            if kind == "slow":
                await asyncio.sleep(SLOW_SECONDS)
                process.exit(124)
                return
            mode = {"error": "fail", "malformed": self.state.variant}.get(kind or "", "real")
            rc, out, err = await self._shell(process.command or "", self.answers.dir(self.identity, mode))
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(rc)
        except (asyncssh.Error, OSError, asyncio.CancelledError):
            pass  # the client went away (timed out): nothing to answer

    async def _shell(self, command: str, answers: Path) -> tuple[int, str, str]:
        env = {"PATH": f"{self.answers.bin}:/usr/bin:/bin", "LABFAULT_ANSWERS": str(answers), "LC_ALL": "C"}
        proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", command, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE, env=env,
                                                    cwd=os.path.dirname(answers))
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
