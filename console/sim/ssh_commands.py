"""A tiny shell for the sim's SSH front: what `bash -c CMD` does with the
commands the console sends, and nothing more.

Supported: words with '...' "..." and backslash quoting, `$(...)` and backticks
(command substitution), `$?` (the last exit status), `VAR=value cmd` prefixes, `cmd1 && cmd2`, `||`, `;`,
pipes into the filters below, and redirections `> f`, `>> f`, `< f`, `2>&1`,
`2>/dev/null`, `&>/dev/null`. Commands come from per-kind registries
(ssh_cmd_common, ssh_cmd_node, ssh_cmd_ceph, ssh_cmd_fw); anything else answers
like bash: "bash: X: command not found", exit 127.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from console.sim.ssh_privilege import NO_PASSWORD, NO_TERMINAL, parse_sudo, refusal
from console.sim.ssh_tokens import Op, Redir, ShellSyntaxError, Word, tokenize

log = logging.getLogger(__name__)

Writer = Callable[[str], None]


@dataclass
class Io:
    """Where one command reads and writes."""

    out: Writer
    err: Writer
    stdin: str = ""

    def outln(self, line: str = "") -> None:
        self.out(line + "\n")

    def errln(self, line: str = "") -> None:
        self.err(line + "\n")


Handler = Callable[["Shell", list[str], Io], Awaitable[int]]


# ------------------------------------------------------------------- shell
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
WRITABLE = re.compile(r"^(/tmp/|/run/|/var/tmp/|/root/)")
PASS_THROUGH = {"exec", "command", "nohup", "builtin"}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash"}


class Shell:
    """One host's shell: the registry of its commands and its small file system."""

    def __init__(self, host, commands: dict[str, Handler]):
        self.host = host  # ssh_server.SimHost: world, kind, name, files
        self.commands = commands
        self.env: dict[str, str] = {}
        self.last_status = 0  # $?
        self.elevated = False  # inside `sudo`

    @property
    def root(self) -> bool:
        """Runs as root: logged in as root (the default), or inside sudo."""
        return self.elevated or getattr(self.host, "user", "root") == "root"

    @property
    def world(self):
        return self.host.world

    # files ---------------------------------------------------------------
    def read_file(self, path: str) -> str | None:
        return self.host.read_file(path)

    def write_file(self, path: str, data: str, append: bool, io: Io) -> bool:
        if path == "/dev/null":
            return True
        if self.host.can_write(path) and not self.root:
            io.errln(f"bash: {path}: Permission denied")
            return False
        if self.host.write_special(path, data, append):
            return True
        if not WRITABLE.match(path):
            io.errln(f"bash: {path}: Read-only file system")
            return False
        old = self.host.files.get(path, "") if append else ""
        self.host.files[path] = old + data
        return True

    # running -------------------------------------------------------------
    async def run(self, line: str, io: Io) -> int:
        try:
            tokens = tokenize(line)
        except ShellSyntaxError as e:
            io.errln(f"bash: -c: line 1: {e}")
            return 2
        status = 0
        pipeline: list[list[Word | Redir]] = [[]]
        sep = ";"
        items: list[tuple[str, list[list[Word | Redir]]]] = []
        for tok in tokens:
            if isinstance(tok, Op):
                if tok.op == "|":
                    if not pipeline[-1]:
                        io.errln("bash: -c: line 1: syntax error near unexpected token `|'")
                        return 2
                    pipeline.append([])
                    continue
                if not pipeline[-1] and not (tok.op in (";", "&") and len(pipeline) == 1):
                    io.errln(f"bash: -c: line 1: syntax error near unexpected token `{tok.op}'")
                    return 2
                if pipeline[-1]:
                    items.append((sep, pipeline))
                pipeline, sep = [[]], tok.op if tok.op != "&" else ";"
            else:
                pipeline[-1].append(tok)
        if pipeline[-1]:
            items.append((sep, pipeline))
        elif sep in ("&&", "||", "|"):
            io.errln("bash: -c: line 1: syntax error: unexpected end of file")
            return 2
        for sep, pl in items:
            if sep == "&&" and status != 0:
                continue
            if sep == "||" and status == 0:
                continue
            status = await self._pipeline(pl, io)
            self.last_status = status
            if self.host.closed:
                break
        return status

    async def capture(self, line: str, stdin: str = "") -> tuple[int, str, str]:
        out: list[str] = []
        err: list[str] = []
        code = await self.run(line, Io(out.append, err.append, stdin))
        return code, "".join(out), "".join(err)

    async def _pipeline(self, cmds: list[list[Word | Redir]], io: Io) -> int:
        stdin = io.stdin
        status = 0
        for k, cmd in enumerate(cmds):
            last = k == len(cmds) - 1
            if last:
                status = await self._simple(cmd, Io(io.out, io.err, stdin))
            else:
                buf: list[str] = []
                status = await self._simple(cmd, Io(buf.append, io.err, stdin))
                stdin = "".join(buf)
        return status

    async def _expand(self, word: Word, io: Io) -> list[str]:
        fields: list[str] = [""]
        for p in word.parts:
            if p.param:
                fields[-1] += str(self.last_status)
                continue
            if not p.subst:
                fields[-1] += p.text
                continue
            code, out, _ = await self.capture(p.text)
            text = out.rstrip("\n")
            if p.quoted:
                fields[-1] += text
            else:
                pieces = text.split()
                if not pieces:
                    continue
                if text[:1].isspace() and fields[-1]:
                    fields.append("")
                fields[-1] += pieces[0]
                fields.extend(pieces[1:])
                if text[-1:].isspace():
                    fields.append("")
        if word.parts and all(p.subst and not p.quoted for p in word.parts):
            return [f for f in fields if f]
        return fields

    async def _simple(self, cmd: list[Word | Redir], io: Io) -> int:
        argv: list[str] = []
        env: dict[str, str] = {}
        fds: dict[int, Writer] = {1: io.out, 2: io.err}
        files: list[tuple[str, bool, list[str]]] = []
        stdin = io.stdin
        for tok in cmd:
            if isinstance(tok, Redir):
                if tok.mode == "dup":
                    fds[tok.fd] = fds.get(tok.dup_fd, io.err)
                    continue
                targets = await self._expand(tok.target, io) if tok.target else []
                if len(targets) != 1:
                    io.errln("bash: ambiguous redirect")
                    return 1
                path = targets[0]
                if tok.mode == "<":
                    data = self.read_file(path)
                    if data is None:
                        io.errln(f"bash: {path}: No such file or directory")
                        return 1
                    stdin = data
                    continue
                buf: list[str] = []
                files.append((path, tok.mode == ">>", buf))
                if tok.mode == "&>":
                    fds[1] = fds[2] = buf.append
                else:
                    fds[tok.fd] = buf.append
                continue
            if not argv and tok.literal() is not None and ASSIGNMENT.match(tok.literal() or ""):
                name, _, value = (tok.literal() or "").partition("=")
                env[name] = value
                continue
            argv.extend(await self._expand(tok, io))
        sub = Io(fds[1], fds[2], stdin)
        for path, _append, _buf in files:
            if path != "/dev/null" and not self.host.can_write(path) and not WRITABLE.match(path):
                io.errln(f"bash: {path}: Read-only file system")
                return 1
            if self.host.can_write(path) and not self.root:
                io.errln(f"bash: {path}: Permission denied")
                return 1
        if not argv:
            self.env.update(env)
            code = 0
        else:
            code = await self.exec(argv, sub, env)
        for path, append, buf in files:
            if not self.write_file(path, "".join(buf), append, io):
                return 1
        return code

    async def _sudo(self, argv: list[str], io: Io, env: dict[str, str] | None) -> int:
        parsed = parse_sudo(argv)
        if isinstance(parsed, str):
            io.errln(parsed)
            return 1
        noninteractive, rest = parsed
        if not self.root and getattr(self.host, "sudo_denied", False):
            if not noninteractive:
                io.errln(NO_TERMINAL)
            io.errln(NO_PASSWORD)
            return 1
        was, self.elevated = self.elevated, True
        try:
            return await self.exec(rest, io, env)
        finally:
            self.elevated = was

    async def exec(self, argv: list[str], io: Io, env: dict[str, str] | None = None) -> int:
        while argv and (argv[0] in PASS_THROUGH or argv[0] == "env"):
            if argv[0] == "command" and len(argv) > 1 and argv[1] == "-v":
                break
            argv = argv[1:]
            while argv and ASSIGNMENT.match(argv[0]):
                argv = argv[1:]
        if not argv:
            return 0
        if argv[0] in ("sudo", "/usr/bin/sudo"):
            return await self._sudo(argv, io, env)
        if argv[0] in SHELLS and len(argv) > 2 and argv[1] == "-c":
            return await self.run(argv[2], io)
        name = argv[0]
        if not self.root:
            refused = refusal(self.host.kind, argv)
            if refused is not None:
                for line in refused[0]:
                    io.errln(line)
                return refused[1]
        handler = self.commands.get(name)
        if handler is None and "/" in name:
            base = name.rsplit("/", 1)[1]
            if name in (f"/usr/bin/{base}", f"/usr/sbin/{base}", f"/bin/{base}", f"/sbin/{base}"):
                handler = self.commands.get(base)
            if handler is None:
                io.errln(f"bash: {name}: No such file or directory")
                return 127
        if handler is None:
            io.errln(f"bash: {name}: command not found")
            return 127
        saved = dict(self.env)
        self.env.update(env or {})
        try:
            return await handler(self, argv, io)
        except Exception:  # a bug in a handler must not kill the SSH server
            log.exception("sim ssh %s: command %r failed", self.host.name, argv)
            io.errln(f"{name}: internal error")
            return 1
        finally:
            self.env = saved
