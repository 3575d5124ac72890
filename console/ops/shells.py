"""Shells where the cursor is: the argv for the system's ssh client.

- a node       -> ssh to the node (the configured user, keys, strict known_hosts);
- a CT         -> `pct enter VMID` on its node (through `sudo` for a user other than root);
- a VM         -> ssh to the guest when the config has an ssh host named like it
                  (its name or its VMID), else `qm terminal VMID` on its node
                  (the serial console; ctrl+o leaves it);
- a Swarm task -> `docker exec -it CONTAINER sh` on the swarm node that runs it.

`ssh_argv` is a pure function of the cluster's [ssh] config: the same host,
port, user, keys and known_hosts file the console's own SSH pool uses, host keys
checked strictly (never accepted on first use), and `-F none`, since the
pool does not read ~/.ssh/config either. The TUI runs the argv under
App.suspend(); `labconsole shell TARGET` runs it in the terminal it was given.
Opening a shell is refused in read-only mode: a root shell changes anything.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.config_model import SshConfig
from console.errors import ConsoleError
from console.ops.common import guard


@dataclass(frozen=True)
class ShellPlan:
    what: str  # "node pve1", "CT 105 (db) on pve2", ...
    host: str  # the ssh host alias
    remote: str | None  # the remote command; None: a login shell
    argv: tuple[str, ...]

    @property
    def words(self) -> str:
        how = f"`{self.remote}` on {self.host}" if self.remote else f"a login shell on {self.host}"
        return f"Open {how} ({self.what})."


def ssh_argv(cfg: SshConfig, alias: str, remote: str | None = None, tty: bool = True,
             ssh: str = "ssh") -> tuple[str, ...]:
    """`ssh -t -o StrictHostKeyChecking=yes -o UserKnownHostsFile=F -i KEY -p PORT user@host [cmd]`."""
    h = cfg.host(alias)
    known = cfg.known_hosts or Path("~/.ssh/known_hosts").expanduser()
    argv = [ssh, "-F", "none"]
    if tty:
        argv.append("-t")
    argv += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}",
             "-o", f"ConnectTimeout={max(1, int(round(cfg.connect_timeout)))}"]
    for key in h.keys:
        argv += ["-i", str(key)]
    if h.keys:
        argv += ["-o", "IdentitiesOnly=yes"]
    if not cfg.agent:
        argv += ["-o", "IdentityAgent=none"]
    argv += ["-p", str(h.port), "--", f"{h.user}@{h.address}"]
    if remote:
        argv.append(remote)
    return tuple(argv)


def node_shell(cfg: SshConfig, node: str) -> ShellPlan:
    return ShellPlan(f"node {node}", node, None, ssh_argv(cfg, node))


def guest_shell(cfg: SshConfig, vmid: int, kind: str, node: str, name: str = "") -> ShellPlan:
    label = f"{'VM' if kind == 'qemu' else 'CT'} {vmid}" + (f" ({name})" if name else "")
    sudo = "sudo " if cfg.host(node).user != "root" else ""  # interactive: sudo may ask for a password here
    if kind == "lxc":
        remote = f"{sudo}pct enter {int(vmid)}"
        return ShellPlan(f"{label} on {node}", node, remote, ssh_argv(cfg, node, remote))
    own = next((h.alias for h in cfg.hosts if h.alias in (name, str(vmid))), None) if (name or vmid) else None
    if own:
        return ShellPlan(f"{label}, its own address", own, None, ssh_argv(cfg, own))
    remote = f"{sudo}qm terminal {int(vmid)}"
    return ShellPlan(f"{label} serial console on {node}, ctrl+o leaves", node, remote, ssh_argv(cfg, node, remote))


def task_shell(cfg: SshConfig, task_name: str, swarm_node: str, container_id: str) -> ShellPlan:
    if not re.fullmatch(r"[0-9a-f]{12,64}", container_id or ""):
        raise ConsoleError("swarm", f"task {task_name} has no container to enter (yet)",
                           "it is not running; wait for it to start")
    remote = f"docker exec -it {shlex.quote(container_id)} sh"
    return ShellPlan(f"task {task_name} on {swarm_node}", swarm_node, remote, ssh_argv(cfg, swarm_node, remote))


async def resolve(sources: Any, target: str) -> ShellPlan:
    """TARGET: a node name, a VMID, or a swarm task (`service.slot`, or a task id)."""
    guard(sources, f"open a shell on {target}")
    cfg = sources.cluster.ssh
    target = (target or "").strip()
    if not target:
        raise ConsoleError("shell", "no target given", "a node name, a VMID or a swarm task (service.slot)")
    if target.isdigit() and sources.get("proxmox") is not None:
        from console.ops.guests import find_guest

        g = await find_guest(sources, int(target))
        if g.status != "running":
            raise ConsoleError("shell", f"{g.label} is {g.status}", "start it first")
        return guest_shell(cfg, g.vmid, g.type, g.node, g.name)
    if sources.get("proxmox") is not None:
        from console.ops.guests import list_nodes

        nodes = {n.name: n for n in await list_nodes(sources)}
        if target in nodes:
            if not nodes[target].online:
                raise ConsoleError("shell", f"node {target} is offline")
            return node_shell(cfg, target)
    if sources.get("swarm") is not None:
        plan = await _task_plan(sources, cfg, target)
        if plan is not None:
            return plan
    if any(h.alias == target for h in cfg.hosts):
        return node_shell(cfg, target)
    raise ConsoleError("shell", f"no node, guest or swarm task {target!r}",
                       "a node name, a VMID, or a swarm task as service.slot")


async def _task_plan(sources: Any, cfg: SshConfig, target: str) -> ShellPlan | None:
    src = sources.get("swarm")
    state = await src.fetch()
    names = {s.id: s.name for s in state.services}
    hosts = {n.id: n.hostname for n in state.nodes}
    for t in state.tasks:
        name = f"{names.get(t.service_id, t.service_id)}.{t.slot}" if t.slot is not None else t.id
        if target in (name, t.id) and t.desired_state == "running":
            raw = await src.task_inspect(t.id)
            cid = ((raw.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "")
            return task_shell(cfg, name, t.node_name or hosts.get(t.node_id or "", ""), cid)
    return None
