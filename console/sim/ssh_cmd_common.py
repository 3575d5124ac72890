"""Commands every sim host answers: echo, true, cat, uname, hostname, the filters."""

from __future__ import annotations

import asyncio
import re

from console.sim.ssh_commands import WRITABLE, Io, Shell


async def cmd_true(sh: Shell, argv: list[str], io: Io) -> int:
    return 0


async def cmd_false(sh: Shell, argv: list[str], io: Io) -> int:
    return 1


async def cmd_echo(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    newline = True
    escapes = False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or escapes
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode().decode("unicode_escape")
    io.out(text + ("\n" if newline else ""))
    return 0


async def cmd_hostname(sh: Shell, argv: list[str], io: Io) -> int:
    io.outln(sh.host.name)
    return 0


async def cmd_whoami(sh: Shell, argv: list[str], io: Io) -> int:
    io.outln("root")
    return 0


async def cmd_uname(sh: Shell, argv: list[str], io: Io) -> int:
    kernel = sh.host.kernel()
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-")) or "s"
    if "a" in flags:
        io.outln(f"Linux {sh.host.name} {kernel} #1 SMP PREEMPT_DYNAMIC PMX {kernel} x86_64 GNU/Linux")
        return 0
    parts = []
    for f in flags:
        parts.append({"s": "Linux", "n": sh.host.name, "r": kernel, "m": "x86_64", "o": "GNU/Linux",
                      "v": "#1 SMP PREEMPT_DYNAMIC PMX"}.get(f, ""))
    io.outln(" ".join(p for p in parts if p))
    return 0


async def cmd_cat(sh: Shell, argv: list[str], io: Io) -> int:
    paths = [a for a in argv[1:] if a != "-"]
    if not paths:
        io.out(io.stdin)
        return 0
    code = 0
    for p in paths:
        data = sh.read_file(p)
        if data is None:
            io.errln(f"cat: {p}: No such file or directory")
            code = 1
        else:
            io.out(data)
    return code


def _count(argv: list[str], default: int) -> tuple[int, list[str]]:
    n = default
    rest: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a == "-n":
            n = int(next(it, default))
        elif re.fullmatch(r"-n?\d+", a):
            n = int(a.lstrip("-n"))
        else:
            rest.append(a)
    return n, rest


async def cmd_head(sh: Shell, argv: list[str], io: Io) -> int:
    n, _ = _count(argv, 10)
    io.out("".join(io.stdin.splitlines(keepends=True)[:n]))
    return 0


async def cmd_tail(sh: Shell, argv: list[str], io: Io) -> int:
    n, _ = _count(argv, 10)
    lines = io.stdin.splitlines(keepends=True)
    io.out("".join(lines[-n:] if n else []))
    return 0


async def cmd_grep(sh: Shell, argv: list[str], io: Io) -> int:
    invert = quiet = count = False
    ignore = 0
    pattern = None
    for a in argv[1:]:
        if a.startswith("-") and pattern is None and len(a) > 1:
            invert |= "v" in a
            quiet |= "q" in a
            count |= "c" in a
            ignore = re.I if "i" in a else ignore
        elif pattern is None:
            pattern = a
    if pattern is None:
        io.errln("Usage: grep [OPTION]... PATTERNS [FILE]...")
        return 2
    rx = re.compile(pattern, ignore)
    hits = [ln for ln in io.stdin.splitlines(keepends=True) if bool(rx.search(ln)) != invert]
    if count:
        io.outln(str(len(hits)))
    elif not quiet:
        io.out("".join(hits))
    return 0 if hits else 1


async def cmd_wc(sh: Shell, argv: list[str], io: Io) -> int:
    io.outln(str(io.stdin.count("\n")) if "-l" in argv
             else f"{io.stdin.count(chr(10))} {len(io.stdin.split())} {len(io.stdin)}")
    return 0


async def cmd_sleep(sh: Shell, argv: list[str], io: Io) -> int:
    try:
        secs = float(argv[1])
    except (IndexError, ValueError):
        io.errln("sleep: missing operand")
        return 1
    await asyncio.sleep(min(secs, 30.0))
    return 0


async def cmd_command(sh: Shell, argv: list[str], io: Io) -> int:
    if len(argv) >= 3 and argv[1] == "-v":
        found = [a for a in argv[2:] if a in sh.commands]
        for a in found:
            io.outln(a if a in ("echo", "true", "false", "command", "kill") else f"/usr/bin/{a}")
        return 0 if len(found) == len(argv) - 2 else 1
    return await sh.exec(argv[1:], io)


async def cmd_exit(sh: Shell, argv: list[str], io: Io) -> int:
    try:
        return int(argv[1]) & 0xFF if len(argv) > 1 else 0
    except ValueError:
        io.errln(f"bash: exit: {argv[1]}: numeric argument required")
        return 2


async def cmd_rm(sh: Shell, argv: list[str], io: Io) -> int:
    force = any(a.startswith("-") and "f" in a for a in argv[1:])
    code = 0
    for p in (a for a in argv[1:] if not a.startswith("-")):
        if p in sh.host.files and WRITABLE.match(p):
            del sh.host.files[p]
        elif sh.read_file(p) is not None:
            io.errln(f"rm: cannot remove '{p}': Read-only file system")
            code = 1
        elif not force:
            io.errln(f"rm: cannot remove '{p}': No such file or directory")
            code = 1
    return code


async def cmd_test(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            io.errln("bash: [: missing `]'")
            return 2
        args = args[:-1]
    negate = bool(args) and args[0] == "!"
    args = args[1:] if negate else args
    if not args:
        result = False
    elif len(args) == 1:
        result = args[0] != ""
    elif len(args) == 2 and args[0] in ("-e", "-f", "-s", "-n", "-z", "-r"):
        data = sh.read_file(args[1])
        result = {"-e": data is not None, "-f": data is not None, "-r": data is not None, "-s": bool(data),
                  "-n": args[1] != "", "-z": args[1] == ""}[args[0]]
    elif len(args) == 3 and args[1] in ("=", "==", "!="):
        result = (args[0] == args[2]) != (args[1] == "!=")
    elif len(args) == 3 and args[1] in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
        try:
            a, b = int(args[0]), int(args[2])
        except ValueError:
            io.errln(f"bash: test: {args[0]}: integer expression expected")
            return 2
        result = {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}[args[1]]
    else:
        io.errln(f"bash: {argv[0]}: too many arguments")
        return 2
    return 0 if result != negate else 1


COMMON_COMMANDS = {
    "rm": cmd_rm,
    "test": cmd_test,
    "[": cmd_test,
    "true": cmd_true,
    ":": cmd_true,
    "false": cmd_false,
    "echo": cmd_echo,
    "hostname": cmd_hostname,
    "whoami": cmd_whoami,
    "uname": cmd_uname,
    "cat": cmd_cat,
    "head": cmd_head,
    "tail": cmd_tail,
    "grep": cmd_grep,
    "wc": cmd_wc,
    "sleep": cmd_sleep,
    "command": cmd_command,
    "exit": cmd_exit,
}
