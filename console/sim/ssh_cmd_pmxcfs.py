"""The file commands a node answers for /etc/pve/priv/lock (console/sim/pmxcfs_locks.py):
mkdir, rmdir, touch [-m] [-d @EPOCH], stat -c %Y, rm [-f], and date +%s, with
coreutils' messages and exit codes. Paths elsewhere: the node's usual read-only
view (only /tmp, /run, /var/tmp, /root are writable)."""

from __future__ import annotations

import time

from console.sim.pmxcfs_locks import ROOT
from console.sim.ssh_cmd_common import cmd_rm
from console.sim.ssh_commands import WRITABLE, Io, Shell


def _locks(sh: Shell):
    return sh.world.pmxcfs


def _paths(argv: list[str]) -> list[str]:
    return [a for a in argv[1:] if not a.startswith("-")]


async def cmd_mkdir(sh: Shell, argv: list[str], io: Io) -> int:
    parents = any(a.startswith("-") and "p" in a for a in argv[1:])
    code = 0
    for p in _paths(argv):
        where = _locks(sh).split(p)
        if p.rstrip("/") in ("/etc/pve", "/etc/pve/priv", ROOT):
            err = None if parents else "File exists"
        elif where is None:
            err = None if WRITABLE.match(p) else "Read-only file system"
        elif not where[0] or where[1]:
            err = "Permission denied"
        else:
            err = _locks(sh).mkdir(where[0])
            if err and parents:
                err = None
        if err:
            io.errln(f"mkdir: cannot create directory '{p}': {err}")
            code = 1
    return code


async def cmd_rmdir(sh: Shell, argv: list[str], io: Io) -> int:
    code = 0
    for p in _paths(argv):
        where = _locks(sh).split(p)
        err = _locks(sh).rmdir(where[0]) if where and where[0] and not where[1] else "Permission denied"
        if err:
            io.errln(f"rmdir: failed to remove '{p}': {err}")
            code = 1
    return code


async def cmd_touch(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    mtime: float | None = None
    paths = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-d" and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            if not value.startswith("@") or not value[1:].isdigit():
                io.errln(f"touch: invalid date format '{value}'")
                return 1
            mtime = float(value[1:])
            continue
        if a.startswith("-"):
            i += 1
            continue
        paths.append(a)
        i += 1
    code = 0
    for p in paths:
        where = _locks(sh).split(p)
        if where is None:
            if WRITABLE.match(p):
                sh.host.files.setdefault(p, "")
                continue
            err = "Read-only file system"
        elif not where[0] or where[1]:
            err = "Permission denied"
        else:
            err = _locks(sh).touch(where[0], mtime)
        if err:
            io.errln(f"touch: cannot touch '{p}': {err}")
            code = 1
    return code


async def cmd_stat(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    if args[:2] != ["-c", "%Y"] or len(args) < 3:
        io.errln("stat: only `stat -c %Y PATH` is simulated")
        return 1
    code = 0
    for p in args[2:]:
        where = _locks(sh).split(p)
        d = _locks(sh).dirs.get(where[0]) if where and where[0] and not where[1] else None
        if d is None:
            io.errln(f"stat: cannot statx '{p}': No such file or directory")
            code = 1
        else:
            io.outln(str(int(d.mtime)))
    return code


async def cmd_date(sh: Shell, argv: list[str], io: Io) -> int:
    if argv[1:] != ["+%s"]:
        io.errln("date: only `date +%s` is simulated")
        return 1
    io.outln(str(int(time.time())))  # the lock clock (wall time, see pmxcfs_locks)
    return 0


async def cmd_rm_locks(sh: Shell, argv: list[str], io: Io) -> int:
    force = any(a.startswith("-") and "f" in a for a in argv[1:])
    rest = [argv[0]] + [a for a in argv[1:] if a.startswith("-")]
    code = 0
    for p in _paths(argv):
        where = _locks(sh).split(p)
        if where is None:
            rest.append(p)
        elif where[0] and where[1] and _locks(sh).remove(*where):
            continue
        elif where[0] and not where[1] and where[0] in _locks(sh).dirs:
            io.errln(f"rm: cannot remove '{p}': Is a directory")
            code = 1
        elif not force:
            io.errln(f"rm: cannot remove '{p}': No such file or directory")
            code = 1
    if len(rest) > 1 + sum(1 for a in argv[1:] if a.startswith("-")):
        code = max(code, await cmd_rm(sh, rest, io))
    return code


PMXCFS_COMMANDS = {"mkdir": cmd_mkdir, "rmdir": cmd_rmdir, "touch": cmd_touch, "stat": cmd_stat,
                   "date": cmd_date, "rm": cmd_rm_locks}
