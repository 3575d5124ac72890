"""Interactive sessions on the sim's SSH servers (a client that asked for a pty):

- no command        -> a login shell on the node/firewall: `root@pve1:~# `;
- `pct enter VMID`  -> a shell inside the CT: `root@NAME:~# ` (the CT must run on this node);
- `qm terminal VMID`-> the VM's serial console: pve's banner, a login prompt line, ctrl+o leaves;
- `docker exec -it ID sh` -> a shell in the container: `/ # `.

Each line typed runs through the same small shell as exec requests; `exit`
(or ctrl+d) ends the session with status 0. With a pty the server echoes what
is typed and ends lines with CR LF, as a terminal expects.
"""

from __future__ import annotations

import re

from console.sim.ssh_commands import Io, Shell

CTRL_D, CTRL_O, CTRL_C = "\x04", "\x0f", "\x03"


def session_for(host, command: str | None) -> tuple[str, str, str | None] | None:
    """(banner, prompt, error) for an interactive command, or None when it is not one."""
    world = host.world
    if command is None:
        return "", f"root@{host.name}:~# ", None
    m = re.fullmatch(r"\s*(pct enter|qm terminal)\s+(\d+)\s*", command)
    if m and host.kind == "node":
        vmid = int(m.group(2))
        g = world.guests.get(vmid)
        kind = "lxc" if m.group(1) == "pct enter" else "qemu"
        word = "CT" if kind == "lxc" else "VM"
        if g is None or getattr(g, "type", kind) != kind:
            return "", "", f"Configuration file 'nodes/{host.name}/{kind}/{vmid}.conf' does not exist\n"
        if g.node != host.name:
            return "", "", f"{word} {vmid} is not on this node ({host.name}); it runs on {g.node}\n"
        if getattr(g, "status", "running") != "running":
            return "", "", f"{word} {vmid} not running\n"
        if kind == "lxc":
            return "", f"root@{g.name}:~# ", None
        return (f"starting serial terminal on interface serial0 (press Ctrl+O to exit)\r\n\r\n"
                f"Debian GNU/Linux 12 {g.name} ttyS0\r\n\r\n", f"root@{g.name}:~# ", None)
    m = re.fullmatch(r"\s*docker exec -it\s+([0-9a-f]{12,64})\s+sh\s*", command)
    if m and host.kind == "swarm":
        from console.sim.docker_objects import task_json

        mine = [t for t in world.tasks.values() if t.state == "running" and (world.swarm_nodes.get(t.node_id) and
                world.swarm_nodes[t.node_id].hostname == host.name)]
        ids = {((task_json(world, t).get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "")
               for t in mine}
        if not any(cid.startswith(m.group(1)) for cid in ids if cid):
            return "", "", f"Error response from daemon: No such container: {m.group(1)}\n"
        return "", "/ # ", None
    return None


async def run_interactive(host, process, session, banner: str, prompt: str) -> int:
    """Read keystrokes, echo them, run each line; `exit` or ctrl+d ends with 0, ctrl+o too."""
    out = process.stdout

    def write(text: str) -> None:
        if not session.closed:
            out.write(text.replace("\r\n", "\n").replace("\n", "\r\n"))

    write(banner + prompt)
    shell = Shell(session, host.commands)
    line = ""
    while not session.closed:
        try:
            data = await process.stdin.read(1024)
        except Exception:  # noqa: BLE001 - the client went away: the session ends
            return 0
        if not data:
            return 0
        for ch in data:
            if ch in (CTRL_D, CTRL_O) and not line:
                write("\r\n")
                return 0
            if ch == CTRL_C:
                line = ""
                write("^C\r\n" + prompt)
            elif ch in ("\r", "\n"):
                write("\r\n")
                cmd = line.strip()
                line = ""
                if cmd in ("exit", "logout"):
                    return 0
                if cmd:
                    host.world.tick()
                    await shell.run(cmd, Io(write, write))
                write(prompt)
            elif ch in ("\x7f", "\b"):
                if line:
                    line = line[:-1]
                    write("\b \b")
            elif ch.isprintable():
                line += ch
                write(ch)
    return 0
