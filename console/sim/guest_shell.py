"""What a shell inside a simulated guest answers: apt-get (update, -s dist-upgrade,
dist-upgrade -y with its output), apt list --upgradable, dpkg-query -W, uname -r,
systemctl is-system-running / is-active / --failed, needrestart -b, df, the files
/etc/os-release and /var/run/reboot-required.

Used by `pct exec VMID -- ...` on a node, by the guest agent's exec and by the
firewalls' own SSH servers (where the keepalived commands stay theirs).
"""

from __future__ import annotations

import asyncio

from console.sim import guest_pkgs as GP
from console.sim.ssh_cmd_common import COMMON_COMMANDS
from console.sim.ssh_commands import Io, Shell

GUEST_DISK_FREE_KB = 5_800_000
SUITE = {True: "bookworm-security", False: "bookworm-updates"}


class GuestHost:
    """The host object a Shell needs, for a guest reached through its node or its agent."""

    kind = "guest"
    user = "root"
    sudo_denied = False

    def __init__(self, world, vmid: int, parent=None):
        self.world = world
        self.guest_vmid = vmid
        self.name = world.guests[vmid].name
        self.files: dict[str, str] = {}
        self._parent = parent

    @property
    def closed(self) -> bool:
        return bool(getattr(self._parent, "closed", False))

    def kernel(self) -> str:
        return guest_kernel(self.world, self.guest_vmid)

    def read_file(self, path: str) -> str | None:
        return guest_file(self.world, self.guest_vmid, path, self.files)

    def can_write(self, path: str) -> bool:
        return False

    def write_special(self, path: str, data: str, append: bool) -> bool:
        return False


def vmid_of(sh: Shell) -> int:
    host = sh.host
    vmid = getattr(host, "guest_vmid", None)
    if vmid is None:  # a firewall's own SSH
        vmid = sh.world.firewalls[host.name].vmid
    return int(vmid)


def guest_kernel(world, vmid: int) -> str:
    p = GP.pkgs(world, vmid)
    if p.kernel is not None:
        return p.kernel
    return world.nodes[world.guests[vmid].node].kernel  # a container runs on its node's kernel


def guest_file(world, vmid: int, path: str, files: dict[str, str]) -> str | None:
    p = GP.pkgs(world, vmid)
    if path in ("/etc/os-release", "/usr/lib/os-release"):
        return p.os_release
    if path == "/var/run/reboot-required" or path == "/run/reboot-required":
        return "*** System restart required ***\n" if p.reboot_required() else None
    if path == "/etc/hostname":
        return world.guests[vmid].name + "\n"
    return files.get(path)


def _p(sh: Shell) -> GP.GuestPkgs:
    return GP.pkgs(sh.world, vmid_of(sh))


def _words(argv: list[str]) -> tuple[list[str], set[str]]:
    words, flags = [], set()
    it = iter(argv)
    for a in it:
        if a in ("-o", "-c", "-t"):
            next(it, None)
        elif a.startswith("-"):
            flags.update("-" + c for c in a[1:]) if a[1:2] != "-" else flags.add(a)
        else:
            words.append(a)
    return words, flags


def debian_only(handler):
    """apt and dpkg exist on a Debian guest only; elsewhere bash does not find them."""

    async def run(sh: Shell, argv: list[str], io: Io) -> int:
        if not _p(sh).debian:
            io.errln(f"bash: {argv[0]}: command not found")
            return 127
        return await handler(sh, argv, io)

    return run


async def cmd_apt_get(sh: Shell, argv: list[str], io: Io) -> int:
    p = _p(sh)
    words, flags = _words(argv[1:])
    op = words[0] if words else ""
    if op == "update":
        for i, suite in enumerate(("bookworm", "bookworm-updates", "bookworm-security"), 1):
            io.outln(f"Hit:{i} http://deb.debian.org/debian {suite} InRelease")
        io.outln("Reading package lists...")
        return 0
    if op not in ("dist-upgrade", "full-upgrade", "upgrade"):
        io.errln(f"E: Invalid operation {op}" if op else "E: No operation specified")
        return 100
    pending = p.pending()
    for line in ("Reading package lists...", "Building dependency tree...", "Reading state information...",
                 "Calculating upgrade..."):
        io.outln(line)
    simulate = bool(flags & {"-s", "--simulate", "--dry-run", "--just-print", "--no-act"})
    if simulate:
        io.outln("The following packages will be upgraded:")
        io.outln("  " + " ".join(pending))
        io.outln(f"{len(pending)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        for name, (old, new) in pending.items():
            io.outln(f"Inst {name} [{old}] ({new} Debian:12.8/{SUITE[name in GP.SECURITY]} [amd64])")
        for name, (_old, new) in pending.items():
            io.outln(f"Conf {name} ({new} Debian:12.8/{SUITE[name in GP.SECURITY]} [amd64])")
        return 0
    if not flags & {"-y", "--yes", "--assume-yes"} and pending:
        io.outln(f"{len(pending)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        io.outln("Do you want to continue? [Y/n] Abort.")
        return 1
    return await _upgrade(sh, p, pending, io)


async def _upgrade(sh: Shell, p: GP.GuestPkgs, pending: dict, io: Io) -> int:
    world = sh.world
    g = world.guests[vmid_of(sh)]
    if p.upgrading:
        io.errln("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)")
        return 100
    if not pending:
        io.outln("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
        return 0
    p.upgrading = True
    pause = world.real_seconds("upgrade_line")
    try:
        lines = ["The following packages will be upgraded:", "  " + " ".join(pending),
                 f"{len(pending)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded."]
        lines += [f"Get:{i} http://deb.debian.org/debian {SUITE[n in GP.SECURITY]}/main amd64 {n} amd64 {v}"
                  for i, (n, (_o, v)) in enumerate(pending.items(), 1)]
        for n, (o, v) in pending.items():
            lines += [f"Preparing to unpack .../{n}_{v}_amd64.deb ...", f"Unpacking {n} ({v}) over ({o}) ..."]
        lines += [f"Setting up {n} ({v}) ..." for n, (_o, v) in pending.items()]
        for line in lines:
            io.outln(line)
            await asyncio.sleep(pause)
            if g.status != "running":  # stopped under it (a snapshot rollback, a hard stop): apt dies with it
                return 137
        world.tick()
        GP.apply_upgrade(world, g)
        if p.broken:
            failed = next((u for u, s in p.units.items() if s == "failed"), "service")
            io.outln(f"Job for {failed}.service failed because the control process exited with error code.")
            io.outln(f'See "systemctl status {failed}.service" and "journalctl -xeu {failed}.service" for details.')
        io.outln("Processing triggers for libc-bin (2.36-9+deb12u9) ...")
        return 0
    finally:
        p.upgrading = False


async def cmd_apt(sh: Shell, argv: list[str], io: Io) -> int:
    p = _p(sh)
    words, flags = _words(argv[1:])
    if words[:1] != ["list"] or "--upgradable" not in flags:
        io.errln("E: this lab's apt answers `apt list --upgradable` only")
        return 100
    io.err("\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n")
    io.outln("Listing...")
    for name, (old, new) in p.pending().items():
        io.outln(f"{name}/{SUITE[name in GP.SECURITY]} {new} amd64 [upgradable from: {old}]")
    return 0


async def cmd_dpkg_query(sh: Shell, argv: list[str], io: Io) -> int:
    p = _p(sh)
    fmt = "${binary:Package}\t${Version}\n"
    it = iter(argv[1:])
    for a in it:
        if a in ("-f", "--showformat"):
            fmt = next(it, fmt)
    fmt = fmt.replace("\\n", "\n").replace("\\t", "\t")
    for name, ver in sorted(p.installed.items()):
        io.out(fmt.replace("${binary:Package}", name).replace("${Package}", name).replace("${Version}", ver))
    return 0


async def cmd_systemctl(sh: Shell, argv: list[str], io: Io) -> int:
    p = _p(sh)
    args = [a for a in argv[1:] if not a.startswith("-")]
    if "--failed" in argv or args[:1] == ["list-units"]:
        for u, s in sorted(p.units.items()):
            if s == "failed":
                io.outln(f"{u}.service loaded failed failed {u}")
        return 0
    if args[:1] == ["is-system-running"]:
        sh.world.tick()
        state = "degraded" if any(s == "failed" for s in p.units.values()) else "running"
        io.outln(state)
        return 0 if state == "running" else 1
    if args[:1] == ["is-active"] and len(args) == 2:
        state = p.units.get(args[1].removesuffix(".service"), "inactive")
        if state == "failed" or state == "inactive":
            io.outln(state)
            return 3
        io.outln("active")
        return 0
    io.errln(f"Unknown command verb {args[0] if args else ''}." if args else "Too few arguments.")
    return 1


async def cmd_needrestart(sh: Shell, argv: list[str], io: Io) -> int:
    if "-b" not in argv:
        io.errln("needrestart: this lab answers batch mode (-b) only")
        return 1
    p = _p(sh)
    world = sh.world
    cur = guest_kernel(world, vmid_of(sh))
    newest = max(p.kernels, key=GP._kkey) if p.kernels else cur
    io.outln("NEEDRESTART-VER: 3.6")
    io.outln(f"NEEDRESTART-KCUR: {cur}")
    io.outln(f"NEEDRESTART-KEXP: {newest}")
    io.outln(f"NEEDRESTART-KSTA: {3 if newest != cur else 1}")
    return 0


async def cmd_df(sh: Shell, argv: list[str], io: Io) -> int:
    io.outln("Filesystem     1024-blocks    Used Available Capacity Mounted on")
    io.outln(f"/dev/root          8123456 2323456  {GUEST_DISK_FREE_KB}      29% /")
    return 0


def _tr_set(text: str) -> str:
    """tr's escapes: \\n, \\t, \\\\ and octal \\NNN."""
    import re

    return re.sub(r"\\([0-7]{1,3}|.)", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}.get(
        m.group(1), chr(int(m.group(1), 8)) if m.group(1).isdigit() else m.group(1)), text)


async def cmd_tr(sh: Shell, argv: list[str], io: Io) -> int:
    if len(argv) != 3:
        io.errln("tr: this lab's tr takes two sets")
        return 1
    a, b = _tr_set(argv[1]), _tr_set(argv[2])
    b = (b + b[-1:] * len(a))[:len(a)]
    io.out(io.stdin.translate(str.maketrans(a, b)))
    return 0


GUEST_COMMANDS = {
    "tr": cmd_tr,
    **COMMON_COMMANDS,
    "apt-get": debian_only(cmd_apt_get),
    "apt": debian_only(cmd_apt),
    "dpkg-query": debian_only(cmd_dpkg_query),
    "systemctl": cmd_systemctl,
    "needrestart": cmd_needrestart,
    "df": cmd_df,
}


def firewall_commands(fw_commands: dict) -> dict:
    """A firewall VM's shell: its keepalived commands, plus the guest's apt and systemd ones
    (systemctl keeps keepalived start/stop/is-active; the rest is the guest's)."""
    fw_systemctl = fw_commands["systemctl"]

    async def systemctl(sh: Shell, argv: list[str], io: Io) -> int:
        args = [a for a in argv[1:] if not a.startswith("-")]
        if len(args) >= 2 and args[1].removesuffix(".service") == "keepalived":
            return await fw_systemctl(sh, argv, io)
        return await cmd_systemctl(sh, argv, io)

    extra = {k: v for k, v in GUEST_COMMANDS.items() if k not in COMMON_COMMANDS}
    return {**extra, **{k: v for k, v in fw_commands.items() if k != "systemctl"}, "systemctl": systemctl}


async def run_in_guest(world, vmid: int, argv: list[str], io: Io, parent=None) -> int:
    """Run argv inside guest `vmid` (pct exec, agent exec)."""
    shell = Shell(GuestHost(world, vmid, parent), GUEST_COMMANDS)
    return await shell.exec(argv, io)


async def cmd_pct(sh: Shell, argv: list[str], io: Io) -> int:
    """`pct exec VMID [-- ] CMD...` on a node: the CT must be on this node and running."""
    world = sh.world
    args = argv[1:]
    if args[:1] != ["exec"] or len(args) < 3:
        io.errln("400 unable to parse command; this lab's pct knows `pct exec <vmid> -- <command>`")
        return 255
    try:
        vmid = int(args[1])
    except ValueError:
        io.errln(f"400 Parameter verification failed.\nvmid: type check ('integer') failed - got '{args[1]}'")
        return 255
    rest = args[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    g = world.guests.get(vmid)
    if g is None or g.type != "lxc" or g.node != sh.host.name:
        io.errln(f"Configuration file 'nodes/{sh.host.name}/lxc/{vmid}.conf' does not exist")
        return 255
    world.tick()
    if not world.guest_available(g):
        io.errln(f"CT {vmid} not running")
        return 255
    if not rest:
        io.errln("missing command")
        return 255
    return await run_in_guest(world, vmid, rest, io, sh.host)
