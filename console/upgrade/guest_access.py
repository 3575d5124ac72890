"""Running a command inside a guest, the way each kind of guest is reached:

- a container: `pct exec VMID -- sh -c CMD` over SSH on its node;
- a firewall VM: its own SSH (the `ssh_host` of [[vrrp.firewalls]]);
- a VM with `ssh_host` in its [[upgrade.guests]] entry: that SSH host;
- any other VM: the QEMU guest agent through the API (`agent/exec` +
  `agent/exec-status`), whose output arrives whole when the command ends.

Output is made inert where it enters (console.inert), once.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.inert import inert_block
from console.model import Guest
from console.ssh import SshResult

AGENT_POLL = 0.2  # seconds between two exec-status reads (the longest pause; it starts shorter)


@dataclass(frozen=True)
class GuestTarget:
    vmid: int
    name: str
    type: str  # qemu | lxc
    node: str
    status: str
    via: str  # "pct" | "ssh" | "agent" | "" (not reachable)
    ssh_host: str | None = None  # the SSH alias with via "ssh"
    firewall: str | None = None  # the firewall's name when it is one of the VRRP pair
    why_not: str = ""  # with via "": the reason

    @property
    def kind_word(self) -> str:
        return "CT" if self.type == "lxc" else "VM"

    @property
    def label(self) -> str:
        """The run's name for it (journal, events): stable across resume."""
        return f"{self.vmid}/{self.name}"


def vmid_of_label(label: str) -> int:
    head = label.split("/", 1)[0]
    if not head.isdigit():
        raise ConsoleError("upgrade", f"{label!r} is not a guest of an upgrade run")
    return int(head)


def target_for(g: Guest, cluster: ClusterConfig, agent: bool | None = None) -> GuestTarget:
    """How `g` is reached; `agent` is whether its config enables the guest agent (None: not read)."""
    fw = next((f for f in (cluster.vrrp.firewalls if cluster.vrrp else ()) if f.vmid == g.vmid), None)
    probe = cluster.upgrade.probe_for(g.vmid, g.name)

    def reached(via: str, ssh_host: str | None = None, firewall: str | None = None, why_not: str = "") -> GuestTarget:
        return GuestTarget(g.vmid, g.name, g.type, g.node, g.status, via, ssh_host, firewall, why_not)

    if fw is not None:
        return reached("ssh", fw.ssh_host, fw.name)
    if g.type == "lxc":
        return reached("pct")
    if probe is not None and probe.ssh_host:
        return reached("ssh", probe.ssh_host)
    if agent is False:
        return reached("", why_not="no guest agent and no SSH address (ssh_host in [[upgrade.guests]])")
    return reached("agent")


async def agent_enabled(sources: Any, g: Guest) -> bool:
    """Whether the VM's config enables the QEMU guest agent (`agent: 1` or `enabled=1,...`)."""
    from console.ops.common import pve

    conf = await pve(sources).guest_config(g.node, "qemu", g.vmid)
    raw = str(conf.get("agent", "0"))
    first = raw.split(",")[0]
    if first.startswith("enabled="):
        first = first.split("=", 1)[1]
    return first in ("1", "on", "yes", "true")


class GuestShell:
    """run/stream inside guests through the cluster's SSH pool and Proxmox source."""

    def __init__(self, sources: Any, ssh: Any | None = None):
        self.sources = sources
        self.ssh = ssh if ssh is not None else sources.ssh  # writes: journaled inside a maintenance step
        self.reads = getattr(self.ssh, "_pool", self.ssh)  # reads: straight to the pool

    async def run(self, t: GuestTarget, command: str, timeout: float = 120.0, write: bool = False) -> SshResult:
        """Run `command` inside; `write`: it changes the guest (journaled inside a maintenance step)."""
        pool = self.ssh if write else self.reads
        if t.via == "pct":
            return await pool.run(t.node, _pct(t.vmid, command), timeout=timeout, privileged=True)
        if t.via == "ssh":
            assert t.ssh_host
            return await pool.run(t.ssh_host, command, timeout=timeout, privileged=True)
        if t.via == "agent":
            return await self._agent(t, command, timeout, write)
        raise ConsoleError(f"{t.kind_word} {t.vmid}", f"cannot run commands inside {t.name}: {t.why_not}")

    async def stream(self, t: GuestTarget, command: str, on_line: Callable[[str], None],
                     timeout: float = 3600.0) -> int:
        """Run with the output line by line as it comes (the agent gives it at the end)."""
        if t.via == "pct":
            return int(await self.ssh.stream(t.node, _pct(t.vmid, command), on_line, timeout=timeout,
                                             privileged=True))
        if t.via == "ssh":
            assert t.ssh_host
            return int(await self.ssh.stream(t.ssh_host, command, on_line, timeout=timeout, privileged=True))
        r = await self.run(t, command, timeout, write=True)
        for line in (r.stdout + r.stderr).splitlines():
            on_line(line)
        return r.exit_status

    async def ping(self, t: GuestTarget) -> str | None:
        """None when the guest answers (agent ping; a shell otherwise), else why not."""
        try:
            if t.via == "agent":
                await self._src()._write("agent ping", "post", f"nodes/{t.node}/qemu/{t.vmid}/agent/ping")
                return None
            r = await self.run(t, "true", timeout=15)
        except ConsoleError as exc:
            return exc.message
        return None if r.exit_status == 0 else f"exited {r.exit_status}"

    def _src(self) -> Any:
        src = self.sources.get("proxmox")
        if src is None:
            raise ConsoleError("proxmox", "not configured for this cluster")
        return src

    async def _agent(self, t: GuestTarget, command: str, timeout: float, write: bool) -> SshResult:
        from console.maintenance.remote_calls import journaled

        src = self._src()
        base = f"nodes/{t.node}/qemu/{t.vmid}/agent"
        argv = ["sh", "-c", _agent_script(command)]
        if not write:
            started = await src._write("agent exec", "post", f"{base}/exec", command=argv)
        else:
            async with journaled(f"agent {t.vmid}: {command}"):
                started = await src._write("agent exec", "post", f"{base}/exec", command=argv)
        pid = started.get("pid") if isinstance(started, dict) else None
        if not isinstance(pid, int):
            raise ConsoleError(f"VM {t.vmid}", "the guest agent did not say which process it started")
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            st = await src._aget(f"{base}/exec-status", pid=pid)
            if isinstance(st, dict) and st.get("exited"):
                return _agent_result(st)
            if time.monotonic() > deadline:
                raise ConsoleError(f"VM {t.vmid}", f"`{command[:60]}` still running after {timeout:.0f} s "
                                   "(it goes on inside the guest)")
            await asyncio.sleep(pause)
            pause = min(pause * 2, AGENT_POLL)


# The API's answers are made inert where they enter (ProxmoxSource), which turns line breaks into
# spaces: inside the guest the output's newlines become RS (0x1E), whose control picture survives
# that boundary and is split on here; the command's own exit status travels in a last marker line.
RS_PICTURE = "\u241e"  # what console.inert makes of RS
RC_MARK = "@@labconsole-rc="


def _agent_script(command: str) -> str:
    inner = shlex.quote(f"{command}; echo {RC_MARK}$?")
    return f"sh -c {inner} 2>&1 | tr '\\n' '\\036'"


def _agent_result(st: dict) -> SshResult:
    text = str(st.get("out-data") or "")
    lines = [inert_block(x) for x in text.split(RS_PICTURE)]
    if lines and lines[-1] == "":
        lines.pop()
    code = 255
    if lines and lines[-1].startswith(RC_MARK):
        rc = lines.pop()[len(RC_MARK):].strip()
        code = int(rc) if rc.isdigit() else 255
    err = inert_block(str(st.get("err-data") or ""))
    return SshResult(code, "".join(x + "\n" for x in lines), err)


def _pct(vmid: int, command: str) -> str:
    return f"pct exec {int(vmid)} -- sh -c {shlex.quote(command)}"
