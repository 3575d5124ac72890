"""apt-get and dpkg-query on a sim node: apt's output lines, "E: " errors on
stderr with exit 100, downgrades only with --allow-downgrades (as apt does).
"""

from __future__ import annotations

import asyncio
import fnmatch
import re

from console.sim.dynamics_apt import LOCK_ERRORS
from console.sim.sim_errors import SimCommandFailed, SimError
from console.sim.ssh_commands import Io, Shell


def _node(sh: Shell):
    return sh.world.nodes[sh.host.name]


APT_FLAGS_WITH_ARG = {"-o", "-c", "-t", "--target-release", "--option"}


def _apt_parse(args: list[str]) -> tuple[list[str], set[str]]:
    words: list[str] = []
    flags: set[str] = set()
    it = iter(args)
    for a in it:
        if a in APT_FLAGS_WITH_ARG:
            next(it, None)
        elif a.startswith("-"):
            if re.fullmatch(r"-[a-zA-Z]+", a):
                flags.update("-" + c for c in a[1:])
            else:
                flags.add(a)
        else:
            words.append(a)
    return words, flags


def _assume_yes(flags: set[str]) -> bool:
    return bool(flags & {"-y", "--yes", "--assume-yes"})


async def cmd_apt_get(sh: Shell, argv: list[str], io: Io) -> int:
    world = sh.world
    words, flags = _apt_parse(argv[1:])
    if not words:
        io.errln("E: No operation specified")  # apt-get prints its usage; the exit code is what matters
        return 100
    op = words[0]
    if op == "update":
        return await _apt_update(sh, io)
    if op in ("dist-upgrade", "full-upgrade", "upgrade"):
        node = _node(sh)
        if not _assume_yes(flags) and node.upgradable:
            for line in ("Reading package lists...", "Building dependency tree...", "Reading state information...",
                         "Calculating upgrade..."):
                io.outln(line)
            io.outln(f"{len(node.upgradable)} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.")
            io.outln("Do you want to continue? [Y/n] Abort.")
            return 1

        def out(line: str) -> None:
            (io.errln if line.startswith(("E: ", "W: ")) else io.outln)(line)

        try:
            return await world.dist_upgrade(sh.host.name, out,
                                            download_only=bool(flags & {"-d", "--download-only"}))
        except SimCommandFailed as e:
            io.errln(e.message)
            return e.exit_status
    if op == "install":
        return _apt_install(sh, words[1:], flags, io)
    io.errln(f"E: Invalid operation {op}")
    return 100


async def _apt_update(sh: Shell, io: Io) -> int:
    world = sh.world
    try:
        upid = world.apt_update(sh.host.name)
    except SimError as e:
        io.errln(f"E: {e.message}")
        return 100
    shown = 0
    while True:
        world.tick()
        task = world.pve_tasks[upid]
        lines = [ln for ln in task.log if not ln.startswith(("starting apt-get", "TASK "))]
        for ln in lines[shown:]:
            io.outln(ln)
        shown = len(lines)
        if not task.running:
            break
        await asyncio.sleep(min(0.05, world.real_seconds(0.5)))
        if sh.host.closed:
            return 255
    if task.exitstatus != "OK":
        io.errln(f"E: {task.exitstatus}")
        return 100
    return 0


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _apt_install(sh: Shell, specs: list[str], flags: set[str], io: Io) -> int:
    node = _node(sh)
    if sh.world.dpkg_locked(sh.host.name):
        for line in LOCK_ERRORS:
            io.errln(line)
        return 100
    pkgs: dict[str, str] = {}
    for spec in specs:
        name, sep, ver = spec.partition("=")
        if not sep:
            io.errln(f"E: {name}: this sim only installs explicit versions (pkg=version)")
            return 100
        if name not in node.packages and name not in node.repo:
            io.errln(f"E: Unable to locate package {name}")
            return 100
        pkgs[name] = ver
    for line in ("Reading package lists...", "Building dependency tree...", "Reading state information..."):
        io.outln(line)
    down = sorted(n for n, v in pkgs.items() if n in node.packages and version_key(v) < version_key(node.packages[n]))
    if down:
        io.outln("The following packages will be DOWNGRADED:")
        io.outln("  " + " ".join(down))
    io.outln(f"0 upgraded, 0 newly installed, {len(down)} downgraded, 0 to remove and {len(node.upgradable)} not "
             "upgraded.")
    if down and not _assume_yes(flags):
        io.outln("Do you want to continue? [Y/n] Abort.")
        return 1
    if down and "--allow-downgrades" not in flags:
        io.errln("E: Packages were downgraded and -y was used without --allow-downgrades.")
        return 100
    old = {n: node.packages.get(n) for n in pkgs}
    try:
        code = sh.world.downgrade(sh.host.name, pkgs)
    except SimCommandFailed as e:
        io.errln(e.message)
        return e.exit_status
    except SimError as e:
        io.errln(f"E: {e.message}")
        return 100
    for n, v in sorted(pkgs.items()):
        if n in down:
            io.outln(f"dpkg: warning: downgrading {n} from {old[n]} to {v}")
        io.outln(f"Preparing to unpack .../{n}_{v}_amd64.deb ...")
        io.outln(f"Unpacking {n} ({v}) over ({old[n]}) ..." if old[n] else f"Unpacking {n} ({v}) ...")
    for n, v in sorted(pkgs.items()):
        io.outln(f"Setting up {n} ({v}) ...")
    return int(code or 0)


async def cmd_dpkg_query(sh: Shell, argv: list[str], io: Io) -> int:
    node = _node(sh)
    fmt = "${binary:Package}\t${Version}\n"
    patterns: list[str] = []
    show = False
    it = iter(argv[1:])
    for a in it:
        if a in ("-W", "--show"):
            show = True
        elif a in ("-f", "--showformat"):
            fmt = next(it, fmt)
            show = True
        elif a.startswith("--showformat="):
            fmt = a.split("=", 1)[1]
        elif a.startswith("-"):
            io.errln(f"dpkg-query: error: unknown option {a}")
            return 2
        else:
            patterns.append(a)
    if not show:
        io.errln("dpkg-query: error: need an action option")
        return 2
    fmt = fmt.replace("\\n", "\n").replace("\\t", "\t")
    code = 0
    names = sorted(node.packages)
    if patterns:
        chosen = []
        for p in patterns:
            hit = [n for n in names if fnmatch.fnmatchcase(n, p)]
            if not hit:
                io.errln(f"dpkg-query: no packages found matching {p}")
                code = 1
            chosen += [n for n in hit if n not in chosen]
        names = chosen
    for n in names:
        v = node.packages[n]
        line = fmt
        for key, val in (("${binary:Package}", n), ("${Package}", n), ("${Version}", v),
                         ("${Status}", "install ok installed"), ("${db:Status-Abbrev}", "ii "),
                         ("${Architecture}", "amd64")):
            line = line.replace(key, val)
        line = re.sub(r"\$\{[^}]*\}", "", line)
        io.out(line)
    return code


async def cmd_fuser(sh: Shell, argv: list[str], io: Io) -> int:
    """psmisc's fuser for the dpkg lock files: the holder's PID and exit 0, else exit 1 and nothing."""
    files = [a for a in argv[1:] if not a.startswith("-")]
    if not files:
        io.errln("No process specification given")
        return 1
    held = [f for f in files if f.startswith("/var/lib/dpkg/lock") and sh.world.dpkg_locked(sh.host.name)]
    for f in held:
        io.outln(f"{f}: 4242")
    return 0 if held else 1
